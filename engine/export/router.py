"""AEP runs admitted as `train_router` → router records (reference §3.14, AEP bridge), minimal.

Features (in the original's feature-vector order): tool_calls_total = #actions; tool_calls_valid =
state-changing actions without an error; validity = valid / total (1.0 without actions);
violation_count = #failed verifiers; hard_violation_count = #deny decisions; escalated = any failed
verifier; has_tools = any action; every other feature 0. Label: ≥ 2 deny → need_human_review; 1 deny →
need_large_model; a failed verifier → need_repair; else small_model_can_handle.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa

from engine.export.duck import run_sql

FEATURES = (
    "taskspec_n_constraints", "taskspec_n_hard", "taskspec_has_tools", "taskspec_n_allowed_tools",
    "taskspec_max_repair_rounds", "eval_repair_rounds", "eval_violation_count", "eval_hard_violation_count",
    "eval_tool_calls_total", "eval_tool_calls_valid", "eval_tool_validity_rate", "eval_escalated",
    "eval_latency_ms", "eval_prompt_tokens", "eval_generation_tokens",
)
_FLOAT_FEATURES = ("eval_tool_validity_rate", "eval_latency_ms")


def router_rows(scored: pl.DataFrame, min_admission: float | None) -> pl.DataFrame:
    """`scored` (source, line, raw, run_id, score, category, evidence_digest) → router rows with lineage."""
    keep = scored.filter(pl.col("category") == "train_router")
    if min_admission is not None:
        keep = keep.filter(pl.col("score") >= min_admission)
    keep = keep.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("rid"))
    table = pa.table({"rid": pa.array(np.arange(keep.height, dtype=np.int64)),
                      "raw": keep.get_column("raw").to_arrow()})
    f = run_sql("aep_router", table).drop("run_id")
    f = keep.join(f, on="rid", how="left", maintain_order="left")
    values = {name: pl.lit(0, dtype=pl.Int64) for name in FEATURES}
    values.update({
        "taskspec_has_tools": (pl.col("n_actions") > 0).cast(pl.Int64),
        "eval_violation_count": pl.col("n_failed_verifiers").cast(pl.Int64),
        "eval_hard_violation_count": pl.col("n_deny").cast(pl.Int64),
        "eval_tool_calls_total": pl.col("n_actions").cast(pl.Int64),
        "eval_tool_calls_valid": pl.col("n_valid").cast(pl.Int64),
        "eval_tool_validity_rate": pl.when(pl.col("n_actions") > 0)
        .then(pl.col("n_valid") / pl.col("n_actions")).otherwise(1.0),
        "eval_escalated": (pl.col("n_failed_verifiers") > 0).cast(pl.Int64),
        "eval_latency_ms": pl.lit(0.0),
    })
    features = pl.struct([values[n].cast(pl.Float64 if n in _FLOAT_FEATURES else pl.Int64).alias(n)
                          for n in FEATURES])
    label = (pl.when(pl.col("n_deny") >= 2).then(pl.lit("need_human_review"))
             .when(pl.col("n_deny") == 1).then(pl.lit("need_large_model"))
             .when(pl.col("n_failed_verifiers") > 0).then(pl.lit("need_repair"))
             .otherwise(pl.lit("small_model_can_handle")))
    return f.select(
        "rid", pl.col("run_id").alias("task_id"), features.alias("features"), label.alias("label"),
        "source", "line", pl.lit(None, dtype=pl.String).alias("rollout_id"), "run_id",
        pl.lit(None, dtype=pl.String).alias("task_hash"), pl.col("score").alias("admission_score"),
        "evidence_digest")
