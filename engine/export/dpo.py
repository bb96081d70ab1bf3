"""Rollout branches → DPO preference pairs (TRL conversational form) with lineage metadata.

Per rollout, branches with a known status are ranked by (objective_score, total_score). A candidate pair
is (chosen, rejected) with the chosen key strictly greater. Pairs are ordered by chosen key descending,
then rejected key ascending, ties broken by input order; the first `max_pairs` per rollout are kept.
With max_pairs = 1 this is exactly the original: chosen = first branch with the maximum key, rejected =
first with the minimum, nothing when every key is equal (the original skips a branch paired with itself).

Only max_pairs candidates per side can appear in the first max_pairs pairs, so each side is cut to those
before the self-join: with chosen order c1, c2, ... (key desc, input order), the chosen with any strictly
worse branch form a prefix c1..cJ and each gives at least one pair, so the first max_pairs pairs have
their chosen among c1..c_max_pairs; for one chosen c, its partners (key below c's) are a prefix of the
rejected order (key asc, input order), so its first max_pairs pairs use the first max_pairs rejected.

Columns: prompt = [user task] (shared by both branches), chosen / rejected = the branch's own turns after
the prompt (its tool calls and results, then the final answer), so the prompt is never repeated in them.
Lineage columns (source, line, evidence_digest, ...) are the chosen branch's.
"""

from __future__ import annotations

import polars as pl

from engine.export.conversations import Conversations
from engine.export.sft import META_COLUMNS

_ROW = pl.int_range(pl.len(), dtype=pl.Int64)


def _rank_in_rollout() -> pl.Expr:
    """0, 1, 2 ... within each run of equal `g` (the rows of one rollout, adjacent after a sort by g)."""
    first = (pl.col("g") != pl.col("g").shift(1)).fill_null(True)
    return _ROW - pl.when(first).then(_ROW).forward_fill()


def _first_per_rollout(known: pl.DataFrame, n: int, *, best: bool) -> pl.DataFrame:
    """The first `n` branches of each rollout in chosen order (best first) or rejected order (worst first)."""
    ordered = known.sort(["g", "objective_score", "total_score", "rid"], descending=[False, best, best, False])
    return ordered.filter(_rank_in_rollout() < n)


def dpo_pairs(branches: pl.DataFrame, *, max_pairs: int = 1) -> pl.DataFrame:
    """c_rid, r_rid, pair_no (and the positions c_at, r_at of both branches in `branches`), sorted by
    (c_rid, pair_no). A rollout is keyed by its first rid `g` (integer sorts and joins, not string ones)."""
    known = branches.with_row_index("at").filter(pl.col("objective_status") != "unknown").select(
        "at", "rid", pl.col("rid").min().over("rollout_id").alias("g"), "objective_score", "total_score")
    names = {"at": "c_at", "rid": "c_rid", "objective_score": "c_obj", "total_score": "c_tot"}
    left = _first_per_rollout(known, max_pairs, best=True).rename(names)
    right = _first_per_rollout(known, max_pairs, best=False).rename(
        {k: "r_" + v[2:] for k, v in names.items()})
    better = (pl.col("c_obj") > pl.col("r_obj")) | (
        (pl.col("c_obj") == pl.col("r_obj")) & (pl.col("c_tot") > pl.col("r_tot")))
    return (
        left.join(right, on="g", how="inner")
        .filter(better)
        .sort(["g", "c_obj", "c_tot", "c_rid", "r_obj", "r_tot", "r_rid"],
              descending=[False, True, True, False, False, False, False])
        .with_columns(_rank_in_rollout().alias("pair_no"))
        .filter(pl.col("pair_no") < max_pairs)
        .select("c_rid", "r_rid", "pair_no", pl.col("c_at").cast(pl.Int64), pl.col("r_at").cast(pl.Int64))
        .sort("c_rid", "pair_no")
    )


def to_dpo(branches: pl.DataFrame, conv: Conversations, *, max_pairs: int = 1) -> pl.DataFrame:
    """Pairs → rid (the chosen branch), r_rid, prompt, chosen, rejected, metadata, chosen_text,
    rejected_text, rejected_line."""
    pairs = dpo_pairs(branches, max_pairs=max_pairs)
    c_at, r_at = pairs.get_column("c_at").to_numpy(), pairs.get_column("r_at").to_numpy()
    chosen = branches.select(*META_COLUMNS, pl.col("final_answer").alias("chosen_text"))[c_at]
    rejected = branches.select(pl.col("final_answer").alias("rejected_text"),
                               pl.col("line").alias("rejected_line"))[r_at]
    return pl.DataFrame([pairs.get_column("c_rid").alias("rid"), pairs.get_column("r_rid"),
                         conv.prompts(c_at), conv.completions(c_at, "chosen"), conv.completions(r_at, "rejected"),
                         *chosen.get_columns(), *rejected.get_columns()])
