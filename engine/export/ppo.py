"""Rollout branches → PPO/GRPO prompt rows (TRL `prompt`, plus `reward`) with lineage metadata."""

from __future__ import annotations

import polars as pl

from engine.export.sft import META_COLUMNS


def to_ppo(branches: pl.DataFrame) -> pl.DataFrame:
    """Every branch, whatever its status (the original's behaviour): reward = objective_score as a float."""
    return branches.select("rid", "prompt", pl.col("objective_score").cast(pl.Float64).alias("reward"),
                           *META_COLUMNS, "messages")
