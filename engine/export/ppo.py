"""Rollout branches → PPO/GRPO prompt rows (TRL `prompt`, plus `reward`) with lineage metadata."""

from __future__ import annotations

import numpy as np
import polars as pl

from engine.export.conversations import Conversations
from engine.export.sft import META_COLUMNS


def to_ppo(branches: pl.DataFrame, conv: Conversations, *, with_messages: bool = True) -> pl.DataFrame:
    """Every branch, whatever its status (the original's behaviour): reward = objective_score as a float.
    `messages` (the whole conversation, for the legacy ppo/v1 records) only `with_messages`."""
    at = np.arange(branches.height, dtype=np.int64)
    rows = branches.select("rid", pl.col("objective_score").cast(pl.Float64).alias("reward"), *META_COLUMNS)
    rows = rows.insert_column(1, conv.prompts(at))
    return rows.with_columns(conv.messages(at)) if with_messages else rows
