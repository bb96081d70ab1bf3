"""Small helpers shared by the per-kind normalisers."""

from __future__ import annotations

import polars as pl

KEYS = ["record_key", "source", "line"]


def explode_items(frame: pl.DataFrame, column: str, carry: list[str]) -> pl.DataFrame:
    """One row per item of the list column `column`, with `idx` (0-based position) and the
    item's struct fields as columns; `carry` columns are repeated on every item row."""
    # project before filtering: a filter of the whole record frame would gather its raw text
    # and every other nested column once per exploded list
    has_items = frame.select(*carry, column).filter(pl.col(column).list.len() > 0)
    exploded = has_items.select(
        *carry,
        pl.col(column),
        pl.int_ranges(pl.col(column).list.len()).alias("idx"),
    ).explode([column, "idx"])
    exploded = exploded.filter(pl.col(column).is_not_null())
    return exploded.unnest(column)


def truthy(column: str) -> pl.Expr:
    """Present and non-empty, as the original's Python truthiness tests a string field."""
    return pl.col(column).is_not_null() & (pl.col(column) != "")


def list_len(column: str) -> pl.Expr:
    return pl.col(column).list.len().fill_null(0).cast(pl.Int64)


def count_items(column: str, predicate: pl.Expr) -> pl.Expr:
    """How many items of a list-of-struct column satisfy `predicate` (written over pl.element())."""
    return pl.col(column).list.eval(predicate.cast(pl.Int64)).list.sum().fill_null(0).cast(pl.Int64)


def json_error_text(column: str) -> pl.Expr:
    """An `error` value as text: a JSON string unquoted, an object's `message`, else null."""
    c = pl.col(column)
    return (
        pl.when(c.str.starts_with('"'))
        .then(c.str.json_decode(pl.String))
        .when(c.str.starts_with("{"))
        .then(c.str.json_path_match("$.message"))
        .otherwise(None)
    )
