"""Semantic layer: invariants the JSON Schema cannot express (SPEC §4).

Each rule exists twice, on purpose: as a Polars expression over the typed table (the fast
path, for every record the reader typed) and as plain Python over one decoded record (for the
records the typed reader could not type, and as the obviously-correct reference the
differential tests compare against). Rules apply to values of the right JSON type only;
wrong types are the structural layer's business.

AEP attribution floor rules (aep/v0.5, as the wasmagent-protocol conformance corpus defines
them): floor and observed set ship together; the observed set is non-empty and has no
duplicates; every grade is in the vocabulary; the floor is a member of the observed set and
equals its weakest grade (unknown < operator_asserted < principal_key_signed <
qualified_signature); authorization_evidence_count is not negative.
"""

from __future__ import annotations

import math
from typing import Any

import polars as pl

GRADES = ("unknown", "operator_asserted", "principal_key_signed", "qualified_signature")
_RANK = {g: i for i, g in enumerate(GRADES)}

# rule -> (json path, message); the same text on both paths
RULES: dict[str, tuple[str, str]] = {
    "timestamp_not_finite": ("$.created_at_ms", "created_at_ms must be a finite, non-negative number"),
    "action_timestamp_not_finite": ("$.actions[*].timestamp_ms", "action timestamp_ms must be finite and non-negative"),
    "duplicate_action_id": ("$.actions[*].action_id", "action_id is repeated within the run"),
    "grade_unknown": ("$.run_attribution_backing_observed", "attribution grade outside the vocabulary"),
    "observed_duplicate": ("$.run_attribution_backing_observed", "observed grade set has duplicates"),
    "observed_empty": ("$.run_attribution_backing_observed", "observed grade set is empty"),
    "floor_without_observed": ("$.run_attribution_backing_floor", "floor given without an observed grade set"),
    "observed_without_floor": ("$.run_attribution_backing_floor", "observed grade set given without a floor"),
    "floor_not_observed": ("$.run_attribution_backing_floor", "floor is not one of the observed grades"),
    "floor_not_weakest": ("$.run_attribution_backing_floor", "floor is not the weakest observed grade"),
    "negative_evidence_count": ("$.authorization_evidence_count", "authorization_evidence_count is negative"),
    "objective_score_out_of_range": ("$.objective_score", "objective_score must be finite and within [0, 1]"),
    "latency_not_finite": ("$.latency_ms", "latency_ms must be finite and non-negative"),
}


# ---------------------------------------------------------------- Python (reference) path


def _num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _bad_time(v: Any) -> bool:
    if not _num(v):
        return False
    try:
        return not math.isfinite(float(v)) or v < 0
    except OverflowError:  # an integer too large for a float is still finite
        return v < 0


def _aep_rules(rec: dict[str, Any]) -> list[str]:
    out: list[str] = []
    if _bad_time(rec.get("created_at_ms")):
        out.append("timestamp_not_finite")
    actions = rec.get("actions")
    if isinstance(actions, list):
        items = [a for a in actions if isinstance(a, dict)]
        if any(_bad_time(a.get("timestamp_ms")) for a in items):
            out.append("action_timestamp_not_finite")
        ids = [a["action_id"] for a in items if isinstance(a.get("action_id"), str)]
        if len(ids) != len(set(ids)):
            out.append("duplicate_action_id")
    floor = rec.get("run_attribution_backing_floor")
    observed = rec.get("run_attribution_backing_observed")
    has_floor = "run_attribution_backing_floor" in rec and floor is not None
    has_observed = "run_attribution_backing_observed" in rec and observed is not None
    grades = [g for g in observed if isinstance(g, str)] if isinstance(observed, list) else []
    named = grades + [g for g in (floor, rec.get("attribution_backing")) if isinstance(g, str)]
    if any(g not in _RANK for g in named):
        out.append("grade_unknown")
    if len(grades) != len(set(grades)):
        out.append("observed_duplicate")
    if has_observed and isinstance(observed, list) and not observed:
        out.append("observed_empty")
    if has_floor and (not has_observed or (isinstance(observed, list) and not observed)):
        out.append("floor_without_observed")
    if has_observed and not has_floor:
        out.append("observed_without_floor")
    if has_floor and isinstance(floor, str) and grades:
        if floor not in grades:
            out.append("floor_not_observed")
        known = [g for g in grades if g in _RANK]
        if known and floor in _RANK and _RANK[floor] != min(_RANK[g] for g in known):
            out.append("floor_not_weakest")
    count = rec.get("authorization_evidence_count")
    if isinstance(count, (int, float)) and not isinstance(count, bool) and count < 0:
        out.append("negative_evidence_count")
    return out


def _rollout_rules(rec: dict[str, Any]) -> list[str]:
    score = rec.get("objective_score")
    if isinstance(score, (int, float)) and not isinstance(score, bool) and (_bad_time(score) or score > 1):
        return ["objective_score_out_of_range"]
    return []


