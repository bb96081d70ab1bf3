"""The declarative admission policy: weights, dimension values, thresholds and penalties.

A policy is a TOML file. The shipped `engine/policies/default.toml` reproduces the reference
Evidence Admission Score (original toolkit §3.3) with the SPEC §5 corrections; a user file
passed with `--policy` only needs the keys it changes (it is laid over the default), so a team
can tighten admission without touching code. Unknown keys and out-of-range values are refused
with a message naming the file and the key, because a typo silently ignored would mean a policy
that is not the one the team thinks it runs.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import InputError

POLICY_DIR: Path = Path(__file__).resolve().parent / "policies"

DIMENSIONS: tuple[str, ...] = (
    "schema_validity",
    "evidence_completeness",
    "policy_compliance",
    "verifier_strength",
    "provenance",
    "contamination_risk",
)

_SECTIONS: dict[str, tuple[str, ...]] = {
    "weights": DIMENSIONS,
    "dimensions": (
        "policy_without_decisions",
        "verifier_per_result",
        "provenance_missing",
        "contamination_missing_digest",
    ),
    "recording_mode_bonus": ("full", "delta"),
    "thresholds": ("reject", "admit", "sft_min_completeness", "min_score"),
    "penalties": ("deny_decision", "failed_verifier"),
}
_TOP_LEVEL: tuple[str, ...] = ("name", "known_versions", *_SECTIONS)


@dataclass(frozen=True)
class AdmissionPolicy:
    name: str
    known_versions: tuple[str, ...]
    weights: tuple[tuple[str, float], ...]  # in DIMENSIONS order: the summation order matters
    policy_without_decisions: float
    verifier_per_result: float
    provenance_missing: float
    contamination_missing_digest: float
    bonus_full: float
    bonus_delta: float
    reject_threshold: float
    admit_threshold: float
    sft_min_completeness: float
    min_score: float
    deny_penalty: float
    failed_verifier_penalty: float
    source: str = "<built-in>"

    def weight(self, dimension: str) -> float:
        return dict(self.weights)[dimension]

    @property
    def penalised(self) -> bool:
        return self.deny_penalty > 0.0 or self.failed_verifier_penalty > 0.0

    def with_min_score(self, min_score: float | None) -> AdmissionPolicy:
        if min_score is None:
            return self
        _check_unit(min_score, "min_score", "--min-score")
        from dataclasses import replace

        return replace(self, min_score=float(min_score))

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source": self.source,
            "known_versions": list(self.known_versions),
            "weights": dict(self.weights),
            "thresholds": {
                "reject": self.reject_threshold,
                "admit": self.admit_threshold,
                "sft_min_completeness": self.sft_min_completeness,
                "min_score": self.min_score,
            },
            "penalties": {"deny_decision": self.deny_penalty, "failed_verifier": self.failed_verifier_penalty},
        }


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise InputError("policy file not found", path=str(path)) from exc
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"policy is not valid TOML: {exc}", path=str(path)) from exc
    except OSError as exc:
        raise InputError(f"cannot read policy: {exc}", path=str(path)) from exc


def _check_unit(value: float, key: str, where: str) -> None:
    if not 0.0 <= value <= 1.0:
        raise InputError(f"{key} must be between 0 and 1, got {value}", path=where)


def _number(table: dict[str, Any], section: str, key: str, where: str) -> float:
    value = table[section][key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"must be a number, got {value!r}", path=where, field=f"{section}.{key}")
    if not 0.0 <= float(value) <= 1.0:
        raise InputError(f"must be between 0 and 1, got {value}", path=where, field=f"{section}.{key}")
    return float(value)


def _overlay(base: dict[str, Any], extra: dict[str, Any], where: str) -> dict[str, Any]:
    merged = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.items()}
    for key, value in extra.items():
        if key not in _TOP_LEVEL:
            raise InputError(f"unknown policy key {key!r}", path=where, hint="allowed: " + ", ".join(_TOP_LEVEL))
        if key in _SECTIONS:
            if not isinstance(value, dict):
                raise InputError(f"[{key}] must be a table", path=where)
            for sub in value:
                if sub not in _SECTIONS[key]:
                    raise InputError(
                        f"unknown key {key}.{sub}", path=where, hint="allowed: " + ", ".join(_SECTIONS[key])
                    )
            merged[key].update(value)
        else:
            merged[key] = value
    return merged


def _build(table: dict[str, Any], where: str) -> AdmissionPolicy:
    versions = table["known_versions"]
    if not isinstance(versions, list) or not all(isinstance(v, str) for v in versions):
        raise InputError("known_versions must be a list of strings", path=where)
    name = table.get("name", Path(where).stem)
    if not isinstance(name, str):
        raise InputError("name must be a string", path=where)

    def num(section: str, key: str) -> float:
        return _number(table, section, key, where)

    policy = AdmissionPolicy(
        name=name,
        known_versions=tuple(versions),
        weights=tuple((d, num("weights", d)) for d in DIMENSIONS),
        policy_without_decisions=num("dimensions", "policy_without_decisions"),
        verifier_per_result=num("dimensions", "verifier_per_result"),
        provenance_missing=num("dimensions", "provenance_missing"),
        contamination_missing_digest=num("dimensions", "contamination_missing_digest"),
        bonus_full=num("recording_mode_bonus", "full"),
        bonus_delta=num("recording_mode_bonus", "delta"),
        reject_threshold=num("thresholds", "reject"),
        admit_threshold=num("thresholds", "admit"),
        sft_min_completeness=num("thresholds", "sft_min_completeness"),
        min_score=num("thresholds", "min_score"),
        deny_penalty=num("penalties", "deny_decision"),
        failed_verifier_penalty=num("penalties", "failed_verifier"),
        source=where,
    )
    if policy.reject_threshold > policy.admit_threshold:
        raise InputError(
            f"thresholds.reject ({policy.reject_threshold}) must not exceed thresholds.admit "
            f"({policy.admit_threshold})",
            path=where,
        )
    return policy


def _default_table() -> dict[str, Any]:
    return _read_toml(POLICY_DIR / "default.toml")


def load_policy(path: str | Path | None = None) -> AdmissionPolicy:
    """The shipped default policy, or `path` (a full or partial TOML policy) laid over it.

    A bare name such as "strict" selects a policy shipped in `engine/policies/`.
    """
    base = _default_table()
    if path is None:
        return _build(base, "default")
    candidate = Path(path)
    if not candidate.exists() and (POLICY_DIR / f"{path}.toml").is_file():
        candidate = POLICY_DIR / f"{path}.toml"
    where = str(candidate)
    user = _read_toml(candidate)
    merged = _overlay(base, user, where)
    if "name" not in user:
        merged["name"] = candidate.stem
    return _build(merged, where)


def shipped_policies() -> list[str]:
    return sorted(p.stem for p in POLICY_DIR.glob("*.toml"))
