"""Decode the JSON text of records into typed columns, tolerantly.

Types follow the contract's mapping (string → String, number → Float64, integer → Int64,
boolean → Boolean, array → List, object with properties → Struct). Decoding goes through
DuckDB's `json_transform`, which turns a value of the wrong type into NULL for that field
instead of failing the whole batch (Polars' `json_decode` aborts on the first such value,
and evidence dumps do contain them: the validation table reports them, the store keeps the
rest of the record). Open objects (tool arguments, results) are kept as JSON text.
"""

from __future__ import annotations

import json
from typing import Any, TypeAlias

import polars as pl

from engine.normalize.scratch import scratch_cursor
from engine.paths import load_sql

JSON = "JSON"  # marker: keep this value as JSON text
Spec: TypeAlias = "pl.DataType | str | dict[str, Spec] | list[Spec]"

_SCALARS: dict[type, str] = {
    pl.String: "VARCHAR",
    pl.Float64: "DOUBLE",
    pl.Int64: "BIGINT",
    pl.Boolean: "BOOLEAN",
}


def spec_from_dtype(dtype: Any, keep: Spec) -> Spec:
    """The part of a contract dtype named by `keep`, with `keep`'s JSON markers and extras added.

    `keep` is the shape this module needs; the contract's type wins for every field it declares,
    so the store decodes each field exactly as the contract types it.
    """
    if isinstance(keep, dict) and isinstance(dtype, pl.Struct):
        declared = {f.name: f.dtype for f in dtype.fields}
        return {
            name: (spec_from_dtype(declared[name], sub) if name in declared and sub != JSON else sub)
            for name, sub in keep.items()
        }
    if isinstance(keep, list) and isinstance(dtype, pl.List):
        return [spec_from_dtype(dtype.inner, keep[0])]
    if isinstance(keep, (dict, list)) or keep == JSON:
        return keep
    return dtype


def duckdb_structure(spec: Any) -> Any:
    """The `json_transform` structure for a spec."""
    if isinstance(spec, dict):
        return {name: duckdb_structure(sub) for name, sub in spec.items()}
    if isinstance(spec, list):
        return [duckdb_structure(spec[0])]
    if spec == JSON:
        return "JSON"
    if isinstance(spec, pl.List):
        return [duckdb_structure(spec.inner)]
    if isinstance(spec, pl.Struct):
        return {f.name: duckdb_structure(f.dtype) for f in spec.fields}
    for cls, name in _SCALARS.items():
        if isinstance(spec, cls):
            return name
    return "VARCHAR"


_DECODE_SQL = load_sql("normalize/decode")
_LONE_SURROGATE = r"\\u[dD][89a-fA-F]"


def _transform(raw: pl.Series, structure: str) -> Any:
    con = scratch_cursor()
    try:
        con.register("batch_raw", pl.DataFrame({"raw": raw}).to_arrow(compat_level=pl.CompatLevel.newest()))
        return con.sql(_DECODE_SQL, params={"structure": structure}).to_arrow_table()
    finally:
        con.close()


def _reserialised(text: str) -> str:
    # Python's json reads a lone UTF-16 surrogate escape; written back it becomes '?' (as
    # engine.admission does for the same records), which DuckDB's parser accepts
    return json.dumps(json.loads(text), ensure_ascii=False).encode("utf-8", "replace").decode("utf-8")


def decode(raw: pl.Series, spec: dict[str, Spec]) -> pl.DataFrame:
    """One column per top-level field of `spec`, decoded from the JSON text in `raw`."""
    import duckdb

    if raw.len() == 0:
        return pl.DataFrame(schema={name: _polars_type(sub) for name, sub in spec.items()})
    structure = json.dumps(duckdb_structure(spec))
    try:
        table = _transform(raw, structure)
    except duckdb.Error:  # only the rows with a lone surrogate escape are re-serialised, one by one
        at = raw.str.contains(_LONE_SURROGATE).arg_true()
        fixed = pl.Series([_reserialised(t) for t in raw.gather(at).to_list()], dtype=pl.String)
        table = _transform(raw.clone().scatter(at, fixed), structure)
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame.unnest("r")


def _polars_type(spec: Spec) -> pl.DataType:
    if isinstance(spec, dict):
        return pl.Struct({name: _polars_type(sub) for name, sub in spec.items()})
    if isinstance(spec, list):
        return pl.List(_polars_type(spec[0]))
    if spec == JSON or isinstance(spec, str):
        return pl.String()
    assert isinstance(spec, pl.DataType)
    return spec
