"""Streaming compliance evaluation (reference §3.20): one verdict per record of a live stream.

Inherently per record: each line is judged as it arrives and its verdict written (and flushed) at once.
Per record (sequence from 1; run_id = run_id → trace_id → "<seq-N>"), timed with a monotonic clock:
1. the line must be a JSON object, else hard `json_parse` (format) — never a crash;
2. AEP structural validation with the canonical schema (engine.contract.structural.diagnose): invalid →
   hard `aep_schema` (hint = the first error) and stop; with `require_signature`, a record whose DSSE
   envelope or inline signature block does not verify (engine.authenticity) → hard `aep_signature`, stop;
3. objective_score present and not a finite number in [0, 1] → hard `objective_score_in_range`, stop;
4. prompt-injection fragments (engine.gate's list, after NFKC + lowercase) in task / final_answer / prompt /
   user_message or an action's input / output / description → hard `no_injection_signal`, stop;
5. soft `evidence_complete` when state-changing actions exist and fewer than 80 % carry a result or
   precondition digest;
6. subject (subject_id / user_id, top level then run_context, else run_id / trace_id / "<unknown>"): a record
   whose first violation is hard counts against its subject; past `max_hard_per_subject` every later record
   of the subject gets soft `subject_violation_budget`;
7. verdict: any hard → reject, any soft → quarantine, else pass; without an early stop (and unless disabled)
   the admission score and category come from engine.admission (the shipped default policy).
Stats: ingested, passed, quarantined, rejected, hard / soft violation counts, early terminations,
violation_rate, mean / p99 / max latency (p99 by nearest rank: index round(q·(n−1)) of the sorted
latencies), sla_latency_ms 1000 and within_sla (fraction at or under it; 1.0 when empty).
"""

from __future__ import annotations

import json
import math
import time
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from engine.gate import INJECTION_FRAGMENTS

SLA_MS = 1000.0
_TEXT_FIELDS = ("task", "final_answer", "prompt", "user_message")
_ACTION_FIELDS = ("input", "output", "description")


@dataclass(frozen=True)
class StreamOptions:
    admission: bool = True
    max_hard_per_subject: int = 3
    require_signature: bool = False
    keys_dir: str | None = None  # `<key_id>.pub` files; the WASMAGENT_AEP_PUBKEY_<ID> environment always works


