"""Agent trust score (reference §3.12) per group of AEP records, computed group-wise in Polars.

Groups: records are grouped by `trace_id`, else `run_id`, else `__ungrouped__` (first truthy
one), in first-seen order, like the original CLI.

How several records of one group combine (a deliberate change): the original builder lets the
last record silently overwrite the AEP dimensions. Here the group's evidence is AGGREGATED:
counts are summed over all structurally valid records of the group, then the ratios are taken:
  evidence_completeness = sum(evidenced state-changing actions) / sum(state-changing actions)
                          (evidence = result_digest or non-empty evidence_refs; unknown if 0)
  policy_compliance     = 1 - sum(deny decisions) / sum(capability decisions) (unknown if 0)
  verifier_agreement    = sum(passed) / sum(verifier results)                 (unknown if 0)
  budget_compliance     = 1 - sum(exceeded budgets) / sum(checked budgets); a budget is checked
                          when it has a limit (token, retry, tool budgets); absent when 0 checked.
So one failing run among a hundred lowers the group's score in proportion, and no record is
ignored. Then, as in the original: task_success (--task-passed), benchmark_trust, and
supply_chain_integrity (receipt: verified 1.0, present but unverified 0.7, none 0.5).
overall = geometric mean of the known dimensions (0 if any is 0); grade A needs >= 0.9 and >= 6
known dimensions, B >= 0.75 and >= 4, C >= 0.6, D >= 0.4, else F. Notes are given once per
group (the original repeats them per record). Structurally invalid records are not used and
are counted per group.

Calibrated trust (§3.12.7) is computed per record exactly as the original; a group reports the
mean of its records' evidence_health / policy_risk / training_eligibility / composite and the
label of that mean composite.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from engine.admission import (
    count_where,
    list_len,
    py_round,
    state_changing,
    trust_evidenced,
    truthy_str,
)

AEP_DIMENSIONS: tuple[str, ...] = ("evidence_completeness", "policy_compliance", "verifier_agreement", "budget_compliance")
CALIBRATED: tuple[str, ...] = ("evidence_health", "policy_risk", "training_eligibility", "composite")
_REQUIRED_KEYS: tuple[str, ...] = ("schema_version", "run_id", "model_id", "repo_commit", "tool_manifest_digest",
                                   "actions", "capability_decisions", "verifier_results", "created_at_ms")
_BUDGETS: tuple[str, ...] = ("token_budget", "retry_budget", "tool_budget")
NOTES = {
    "evidence_completeness": "evidence_completeness: no state-changing actions found — dimension unknown",
    "policy_compliance": "policy_compliance: no capability_decisions recorded — dimension unknown",
    "verifier_agreement": "verifier_agreement: no verifier_results recorded — dimension unknown",
}


@dataclass(frozen=True)
class TrustOptions:
    task_passed: bool = False
    benchmark_trust: float | None = None
    receipt: Path | None = None


def receipt_integrity(receipt: Path | None) -> tuple[float, str | None]:
    """supply_chain_integrity from a run receipt (reference §3.12.3) and its note."""
    if receipt is None:
        return 0.5, "No run receipt — supply chain integrity unverified"
    try:
        data = json.loads(receipt.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return 0.7, f"Receipt present ({receipt.name}) but digest verification failed"
    stored = data.get("receipt_digest") if isinstance(data, dict) else None
    if isinstance(stored, str) and stored:
        body = {k: v for k, v in data.items() if k != "receipt_digest"}
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
        if hashlib.sha256(canonical.encode("utf-8")).hexdigest() == stored:
            return 1.0, None
    return 0.7, f"Receipt present ({receipt.name}) but digest verification failed"


def grade_expr(overall: pl.Expr, known: pl.Expr) -> pl.Expr:
    return (
        pl.when(overall.is_null()).then(pl.lit("F"))
        .when((overall >= 0.9) & (known >= 6)).then(pl.lit("A"))
        .when((overall >= 0.75) & (known >= 4)).then(pl.lit("B"))
        .when(overall >= 0.6).then(pl.lit("C"))
        .when(overall >= 0.4).then(pl.lit("D"))
        .otherwise(pl.lit("F"))
    )


def _budget_counts() -> list[pl.Expr]:
    checks: list[pl.Expr] = []
    over: list[pl.Expr] = []
    for name in _BUDGETS:
        budget = pl.col("budget_ledger").struct.field(name)
        limit, spent = budget.struct.field("limit"), budget.struct.field("spent")
        checks.append(limit.is_not_null().cast(pl.Int64))
        # Python's NaN comparisons are all False; Polars orders NaN above every number
        exceeded = (spent > limit) & ~spent.is_nan() & ~limit.is_nan()
        over.append((limit.is_not_null() & exceeded).fill_null(False).cast(pl.Int64))
    return [pl.sum_horizontal(checks).alias("n_budget_checks"), pl.sum_horizontal(over).alias("n_budget_over")]


def record_counts() -> list[pl.Expr]:
    return [
        count_where("actions", state_changing()).alias("n_sc"),
        count_where("actions", trust_evidenced()).alias("n_sc_evidenced"),
        list_len("capability_decisions").alias("n_dec"),
        count_where("capability_decisions", pl.element().struct.field("decision") == "deny").alias("n_deny"),
        list_len("verifier_results").alias("n_ver"),
        count_where("verifier_results", pl.element().struct.field("passed")).alias("n_pass"),
        *_budget_counts(),
    ]


def _ratio(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    return num.cast(pl.Float64) / den.cast(pl.Float64)


def calibrated_exprs() -> list[pl.Expr]:
    """Per-record calibrated trust components (reference §3.12.7), unrounded."""
    present = [pl.col(k).is_not_null().cast(pl.Int64) for k in _REQUIRED_KEYS]
    missing = len(_REQUIRED_KEYS) - pl.sum_horizontal(present)
    schema_valid = pl.when(missing == 0).then(1.0).otherwise(
        pl.max_horizontal(pl.lit(0.0), 1.0 - _ratio(missing, pl.lit(len(_REQUIRED_KEYS)))))
    has_actions = pl.when(pl.col("actions").list.len().fill_null(0) > 0).then(1.0).otherwise(0.0)
    sc = pl.col("n_sc")
    coverage = pl.when(sc > 0).then(_ratio(pl.col("n_sc_evidenced"), sc)).otherwise(1.0)
    deny = pl.when(pl.col("n_dec") > 0).then(_ratio(pl.col("n_deny"), pl.col("n_dec"))).otherwise(0.0)
    digest = pl.when(sc > 0).then(_ratio(sc - pl.col("n_sc_evidenced"), sc)).otherwise(0.0)
    pass_rate = pl.when(pl.col("n_ver") > 0).then(_ratio(pl.col("n_pass"), pl.col("n_ver"))).otherwise(0.5)
    provenance = (pl.when(truthy_str(pl.col("repo_commit"))).then(1.0).otherwise(0.0) * 0.5
                  + pl.when(truthy_str(pl.col("tool_manifest_digest"))).then(1.0).otherwise(0.0) * 0.5)
    health = schema_valid * 0.4 + has_actions * 0.3 + coverage * 0.3
    risk = pl.max_horizontal(pl.lit(0.0), 1.0 - (deny * 0.6 + digest * 0.4))
    eligibility = pass_rate * 0.45 + coverage * 0.30 + provenance * 0.25
    composite = health * 0.35 + risk * 0.35 + eligibility * 0.30
    composite = pl.max_horizontal(pl.lit(0.0), pl.min_horizontal(pl.lit(1.0), composite))
    return [health.alias("evidence_health"), risk.alias("policy_risk"),
            eligibility.alias("training_eligibility"), composite.alias("composite")]


def calibrated_label(composite: pl.Expr) -> pl.Expr:
    return (pl.when(composite >= 0.8).then(pl.lit("high_trust")).when(composite >= 0.6).then(pl.lit("medium_trust"))
            .when(composite >= 0.4).then(pl.lit("low_trust")).otherwise(pl.lit("untrusted")))


def group_key() -> pl.Expr:
    return (pl.when(truthy_str(pl.col("trace_id"))).then(pl.col("trace_id"))
            .when(truthy_str(pl.col("run_id"))).then(pl.col("run_id")).otherwise(pl.lit("__ungrouped__")))


def _geometric_mean(dims: list[str]) -> tuple[pl.Expr, pl.Expr]:
    known = pl.sum_horizontal([pl.col(d).is_not_null().cast(pl.Int64) for d in dims])
    any_zero = pl.any_horizontal([(pl.col(d) <= 0.0).fill_null(False) for d in dims])
    log_sum = pl.col(dims[0]).log().fill_null(0.0)
    for d in dims[1:]:  # left to right, like the reference's sum()
        log_sum = log_sum + pl.col(d).log().fill_null(0.0)
    overall = (pl.when(known == 0).then(None).when(any_zero).then(0.0)
               .otherwise((log_sum / known.cast(pl.Float64)).exp()))
    return overall, known


_FEATURES: tuple[str, ...] = ("n_sc", "n_sc_evidenced", "n_dec", "n_deny", "n_ver", "n_pass",
                               "n_budget_checks", "n_budget_over")


def record_features(decoded: pl.DataFrame) -> pl.DataFrame:
    """Flat per-record trust features (group key, counts, calibrated components) of decoded
    evidence with `structural_valid`; frames from different readers concatenate cleanly."""
    frame = decoded.with_columns(group_key().alias("group_key"), *record_counts())
    return frame.with_columns(calibrated_exprs()).select(
        "group_key", "structural_valid", *_FEATURES, *CALIBRATED)


def groups_from_features(features: pl.DataFrame, options: TrustOptions) -> pl.DataFrame:
    """One row per group (first-seen order): dimensions, overall, grade, calibrated means."""
    valid = pl.col("structural_valid")
    groups = features.group_by("group_key", maintain_order=True).agg(
        pl.len().alias("records"), (~valid).sum().alias("invalid_records"),
        *(pl.col(n).filter(valid).sum() for n in _FEATURES),
        *(pl.col(c).filter(valid).mean() for c in CALIBRATED),
    )
    supply, _ = receipt_integrity(options.receipt)
    dims: dict[str, pl.Expr] = {
        "evidence_completeness": pl.when(pl.col("n_sc") > 0).then(_ratio(pl.col("n_sc_evidenced"), pl.col("n_sc"))),
        "policy_compliance": pl.when(pl.col("n_dec") > 0).then(
            pl.max_horizontal(pl.lit(0.0), 1.0 - _ratio(pl.col("n_deny"), pl.col("n_dec")))),
        "verifier_agreement": pl.when(pl.col("n_ver") > 0).then(_ratio(pl.col("n_pass"), pl.col("n_ver"))),
        "budget_compliance": pl.when(pl.col("n_budget_checks") > 0).then(
            pl.max_horizontal(pl.lit(0.0), 1.0 - _ratio(pl.col("n_budget_over"), pl.col("n_budget_checks")))),
    }
    if options.task_passed:
        dims["task_success"] = pl.lit(1.0)
    if options.benchmark_trust is not None:
        dims["benchmark_trust"] = pl.lit(max(0.0, min(1.0, options.benchmark_trust)))
    dims["supply_chain_integrity"] = pl.lit(supply)
    groups = groups.with_columns(*(e.cast(pl.Float64).alias(d) for d, e in dims.items()))
    overall, known = _geometric_mean(list(dims))
    groups = groups.with_columns(overall.alias("overall"), known.alias("known_dimensions"))
    groups = groups.with_columns(grade_expr(pl.col("overall"), pl.col("known_dimensions")).alias("grade"),
                                 calibrated_label(pl.col("composite")).alias("calibrated_label"))
    rounded = {c: py_round(groups[c], 4) for c in ("overall", *dims, *CALIBRATED)}
    return groups.with_columns(**rounded)


def trust_groups(decoded: pl.DataFrame, options: TrustOptions) -> pl.DataFrame:
    """Groups of an in-memory decoded frame (see `decode_evidence`) with `structural_valid`."""
    return groups_from_features(record_features(decoded), options)


def group_reports(groups: pl.DataFrame, options: TrustOptions) -> list[dict[str, Any]]:
    """trust-score/v1 documents (plus group_key, records, calibrated) for display / JSON."""
    _, supply_note = receipt_integrity(options.receipt)
    dims = [d for d in (*AEP_DIMENSIONS, "task_success", "benchmark_trust", "supply_chain_integrity")
            if d in groups.columns]
    reports = []
    for row in groups.to_dicts():  # one row per group, not per record
        breakdown = {d: row[d] for d in dims if not (d == "budget_compliance" and row[d] is None)}
        notes = [NOTES[d] for d in NOTES if row[d] is None]
        if supply_note:
            notes.append(supply_note)
        if row["invalid_records"]:
            notes.append(f"{row['invalid_records']} structurally invalid record(s) not used")
        overall = row["overall"]
        reports.append({
            "schema_version": "trust-score/v1", "group_key": row["group_key"], "records": row["records"],
            "overall": None if overall is None or math.isnan(overall) else overall, "grade": row["grade"],
            "known_dimensions": row["known_dimensions"], "breakdown": breakdown, "notes": notes,
            "calibrated": {**{c: row[c] for c in CALIBRATED},
                           "label": row["calibrated_label"] if row["composite"] is not None else None},
        })
    return reports


def trust_paths(paths: list[str], options: TrustOptions, *, progress: bool = False) -> dict[str, Any]:
    from engine.admission_run import iter_evidence

    if options.receipt is not None and not options.receipt.is_file():
        from engine.errors import InputError

        raise InputError("receipt file not found", path=str(options.receipt))
    parts = [record_features(frame.sort("line")).with_columns(pl.lit(seq).alias("_seq"), frame["line"].sort())
             for seq, frame in iter_evidence(paths, progress=progress)]
    if not parts:
        return {"records": 0, "n_groups": 0, "groups": []}
    features = pl.concat(parts).sort("_seq", "line")
    groups = group_reports(groups_from_features(features, options), options)
    return {"records": features.height, "n_groups": len(groups), "groups": groups}
