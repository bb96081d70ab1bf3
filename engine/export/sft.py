"""Rollout branches → SFT rows (TRL `messages` column plus lineage metadata)."""

from __future__ import annotations

import polars as pl

META_COLUMNS = ("source", "line", "rollout_id", "run_id", "task_hash", "admission_score", "evidence_digest")


def to_sft(branches: pl.DataFrame, *, include_failing: bool = False) -> pl.DataFrame:
    """Passing branches (all with `include_failing`) → rid, messages, metadata."""
    rows = branches if include_failing else branches.filter(pl.col("objective_score") == 1.0)
    return rows.select("rid", "messages", *META_COLUMNS)
