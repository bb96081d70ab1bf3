"""Top-level fields the contract does not declare, kept as a JSON column (`runs.extras`).

The typed reader ignores undeclared keys (it types only the contract), so without this the
store would silently lose what importers and producers add beside the contract (OTel
`gen_ai_*` aggregates, `extensions`, ...). DuckDB removes the declared keys with a JSON merge
patch, vectorized, on the records that have any other key (sql/store/extras.sql);
`engine sql "select extras->>'$.key' from runs"` reads them.
"""

from __future__ import annotations

import json
from functools import cache

import polars as pl

from engine.contract.schemas import json_schema
from engine.normalize.scratch import scratch_cursor
from engine.paths import load_sql


@cache
def _declared_patch(kind: str) -> str:
    return json.dumps({key: None for key in json_schema(kind)["properties"]}, sort_keys=True)


@cache
def _declared_names(kind: str) -> tuple[str, ...]:
    return tuple(sorted(json_schema(kind)["properties"]))


def top_level_extras(raw: pl.Series, kind: str = "aep") -> pl.Series:
    """One JSON object text per record (or null): the record minus its declared top-level keys."""
    if raw.len() == 0:
        return pl.Series("extras", [], dtype=pl.String)
    records_raw = raw.alias("raw").to_frame().to_arrow(compat_level=pl.CompatLevel.newest())  # no string copy
    con = scratch_cursor()
    try:
        con.register("records_raw", records_raw)
        params = {"declared": _declared_patch(kind), "names": list(_declared_names(kind))}
        table = con.sql(load_sql("store/extras"), params=params).to_arrow_table()
    finally:
        con.close()
    out = pl.from_arrow(table.column("extras"))
    assert isinstance(out, pl.Series)
    return out.cast(pl.String).alias("extras")
