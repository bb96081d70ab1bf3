"""Rollout branches → SFT rows (TRL `messages` column plus lineage metadata)."""

from __future__ import annotations

import numpy as np
import polars as pl

from engine.export.conversations import Conversations

META_COLUMNS = ("source", "line", "rollout_id", "run_id", "task_hash", "admission_score", "evidence_digest")


def to_sft(branches: pl.DataFrame, conv: Conversations, *, include_failing: bool = False) -> pl.DataFrame:
    """Passing branches (all with `include_failing`) → rid, messages, metadata."""
    if include_failing:
        at = np.arange(branches.height, dtype=np.int64)
    else:
        at = branches.select((pl.col("objective_score") == 1.0).fill_null(False).arg_true()).to_series().to_numpy()
    rows = branches.select("rid", *META_COLUMNS)[at]
    return rows.insert_column(1, conv.messages(at))
