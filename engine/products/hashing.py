"""sha16 (first 16 hex characters of SHA-256 of the UTF-8 text) over a whole column, in DuckDB."""

from __future__ import annotations

import polars as pl


def sha16(texts: pl.Series) -> pl.Series:
    """sha16 of every string of `texts` (null stays null), order kept."""
    import duckdb

    frame = pl.DataFrame({"i": pl.int_range(texts.len(), dtype=pl.Int64, eager=True), "t": texts})
    con = duckdb.connect()
    try:
        con.register("texts", frame.to_arrow())
        out = pl.from_arrow(con.sql("select i, left(sha256(t), 16) as h from texts").to_arrow_table())
    finally:
        con.close()
    assert isinstance(out, pl.DataFrame)
    return frame.select("i").join(out, on="i", how="left", maintain_order="left").get_column("h").alias(texts.name)
