"""Slow, obviously-correct references for the evidence store's SQL fast paths."""

from __future__ import annotations

import json

import duckdb
import polars as pl

# runs.extras as first written: the merge patch over every record (sql/store/extras.sql only
# patches the records that can have something left)
FULL_EXTRAS_SQL = """
SELECT CASE
         WHEN json_valid(raw) THEN nullif(json_merge_patch(raw::JSON, $declared::JSON)::VARCHAR, '{}')
       END AS extras
FROM records_raw
"""


def full_extras(raw: pl.Series, declared: list[str]) -> list[str | None]:
    con = duckdb.connect()
    try:
        con.register("records_raw", raw.alias("raw").to_frame().to_arrow())
        patch = json.dumps({k: None for k in declared}, sort_keys=True)
        return [r[0] for r in con.execute(FULL_EXTRAS_SQL, {"declared": patch}).fetchall()]
    finally:
        con.close()
