"""Decoding rollout-wire/v1 branch records into a branch frame and a raw tool-call frame.

One DuckDB `json_transform` per record (sql/export/rollout_branches.sql) types the scalar fields and keeps
every free-form value of the tool-call sequence (arguments, results, errors) as JSON text. Records that
are not usable rollout branches are returned separately with a reason, never dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl
import pyarrow as pa

from engine.paths import load_sql

BRANCH_COLUMNS = ("rid", "source", "line", "rollout_id", "branch_index", "task", "final_answer", "run_id",
                  "objective_score", "objective_status", "total_score")


TOOL_ITEM_SCHEMA = {"rid": pl.Int64, "pos": pl.Int64, "tool_name": pl.String, "arguments": pl.String,
                    "result": pl.String, "error": pl.String, "event": pl.String, "call_id": pl.String}


@dataclass(frozen=True)
class DecodedRollouts:
    branches: pl.DataFrame  # BRANCH_COLUMNS, one row per usable branch, in input order
    tool_items: pl.DataFrame  # rid, pos, tool_name, arguments, result, error, event, call_id (JSON text values)
    rejected: pl.DataFrame  # source, line, reason, rollout_id, branch_index
    n_tree_records: int


def _duck(records: pa.Table) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One typed parse per record (kept in DuckDB), then its scalar fields and its tool items as two flat
    frames: DuckDB unnests the lists cheaper than a nested Arrow column can be moved and exploded in Polars."""
    import duckdb

    con = duckdb.connect()
    try:
        con.register("records", records.select(["rid", "raw"]))
        con.sql(load_sql("export/rollout_branches")).create("decoded")
        fields = pl.from_arrow(con.sql(load_sql("export/rollout_branch_fields")).to_arrow_table())
        items = pl.from_arrow(con.sql(load_sql("export/rollout_tool_items")).to_arrow_table())
    finally:
        con.close()
    assert isinstance(fields, pl.DataFrame) and isinstance(items, pl.DataFrame)
    return fields, items


def _reason() -> pl.Expr:
    """Why a decoded record cannot be exported as a branch (null when it can)."""
    sv = pl.col("schema_version")
    return (
        pl.when(pl.col("invalid_json"))
        .then(pl.lit("invalid JSON"))
        .when(sv.is_not_null() & (sv != "rollout-wire/v1"))
        .then(pl.format("not a rollout-wire/v1 record (schema_version {})", sv))
        .when(pl.col("rollout_id").is_null() | (pl.col("rollout_id") == ""))
        .then(pl.lit("missing rollout_id"))
        .when(pl.col("task").is_null() | (pl.col("task") == ""))
        .then(pl.lit("missing task"))
        .when(pl.col("branch_index").is_null() | (pl.col("branch_index") < 0))
        .then(pl.lit("missing or negative branch_index"))
        .when(pl.col("final_answer").is_null())
        .then(pl.lit("missing final_answer"))
        .when(pl.col("objective_score").is_not_null() & ~pl.col("objective_score").is_in([0.0, 1.0]))
        .then(pl.lit("objective_score not 0 or 1"))
        .when(~pl.col("objective_status").is_in(["pass", "fail", "unknown"]))
        .then(pl.lit("objective_status not pass/fail/unknown"))
        .otherwise(pl.lit(None, dtype=pl.String))
    )


DECODE_CHUNK = 200_000


def decode_rollouts(records: pa.Table, *, after_chunk: Callable[[int, int], None] | None = None) -> DecodedRollouts:
    """`records` has rid, source, line, raw. Returns branches, tool items and rejected records.

    Decoded in chunks of DECODE_CHUNK records so DuckDB's result and the nested tool-call lists of only
    one chunk are alive at a time (a zero-copy slice of the input each). `after_chunk(lo, hi)` is told when
    rows lo..hi-1 have been decoded (the export then lets their input pages go)."""
    if records.num_rows <= DECODE_CHUNK:
        out = _decode_chunk(records)
        if after_chunk is not None:
            after_chunk(0, records.num_rows)
        return out
    parts = []
    for off in range(0, records.num_rows, DECODE_CHUNK):
        parts.append(_decode_chunk(records.slice(off, DECODE_CHUNK)))
        if after_chunk is not None:
            after_chunk(off, min(off + DECODE_CHUNK, records.num_rows))
    return DecodedRollouts(
        pl.concat([p.branches for p in parts]), pl.concat([p.tool_items for p in parts]),
        pl.concat([p.rejected for p in parts]), sum(p.n_tree_records for p in parts))


def _decode_chunk(records: pa.Table) -> DecodedRollouts:
    dec, items = _duck(records)
    dec = dec.with_columns(
        pl.col("objective_status").fill_null("unknown"),
        pl.col("total_score").fill_null(0.0),
    )
    trees = dec.filter(pl.col("is_tree"))
    dec = dec.filter(~pl.col("is_tree")).with_columns(_reason().alias("reason"))
    meta = pl.from_arrow(records.select(["rid", "source", "line"]))
    assert isinstance(meta, pl.DataFrame)
    dec = dec.join(meta, on="rid", how="left", maintain_order="left")
    rejected = dec.filter(pl.col("reason").is_not_null()).select(
        "source", "line", "reason", "rollout_id", "branch_index")
    good = dec.filter(pl.col("reason").is_null()).with_columns(pl.col("objective_score").fill_null(0.0))
    branches = good.select(BRANCH_COLUMNS)
    if good.height < dec.height + trees.height:  # only the items of usable branches
        items = items.filter(pl.col("rid").is_in(good.get_column("rid").implode()))
    return DecodedRollouts(branches, _tool_items(items), rejected, trees.height)


def _json_text(values: pl.Series) -> pl.Series:
    """JSON text → the string itself for JSON strings, the JSON text otherwise (never a language repr)."""
    quoted = values.str.starts_with('"').fill_null(False)
    if not quoted.any():
        return values
    idx = quoted.arg_true()
    wrapped = pl.concat_str([pl.lit('{"v":'), values.gather(idx), pl.lit("}")])
    decoded = pl.select(wrapped.str.json_decode(pl.Struct({"v": pl.String})).struct.field("v")).to_series()
    return values.scatter(idx, decoded)


def _error_text(values: pl.Series) -> pl.Series:
    """An error value: an object's `message`, a non-empty string, other falsy values null (as the original)."""
    text = _json_text(values)
    is_obj = values.str.starts_with("{").fill_null(False)
    if is_obj.any():
        idx = is_obj.arg_true()
        text = text.scatter(idx, values.gather(idx).str.json_path_match("$.message"))
    falsy = text.is_in(["", "false", "0", "[]"]) & ~values.str.starts_with('"').fill_null(False)
    return pl.select(pl.when(falsy | (text == "")).then(None).otherwise(text)).to_series().alias(values.name)


def _tool_items(flat: pl.DataFrame) -> pl.DataFrame:
    """Items from export/rollout_tool_items.sql → TOOL_ITEM_SCHEMA, results and errors as text."""
    flat = flat.with_columns(_json_text(flat.get_column("result")), _error_text(flat.get_column("error")))
    return flat.cast(TOOL_ITEM_SCHEMA)  # type: ignore[arg-type]
