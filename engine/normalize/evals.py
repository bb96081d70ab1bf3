"""Eval-log items (claim-audit inputs) → eval_items.

Greedy-eval / converted logs carry `{id, expected, predicted, correct, gen_text}` (or
`{id, error}`); lm-evaluation-harness samples carry `doc_id`, `target` and `acc`/`exact_match`.
"""

from __future__ import annotations

import polars as pl

from engine.normalize.decode import JSON, Spec
from engine.normalize.tables import conform

S, B, F = pl.String(), pl.Boolean(), pl.Float64()

EVAL_SPEC: dict[str, Spec] = {
    "id": S, "doc_id": S, "correct": B, "acc": F, "exact_match": F, "expected": S, "target": S,
    "predicted": S, "gen_text": S, "error": JSON,
}


def eval_tables(d: pl.DataFrame) -> dict[str, pl.DataFrame]:
    items = d.with_columns(
        pl.coalesce("id", "doc_id").alias("item_id"),
        pl.coalesce("correct", pl.coalesce("acc", "exact_match") > 0).alias("correct"),
        pl.coalesce("expected", "target").alias("expected"),
        pl.when(pl.col("error").str.starts_with('"'))
        .then(pl.col("error").str.json_decode(pl.String))
        .otherwise(pl.col("error"))
        .alias("error"),
    )
    return {"eval_items": conform(items, "eval_items")}
