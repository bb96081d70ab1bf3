"""compliance-eval-record/v1 → compliance, violations, repairs."""

from __future__ import annotations

import polars as pl

from engine.normalize.common import KEYS, count_items, explode_items, list_len
from engine.normalize.decode import Spec
from engine.normalize.tables import conform

S, F, INT, B = pl.String(), pl.Float64(), pl.Int64(), pl.Boolean()
LS = pl.List(pl.String())

COMPLIANCE_SPEC: dict[str, Spec] = {
    "task_id": S, "task_spec_hash": S, "model": S, "mode": S, "final_pass": B, "repair_rounds": INT,
    "latency_ms": F, "trace_uri": S, "artifact": S,
    "token_cost": {"prompt": INT, "generation": INT, "repair": INT},
    "error": {"kind": S, "message": S, "stage": S},
    "violations": [{"constraint_id": S, "level": S, "category": S, "hint": S, "detected_at": S}],
    "repair_trace": [{
        "round": INT, "violation_ids": LS, "strategy": S, "ok": B, "target_region": S, "rolled_back": B,
        "remaining_violation_ids": LS, "latency_ms": F,
    }],
}


def compliance_tables(d: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """`d`: the key columns plus the decoded COMPLIANCE_SPEC fields, one row per record."""
    carry = [*KEYS, "task_id", "model", "mode"]
    main = d.with_columns(
        list_len("violations").alias("n_violations"),
        count_items("violations", pl.element().struct.field("level") == "hard").alias("n_hard_violations"),
        pl.col("token_cost").struct.field("prompt").alias("prompt_tokens"),
        pl.col("token_cost").struct.field("generation").alias("generation_tokens"),
        pl.col("token_cost").struct.field("repair").alias("repair_tokens"),
        pl.col("error").struct.field("kind").alias("error_kind"),
        pl.col("error").struct.field("stage").alias("error_stage"),
        pl.col("error").struct.field("message").alias("error_message"),
    )
    return {
        "compliance": conform(main, "compliance"),
        "violations": conform(explode_items(d, "violations", carry), "violations"),
        "repairs": conform(explode_items(d, "repair_trace", carry), "repairs"),
    }
