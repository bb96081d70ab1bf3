"""Rollout branches → DPO preference pairs (TRL conversational form) with lineage metadata.

Per rollout, branches with a known status are ranked by (objective_score, total_score). A candidate pair
is (chosen, rejected) with the chosen key strictly greater. Pairs are ordered by chosen key descending,
then rejected key ascending, ties broken by input order; the first `max_pairs` per rollout are kept.
With max_pairs = 1 this is exactly the original: chosen = first branch with the maximum key, rejected =
first with the minimum, nothing when every key is equal (the original skips a branch paired with itself).

Columns: prompt = [user task] (shared by both branches), chosen / rejected = the branch's own turns after
the prompt (its tool calls and results, then the final answer), so the prompt is never repeated in them.
Lineage columns (source, line, evidence_digest, ...) are the chosen branch's.
"""

from __future__ import annotations

import polars as pl

from engine.export.sft import META_COLUMNS


def to_dpo(branches: pl.DataFrame, *, max_pairs: int = 1) -> pl.DataFrame:
    known = branches.filter(pl.col("objective_status") != "unknown").select(
        "rid", "rollout_id", "objective_score", "total_score")
    left = known.rename({"rid": "c_rid", "objective_score": "c_obj", "total_score": "c_tot"})
    right = known.rename({"rid": "r_rid", "objective_score": "r_obj", "total_score": "r_tot"})
    better = (pl.col("c_obj") > pl.col("r_obj")) | (
        (pl.col("c_obj") == pl.col("r_obj")) & (pl.col("c_tot") > pl.col("r_tot")))
    pairs = (
        left.join(right, on="rollout_id", how="inner")
        .filter(better)
        .sort(["c_obj", "c_tot", "c_rid", "r_obj", "r_tot", "r_rid"],
              descending=[True, True, False, False, False, False])
        .with_columns(pl.int_range(pl.len(), dtype=pl.Int64).over("rollout_id").alias("pair_no"))
        .filter(pl.col("pair_no") < max_pairs)
        .select("c_rid", "r_rid", "pair_no")
    )
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
