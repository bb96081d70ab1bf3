"""Running one of the export SQL files over an Arrow table of records (rid, raw)."""

from __future__ import annotations

import polars as pl
import pyarrow as pa

from engine.paths import load_sql


def run_sql(name: str, records: pa.Table) -> pl.DataFrame:
    """`sql/export/<name>.sql` over `records(rid, raw)` → a Polars frame."""
    import duckdb

    con = duckdb.connect()
    try:
        con.register("records", records.select(["rid", "raw"]))
        out = pl.from_arrow(con.sql(load_sql(f"export/{name}")).to_arrow_table())
    finally:
        con.close()
    assert isinstance(out, pl.DataFrame)
    return out
