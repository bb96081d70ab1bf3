"""Pair two eval logs by item id and compute the paired comparison (SPEC §7).

b = #(A right, B wrong), c = #(A wrong, B right), delta = acc_a - acc_b. Items are matched by id
only, never by position; ids present in one log only and items excluded in either log (missing
or non-boolean `correct`, duplicate id) are reported with counts and the first few ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from engine.stats.bootstrap import BootstrapResult, paired_bootstrap
from engine.stats.evallog import EvalLog
from engine.stats.intervals import wilson
from engine.stats.mcnemar import McNemarTest, mcnemar
from engine.stats.power import n_for_power

SHOW_IDS = 10


@dataclass(frozen=True)
class Pairing:
    """Items scored in both logs (sorted by id) and everything that did not pair."""

    ids: tuple[str, ...]
    a: npt.NDArray[np.bool_]
    b: npt.NDArray[np.bool_]
    only_in_a: tuple[str, ...]
    only_in_b: tuple[str, ...]
    excluded_a: dict[str, list[str]]
    excluded_b: dict[str, list[str]]
    notes: tuple[str, ...] = field(default=())

    @property
    def n(self) -> int:
        return len(self.ids)

    def subset(self, mask: npt.NDArray[np.bool_]) -> Pairing:
        ids = tuple(i for i, keep in zip(self.ids, mask.tolist(), strict=True) if keep)
        return Pairing(ids, self.a[mask], self.b[mask], self.only_in_a, self.only_in_b,
                       self.excluded_a, self.excluded_b, self.notes)


def pair_logs(log_a: EvalLog, log_b: EvalLog) -> Pairing:
    scored_a, scored_b = log_a.scored(), log_b.scored()
    all_a, all_b = set(log_a.ids), set(log_b.ids)
    common = sorted(scored_a.keys() & scored_b.keys())
    notes = list(log_a.notes) + list(log_b.notes)
    types_a, types_b = set(log_a.id_types), set(log_b.id_types)
    if types_a and types_b and types_a != types_b:
        notes.append(
            f"id types differ between the logs (A: {', '.join(sorted(types_a))}; B: {', '.join(sorted(types_b))}); "
            "ids were compared as strings"
        )
    return Pairing(
        ids=tuple(common),
        a=np.fromiter((scored_a[i] for i in common), dtype=bool, count=len(common)),
        b=np.fromiter((scored_b[i] for i in common), dtype=bool, count=len(common)),
        only_in_a=tuple(sorted(all_a - all_b)),
        only_in_b=tuple(sorted(all_b - all_a)),
        excluded_a=log_a.excluded(),
        excluded_b=log_b.excluded(),
        notes=tuple(notes),
    )


@dataclass(frozen=True)
class PairedConfig:
    test: McNemarTest = "exact"
    conf: float = 0.95
    bootstrap: int = 10_000
    seed: int = 0
    power: float = 0.8
    alpha: float = 0.05


@dataclass(frozen=True)
class PairedResult:
    n: int
    b: int
    c: int
    test: McNemarTest
    p_value: float
    statistic: float | None
    acc_a: float
    acc_b: float
    wilson_a: tuple[float, float]
    wilson_b: tuple[float, float]
    bootstrap: BootstrapResult | None
    n_for_power: int | None
    config: PairedConfig

    @property
    def delta(self) -> float:
        return self.acc_a - self.acc_b


def compare(a: npt.NDArray[np.bool_], b: npt.NDArray[np.bool_], config: PairedConfig | None = None) -> PairedResult:
    """All paired statistics for two aligned 0/1 vectors."""
    cfg = config or PairedConfig()
    n = int(a.shape[0])
    k_a, k_b = int(np.count_nonzero(a)), int(np.count_nonzero(b))
    b_count = int(np.count_nonzero(a & ~b))
    c_count = int(np.count_nonzero(~a & b))
    test = mcnemar(b_count, c_count, cfg.test)
    acc_a = k_a / n if n else 0.0
    acc_b = k_b / n if n else 0.0
    boot = paired_bootstrap(a, b, cfg.bootstrap, cfg.conf, cfg.seed) if cfg.bootstrap > 0 else None
    return PairedResult(
        n=n, b=b_count, c=c_count, test=cfg.test, p_value=test.p_value, statistic=test.statistic,
        acc_a=acc_a, acc_b=acc_b, wilson_a=wilson(k_a, n, cfg.conf), wilson_b=wilson(k_b, n, cfg.conf),
        bootstrap=boot, n_for_power=n_for_power(acc_a - acc_b, cfg.power, cfg.alpha) if n else None,
        config=cfg,
    )


def _ids(ids: list[str] | tuple[str, ...]) -> dict[str, Any]:
    return {"count": len(ids), "ids": list(ids[:SHOW_IDS])}


def _r(x: float, places: int = 6) -> float:
    return round(x, places)


def paired_json(result: PairedResult, pairing: Pairing, log_a: EvalLog, log_b: EvalLog) -> dict[str, Any]:
    """Stable JSON document of `engine paired` (p_value rounded to 4 places, p_value_full exact)."""
    boot = result.bootstrap
    return {
        "log_a": log_a.source,
        "log_b": log_b.source,
        "n": result.n,
        "b": result.b,
        "c": result.c,
        "test": result.test,
        "p_value": _r(result.p_value, 4),
        "p_value_full": result.p_value,
        "statistic": result.statistic,
        "acc_a": _r(result.acc_a),
        "acc_b": _r(result.acc_b),
        "delta": _r(result.delta),
        "conf": result.config.conf,
        "wilson_a": [_r(v) for v in result.wilson_a],
        "wilson_b": [_r(v) for v in result.wilson_b],
        "bootstrap_ci": [_r(boot.ci_lo), _r(boot.ci_hi)] if boot else None,
        "bootstrap_p": _r(boot.p_two_sided) if boot else None,
        "bootstrap": {"n_iter": boot.n_iter, "seed": boot.seed, "rng": "numpy.default_rng"} if boot else None,
        "n_for_80pct_power": result.n_for_power,
        "only_in_a": _ids(pairing.only_in_a),
        "only_in_b": _ids(pairing.only_in_b),
        "excluded": {
            "a": {k: _ids(v) for k, v in sorted(pairing.excluded_a.items())},
            "b": {k: _ids(v) for k, v in sorted(pairing.excluded_b.items())},
        },
        "missing_correct": sum(len(x.get("missing_correct", [])) for x in (pairing.excluded_a, pairing.excluded_b)),
        "quarantined": {
            "a": [{"line": q.line, "reason": q.reason} for q in log_a.quarantine[:SHOW_IDS]],
            "b": [{"line": q.line, "reason": q.reason} for q in log_b.quarantine[:SHOW_IDS]],
            "count_a": len(log_a.quarantine),
            "count_b": len(log_b.quarantine),
        },
        "notes": list(pairing.notes),
    }