def quantile_nearest_rank(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return float(ordered[int(round(q * (len(ordered) - 1)))])


def _violation(cid: str, level: str, category: str, hint: str) -> dict[str, Any]:
    return {"constraint_id": cid, "level": level, "category": category, "hint": hint, "action_id": None}


def _score_anomalous(rec: dict[str, Any]) -> bool:
    if "objective_score" not in rec or rec["objective_score"] is None:
        return False
    v = rec["objective_score"]
    if isinstance(v, bool):
        v = float(v)
    if isinstance(v, str):
        try:
            v = float(v)
        except ValueError:
            return True
    if not isinstance(v, (int, float)):
        return True
    return not (math.isfinite(v) and 0.0 <= v <= 1.0)


def _injected(rec: dict[str, Any]) -> str | None:
    texts = [rec.get(f) for f in _TEXT_FIELDS]
    for a in rec.get("actions") or []:
        if isinstance(a, dict):
            texts.extend(a.get(f) for f in _ACTION_FIELDS)
    for t in texts:
        if isinstance(t, str):
            low = unicodedata.normalize("NFKC", t).lower()
            hit = next((f for f in INJECTION_FRAGMENTS if f in low), None)
            if hit:
                return hit
    return None


def _completeness(rec: dict[str, Any]) -> float | None:
    changing = [a for a in rec.get("actions") or [] if isinstance(a, dict) and a.get("state_changing")]
    if not changing:
        return None
    with_ev = sum(1 for a in changing if a.get("result_digest") or a.get("precondition_digest"))
    return with_ev / len(changing)


def _subject(rec: dict[str, Any]) -> str:
    raw_ctx = rec.get("run_context")
    ctx: dict[str, Any] = raw_ctx if isinstance(raw_ctx, dict) else {}
    for value in (rec.get("subject_id"), rec.get("user_id"), ctx.get("subject_id"), ctx.get("user_id"),
                  rec.get("run_id"), rec.get("trace_id")):
        if isinstance(value, str) and value:
            return value
    return "<unknown>"


@cache
def _policy() -> Any:
    from engine.policy import load_policy

    return load_policy()


def _admission(raw: str) -> tuple[float | None, str | None]:
    """Admission score and category of one structurally valid record (engine.admission's scoring).

    The record already passed the canonical schema, so it decodes cleanly with the contract's typed view
    (no DuckDB round trip: ~4x less latency per record); anything unexpected falls back to admit_records."""
    import polars as pl

    from engine.admission import admit_records, score_frame, typed_evidence
    from engine.contract.arrow import polars_dtype

    try:
        typed = pl.DataFrame({"line": [0], "raw": [raw]}).with_columns(
            pl.col("raw").str.json_decode(polars_dtype("aep")).alias("aep")).unnest("aep")
        row = score_frame(typed_evidence(typed), _policy()).select("score", "category").row(0)
        return float(row[0]), str(row[1])
    except Exception:  # noqa: BLE001  (a type the typed view cannot hold: take the tolerant path)
        scored = admit_records(pl.DataFrame({"source": ["<stream>"], "line": [0], "raw": [raw]}), _policy())
        return float(scored["score"][0]), str(scored["category"][0])


@dataclass
class StreamEvaluator:
    options: StreamOptions = field(default_factory=StreamOptions)
    latencies: list[float] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("ingested", "passed", "quarantined", "rejected", "hard_violations", "soft_violations",
         "early_terminations"), 0))
    hard_by_subject: dict[str, int] = field(default_factory=dict)
    _signer_check: Any = None

    def __post_init__(self) -> None:
        if self.options.require_signature:
            from engine.authenticity.dsse import verify_record
            from engine.authenticity.ed25519 import Verifiers
            from engine.authenticity.keys import KeyRing

            ring = KeyRing.from_dir(self.options.keys_dir) if self.options.keys_dir else KeyRing()
            verifiers = Verifiers()
            # legacy=True: the original's inline `signature` block counts, as does a DSSE envelope
            self._signer_check = lambda rec: verify_record(rec, ring, verifiers, legacy=True)
        # pay imports, schema loading and first-query set-up before the first record, not inside its latency
        from engine.contract.structural import diagnose

        diagnose("aep", {"schema_version": "aep/v0.1", "run_id": "warm-up", "created_at_ms": 0})
        if self.options.admission:
            _admission('{"schema_version":"aep/v0.1","run_id":"warm-up","created_at_ms":0}')

    def judge(self, line: str) -> dict[str, Any]:
        start = time.monotonic()
        seq = self.counts["ingested"] + 1
        violations: list[dict[str, Any]] = []
        early = False
        rec: Any = None
        try:
            rec = json.loads(line)
        except (ValueError, RecursionError) as exc:
            violations.append(_violation("json_parse", "hard", "format", f"not valid JSON: {exc}"[:200]))
        if rec is not None and not isinstance(rec, dict):
            violations.append(_violation("json_parse", "hard", "format", "not a JSON object"))
        rec = rec if isinstance(rec, dict) else {}
        run_id = rec.get("run_id") or rec.get("trace_id") or f"<seq-{seq}>"
        if violations:
            early = True
        else:
            early = self._hard_checks(rec, violations)
        if not early:
            completeness = _completeness(rec)
            if completeness is not None and completeness < 0.8:
                violations.append(_violation("evidence_complete", "soft", "evidence",
                                             f"evidence completeness {completeness:.2f} < 0.80"))
        subject = _subject(rec)
        if violations and violations[0]["level"] == "hard":
            self.hard_by_subject[subject] = self.hard_by_subject.get(subject, 0) + 1
        if self.hard_by_subject.get(subject, 0) > self.options.max_hard_per_subject:
            violations.append(_violation("subject_violation_budget", "soft", "policy",
                                         f"subject {subject!r} exceeded {self.options.max_hard_per_subject} hard violations"))
        hard = sum(v["level"] == "hard" for v in violations)
        soft = len(violations) - hard
        verdict = "reject" if hard else "quarantine" if soft else "pass"
        score = category = None
        if self.options.admission and not early:
            score, category = _admission(line)
        latency = (time.monotonic() - start) * 1000.0
        self._account(verdict, hard, soft, early, latency)
        return {"run_id": run_id, "sequence": seq, "verdict": verdict, "ok": verdict == "pass",
                "latency_ms": round(latency, 3), "early_terminated": early, "score": score,
                "admission_category": category, "violations": violations}

    def _hard_checks(self, rec: dict[str, Any], violations: list[dict[str, Any]]) -> bool:
        from engine.contract.structural import diagnose

        errors = diagnose("aep", rec, limit=1)
        if errors:
            violations.append(_violation("aep_schema", "hard", "format", f"{errors[0].path}: {errors[0].message}"))
            return True
        if self._signer_check is not None:
            verdict, why = self._signer_check(rec)
            if verdict not in ("dsse-valid", "legacy-valid"):
                violations.append(_violation("aep_signature", "hard", "security", why or f"signature: {verdict}"))
                return True
        if _score_anomalous(rec):
            violations.append(_violation("objective_score_in_range", "hard", "content",
                                         "objective_score must be a finite number in [0, 1]"))
            return True
        hit = _injected(rec)
        if hit:
            violations.append(_violation("no_injection_signal", "hard", "security", f"injection fragment {hit!r}"))
            return True
        return False

    def _account(self, verdict: str, hard: int, soft: int, early: bool, latency: float) -> None:
        c = self.counts
        c["ingested"] += 1
        c[{"pass": "passed", "quarantine": "quarantined", "reject": "rejected"}[verdict]] += 1
        c["hard_violations"] += hard
        c["soft_violations"] += soft
        c["early_terminations"] += int(early)
        self.latencies.append(latency)

    def stats(self) -> dict[str, Any]:
        c, lat = self.counts, self.latencies
        n = c["ingested"]
        return {**c,
                "violation_rate": (c["rejected"] + c["quarantined"]) / n if n else 0.0,
                "mean_latency_ms": round(sum(lat) / n, 3) if n else 0.0,
                "p99_latency_ms": round(quantile_nearest_rank(lat, 0.99), 3),
                "max_latency_ms": round(max(lat), 3) if lat else 0.0,
                "sla_latency_ms": SLA_MS,
                "within_sla": sum(v <= SLA_MS for v in lat) / n if n else 1.0}


def record_lines(lines: Iterable[str]) -> Iterator[str]:
    """The lines to judge: BOM stripped, blank and `#` lines skipped."""
    for i, line in enumerate(lines):
        text = line.lstrip("\ufeff") if i == 0 else line
        text = text.strip()
        if text and not text.startswith("#"):
            yield text
