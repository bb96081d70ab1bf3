"""The previous frame-level construction of rollout rows (one long frame of messages sorted and grouped
per branch; a self-join of every branch pair per rollout for DPO), kept as the reference for the
index-based assembly of engine.export.conversations and the pruned pairing of engine.export.dpo."""

from __future__ import annotations

import polars as pl

from engine.export.messages import message
from engine.export.sft import META_COLUMNS

_ORDER_BITS = 24  # message slots per branch: 2 per tool call
_FINAL_ORDER = (1 << _ORDER_BITS) - 1  # after any tool message


def with_messages(branches: pl.DataFrame, calls: pl.DataFrame) -> pl.DataFrame:
    """Add `messages` (user task, tool turns, final answer), `prompt` ([user task]) and `completion`
    (the messages after the prompt) to branches."""
    call_id = pl.format("call_{}", pl.col("k"))
    tool_call = pl.struct(
        call_id.alias("id"),
        pl.lit("function").alias("type"),
        pl.struct(pl.col("name"), pl.col("arguments")).alias("function"),
    )
    i64 = pl.Int64
    long = pl.concat([
        branches.select("rid", pl.lit(0, dtype=i64).alias("o"), message("user", pl.col("task")).alias("m")),
        calls.select("rid", (2 * pl.col("k") + 1).alias("o"),
                     message("assistant", pl.lit(""), tool_calls=pl.concat_list(tool_call)).alias("m")),
        calls.select("rid", (2 * pl.col("k") + 2).alias("o"),
                     message("tool", pl.col("content"), tool_call_id=call_id).alias("m")),
        branches.select("rid", pl.lit(_FINAL_ORDER, dtype=i64).alias("o"),
                        message("assistant", pl.col("final_answer")).alias("m")),
    ])
    msgs = (long.with_columns((pl.col("rid") * (1 << _ORDER_BITS) + pl.col("o")).alias("key"))
            .sort("key").group_by("rid", maintain_order=True).agg(pl.col("m").alias("messages")))
    out = branches.join(msgs, on="rid", how="left", maintain_order="left")
    return out.with_columns(
        pl.concat_list(message("user", pl.col("task"))).alias("prompt"),
        pl.col("messages").list.slice(1).alias("completion"),
    )


def dpo_pairs(branches: pl.DataFrame, *, max_pairs: int = 1) -> pl.DataFrame:
    """Every (chosen, rejected) pair of known branches of one rollout with the chosen key strictly greater,
    ordered by chosen key desc, rejected key asc, input order; the first `max_pairs` per rollout:
    c_rid, r_rid, pair_no, sorted by (c_rid, pair_no)."""
    known = branches.filter(pl.col("objective_status") != "unknown").select(
        "rid", "rollout_id", "objective_score", "total_score")
    left = known.rename({"rid": "c_rid", "objective_score": "c_obj", "total_score": "c_tot"})
    right = known.rename({"rid": "r_rid", "objective_score": "r_obj", "total_score": "r_tot"})
    better = (pl.col("c_obj") > pl.col("r_obj")) | (
        (pl.col("c_obj") == pl.col("r_obj")) & (pl.col("c_tot") > pl.col("r_tot")))
    return (
        left.join(right, on="rollout_id", how="inner")
        .filter(better)
        .sort(["c_obj", "c_tot", "c_rid", "r_obj", "r_tot", "r_rid"],
              descending=[True, True, False, False, False, False])
        .with_columns(pl.int_range(pl.len(), dtype=pl.Int64).over("rollout_id").alias("pair_no"))
        .filter(pl.col("pair_no") < max_pairs)
        .select("c_rid", "r_rid", "pair_no")
        .sort("c_rid", "pair_no")
    )


def to_dpo(branches: pl.DataFrame, *, max_pairs: int = 1) -> pl.DataFrame:
    """DPO rows from branches carrying `prompt` and `completion` (with_messages)."""
    pairs = dpo_pairs(branches, max_pairs=max_pairs)
    chosen = branches.select(pl.col("rid").alias("c_rid"), "prompt", pl.col("completion").alias("chosen"),
                             pl.col("final_answer").alias("chosen_text"), *META_COLUMNS)
    rejected = branches.select(pl.col("rid").alias("r_rid"), pl.col("completion").alias("rejected"),
                               pl.col("final_answer").alias("rejected_text"),
                               pl.col("line").alias("rejected_line"))
    return (
        pairs.join(chosen, on="c_rid", how="left")
        .join(rejected, on="r_rid", how="left")
        .sort("c_rid", "pair_no")
        .select(pl.col("c_rid").alias("rid"), "r_rid", "prompt", "chosen", "rejected", *META_COLUMNS,
                "chosen_text", "rejected_text", "rejected_line")
    )