def _compliance_rules(rec: dict[str, Any]) -> list[str]:
    return ["latency_not_finite"] if _bad_time(rec.get("latency_ms")) else []


_PY_RULES = {"aep": _aep_rules, "rollout": _rollout_rules, "compliance": _compliance_rules}


def semantic_rules_py(kind: str, record: dict[str, Any]) -> list[str]:
    """Names of the semantic rules one decoded record breaks (reference implementation)."""
    fn = _PY_RULES.get(kind)
    return fn(record) if fn else []


# ---------------------------------------------------------------- Polars (fast) path


def _bad_time_expr(e: pl.Expr) -> pl.Expr:
    return (e.is_not_null() & (e.is_nan() | e.is_infinite() | (e < 0))).fill_null(False)


def _aep_exprs(columns: set[str]) -> dict[str, pl.Expr]:
    floor = pl.col("run_attribution_backing_floor")
    observed = pl.col("run_attribution_backing_observed")
    backing = pl.col("attribution_backing")
    known = pl.lit(list(GRADES))
    weakest = pl.lit(None, dtype=pl.Int64)  # the lowest rank of a known grade in the observed set
    for grade in reversed(GRADES):
        weakest = pl.when(observed.list.contains(grade)).then(pl.lit(_RANK[grade], dtype=pl.Int64)).otherwise(weakest)
    floor_rank = floor.replace_strict(_RANK, default=None, return_dtype=pl.Int64)
    has_floor = floor.is_not_null()
    has_obs = observed.is_not_null()
    actions = pl.col("actions")
    exprs = {
        "timestamp_not_finite": _bad_time_expr(pl.col("created_at_ms")),
        "action_timestamp_not_finite": actions.list.eval(_bad_time_expr(pl.element().struct.field("timestamp_ms")))
        .list.any().fill_null(False),
        "duplicate_action_id": (
            actions.list.eval(pl.element().struct.field("action_id").drop_nulls()).list.n_unique()
            < actions.list.eval(pl.element().struct.field("action_id").drop_nulls()).list.len()
        ).fill_null(False),
        "grade_unknown": (
            observed.list.eval(~pl.element().is_in(known)).list.any().fill_null(False)
            | (has_floor & ~floor.is_in(known)).fill_null(False)
            | (backing.is_not_null() & ~backing.is_in(known)).fill_null(False)
        ),
        "observed_duplicate": (observed.list.n_unique() < observed.list.len()).fill_null(False),
        "observed_empty": (has_obs & (observed.list.len() == 0)).fill_null(False),
        "floor_without_observed": (has_floor & (~has_obs | (observed.list.len() == 0))).fill_null(False),
        "observed_without_floor": (has_obs & ~has_floor).fill_null(False),
        "floor_not_observed": (
            has_floor & (observed.list.drop_nulls().list.len() > 0) & ~observed.list.contains(floor)
        ).fill_null(False),
        "floor_not_weakest": (
            has_floor & floor_rank.is_not_null() & weakest.is_not_null() & (floor_rank != weakest)
        ).fill_null(False),
        "negative_evidence_count": (pl.col("authorization_evidence_count") < 0).fill_null(False),
    }
    return {k: v for k, v in exprs.items() if _uses_only(k, columns)}


_AEP_COLUMNS = {
    "timestamp_not_finite": {"created_at_ms"},
    "action_timestamp_not_finite": {"actions"},
    "duplicate_action_id": {"actions"},
    "grade_unknown": {"run_attribution_backing_observed", "run_attribution_backing_floor", "attribution_backing"},
    "observed_duplicate": {"run_attribution_backing_observed"},
    "observed_empty": {"run_attribution_backing_observed"},
    "floor_without_observed": {"run_attribution_backing_observed", "run_attribution_backing_floor"},
    "observed_without_floor": {"run_attribution_backing_observed", "run_attribution_backing_floor"},
    "floor_not_observed": {"run_attribution_backing_observed", "run_attribution_backing_floor"},
    "floor_not_weakest": {"run_attribution_backing_observed", "run_attribution_backing_floor"},
    "negative_evidence_count": {"authorization_evidence_count"},
}


def _uses_only(rule: str, columns: set[str]) -> bool:
    return _AEP_COLUMNS[rule] <= columns


def semantic_exprs(kind: str, columns: set[str]) -> dict[str, pl.Expr]:
    """rule -> boolean expression (True = broken) over a typed table of `kind`."""
    if kind == "aep":
        return _aep_exprs(columns)
    if kind == "rollout" and "objective_score" in columns:
        s = pl.col("objective_score")
        return {"objective_score_out_of_range": (s.is_not_null() & ((s < 0) | (s > 1))).fill_null(False)}
    if kind == "compliance" and "latency_ms" in columns:
        return {"latency_not_finite": _bad_time_expr(pl.col("latency_ms"))}
    return {}
