"""Shared pieces of every importer: lenient decoding, JSON assembly, digests, quarantine, writing.

Importers turn a table of source records (`source`, `line`, `raw`) into a table with one JSON
text per emitted record plus a quarantine table. Decoding goes through DuckDB's `from_json`
(sql/importers/decode.sql), which is lenient: a value of the wrong type becomes NULL instead of
failing the batch, so a mutated record is quarantined for the key it lacks, never a traceback.
Output JSON is assembled with Polars string expressions, so optional keys are *omitted* when the
source has no value (AEP digests are typed string; a null fails the schema).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

QUARANTINE_SCHEMA: dict[str, pl.DataType] = {
    "source": pl.String(), "line": pl.Int64(), "item": pl.Int64(), "reason": pl.String(), "excerpt": pl.String()}
_EXCERPT = 200
_LONE_SURROGATE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


@dataclass
class ImportResult:
    """What one importer produced from one input table.

    `records`: column `json` (one emitted record each, in output order). `read`: source items
    (lines, or spans inside OTLP containers) seen; `imported`: those that went into an output
    record; `quarantine`: the rest, one row each, so read == imported + quarantined.
    """

    records: pl.DataFrame
    quarantine: pl.DataFrame
    read: int
    imported: int
    kind: str
    notes: dict[str, Any] = field(default_factory=dict)


def empty_quarantine() -> pl.DataFrame:
    return pl.DataFrame(schema=QUARANTINE_SCHEMA)


def quarantine_rows(frame: pl.DataFrame, reason: pl.Expr, raw: str = "raw", item: pl.Expr | None = None) -> pl.DataFrame:
    """Quarantine rows of `frame` (needs source, line and the `raw` text column)."""
    return frame.select(
        pl.col("source"), pl.col("line"),
        (item if item is not None else pl.lit(None, dtype=pl.Int64)).cast(pl.Int64).alias("item"),
        reason.cast(pl.String).alias("reason"),
        pl.col(raw).str.slice(0, _EXCERPT).alias("excerpt"),
    )


def missing_reason(checks: Sequence[tuple[str, pl.Expr]]) -> pl.Expr:
    """First missing required key as `missing:<key>` (null when every key is present)."""
    expr: pl.Expr = pl.lit(None, dtype=pl.String)
    for key, col in reversed(checks):
        expr = pl.when(col.is_null() | (col.cast(pl.String) == "")).then(pl.lit(f"missing:{key}")).otherwise(expr)
    return expr


# ---------------------------------------------------------------------------------------------
# Decoding (DuckDB, lenient)
# ---------------------------------------------------------------------------------------------


def _reserialise(raw: str) -> str:
    # DuckDB refuses lone UTF-16 surrogate escapes that Python's json accepts.
    text = json.dumps(json.loads(raw), ensure_ascii=False)
    return text.encode("utf-8", "replace").decode("utf-8")


def _fix_surrogates(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    mask = frame[column].str.contains(_LONE_SURROGATE.pattern).fill_null(False)
    if not mask.any():
        return frame
    idx = mask.arg_true()
    fixed = [_reserialise(r) for r in frame[column].gather(idx).to_list()]  # only the rare suspects
    return frame.with_columns(frame[column].scatter(idx, pl.Series(fixed, dtype=pl.String)))


def run_sql(name: str, table: str, frame: pl.DataFrame, params: dict[str, Any] | None = None,
            text_column: str = "raw") -> pl.DataFrame:
    """Run `sql/importers/<name>.sql` over `frame` registered as `table`.

    A batch DuckDB refuses (e.g. JSON nested beyond its depth limit) is retried row by row; rows
    that still fail come back with all output columns null except `row_nr`, so the caller
    quarantines them for a missing key instead of losing the batch.
    """
    import duckdb

    from engine.paths import load_sql

    query = load_sql(f"importers/{name}")
    frame = _fix_surrogates(frame, text_column)

    def run(part: pl.DataFrame) -> pl.DataFrame:
        con = duckdb.connect()
        try:
            con.execute("SET threads TO 2")
            con.execute("SET enable_progress_bar = false")
            con.register(table, part.to_arrow())
            out = pl.from_arrow(con.sql(query, params=params or {}).to_arrow_table())
        finally:
            con.close()
        assert isinstance(out, pl.DataFrame)
        return out

    try:
        out = run(frame)
    except duckdb.Error:
        pieces: list[pl.DataFrame] = []
        template: pl.DataFrame | None = None
        bad: list[int] = []
        for i in range(frame.height):  # only batches DuckDB refused as a whole
            try:
                piece = run(frame.slice(i, 1))
                pieces.append(piece)
                template = piece.head(0)
            except duckdb.Error:
                bad.append(int(frame["row_nr"][i]))
        if template is None:
            template = run(frame.head(0).with_columns(pl.lit("{}").alias(text_column)))
        filler = pl.DataFrame({"row_nr": pl.Series(bad, dtype=pl.Int64)})
        out = pl.concat([*pieces, filler.join(template, on="row_nr", how="left")], how="diagonal_relaxed")
    return out.sort("row_nr")


def decode(frame: pl.DataFrame, structure: dict[str, Any], text_column: str = "raw") -> pl.DataFrame:
    """`frame` + the decoded top-level fields of `structure` + `ext` (JSON of the keys it does not name).

    `structure` follows DuckDB's from_json: "VARCHAR", "BIGINT", "DOUBLE", "BOOLEAN", "JSON"
    (keep the JSON text), nested objects and one-element lists.
    """
    numbered = frame.with_row_index("row_nr").with_columns(pl.col("row_nr").cast(pl.Int64))
    known = json.dumps({k: None for k in structure})
    params = {"structure": json.dumps(structure), "known": known}
    decoded = run_sql("decode", "records", numbered.select("row_nr", pl.col(text_column).alias("raw")), params)
    rec = decoded.select("row_nr", "ext", pl.col("rec").struct.unnest())
    return numbered.join(rec, on="row_nr", how="left").drop("row_nr")


# ---------------------------------------------------------------------------------------------
# JSON assembly (Polars string expressions; absent values are omitted, never null)
# ---------------------------------------------------------------------------------------------


def jval(expr: pl.Expr) -> pl.Expr:
    """JSON text of a Polars value (string, number, bool, list, struct); null stays null."""
    encoded = pl.struct(expr.alias("v")).struct.json_encode().str.slice(5).str.head(-1)
    return pl.when(expr.is_not_null()).then(encoded).otherwise(pl.lit(None, dtype=pl.String))


def jraw(expr: pl.Expr) -> pl.Expr:
    """JSON text that is already JSON (from a DuckDB JSON column); null/'null' become absent."""
    return pl.when(expr.is_null() | (expr == "null")).then(pl.lit(None, dtype=pl.String)).otherwise(expr)


def jobj(*pairs: tuple[str, pl.Expr]) -> pl.Expr:
    """JSON object text from (key, JSON-fragment) pairs; pairs whose fragment is null are left out."""
    pieces = [
        pl.when(frag.is_null()).then(pl.lit("")).otherwise(pl.lit(json.dumps(key) + ":") + frag + pl.lit(","))
        for key, frag in pairs
    ]
    return pl.concat_str([pl.lit("{"), pl.concat_str(pieces).str.strip_suffix(","), pl.lit("}")])


def jobj_or_null(*pairs: tuple[str, pl.Expr]) -> pl.Expr:
    """Like `jobj`, but null when every pair is absent (so the enclosing key is omitted)."""
    obj = jobj(*pairs)
    return pl.when(obj == "{}").then(pl.lit(None, dtype=pl.String)).otherwise(obj)


def jarray_agg(fragment: str) -> pl.Expr:
    """Aggregation: the group's non-null fragments (already sorted) as one JSON array text."""
    return pl.concat_str([pl.lit("["), pl.col(fragment).drop_nulls().str.join(","), pl.lit("]")])


def nonempty_array(expr: pl.Expr) -> pl.Expr:
    return pl.when(expr.is_null() | (expr == "[]")).then(pl.lit(None, dtype=pl.String)).otherwise(expr)


def ext_or_null(col: str = "ext") -> pl.Expr:
    """The unknown-keys object, or null when there were none."""
    c = pl.col(col)
    return pl.when(c.is_null() | (c == "{}") | (c == "null")).then(pl.lit(None, dtype=pl.String)).otherwise(c)


def ts_ms(expr: pl.Expr) -> pl.Expr:
    """A timestamp / duration in ms when finite and non-negative, else null (the AEP semantic rule)."""
    x = expr.cast(pl.Float64, strict=False)
    return pl.when(x.is_finite() & (x >= 0)).then(x).otherwise(pl.lit(None, dtype=pl.Float64))


def finite(expr: pl.Expr) -> pl.Expr:
    """A float when finite, else null (JSON has no Infinity or NaN)."""
    x = expr.cast(pl.Float64, strict=False)
    return pl.when(x.is_finite()).then(x).otherwise(pl.lit(None, dtype=pl.Float64))


def unique_ids(ids: pl.Expr, *within: str) -> pl.Expr:
    """Ids made unique within a group: repeats get `#<k>` (AEP forbids a repeated action_id in a run)."""
    k = pl.int_range(pl.len(), dtype=pl.Int64).over([*within, ids])
    return pl.when(k == 0).then(ids).otherwise(pl.concat_str([ids, pl.lit("#"), k.cast(pl.String)]))


def lit_str(value: str) -> pl.Expr:
    return pl.lit(json.dumps(value))


# ---------------------------------------------------------------------------------------------
# Digests
# ---------------------------------------------------------------------------------------------


def digest_json(texts: pl.Series) -> pl.Series:
    """SHA-256 hex of the canonical JSON of each JSON text; null where the source has no content.

    Canonical JSON sorts object keys, which no vectorized engine does; the hashing runs over the
    distinct non-null texts only, in one batched pass.
    """
    from engine.authenticity.canonical import canonical_bytes, loads

    values = texts.drop_nulls().unique()
    hashes: list[str | None] = []
    for text in values.to_list():
        try:
            hashes.append(hashlib.sha256(canonical_bytes(loads(text))).hexdigest())
        except (ValueError, RecursionError):
            hashes.append(hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest())
    mapping = pl.DataFrame({"__t": values, "__d": pl.Series(hashes, dtype=pl.String)})
    return (pl.DataFrame({"__t": texts}).join(mapping, on="__t", how="left", nulls_equal=False, maintain_order="left")
            .get_column("__d").alias(texts.name))


def string_json(expr: pl.Expr) -> pl.Expr:
    """JSON text of a string value (so a plain-string content can be digested like any JSON)."""
    return jval(expr.cast(pl.String))


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------


def write_lines(lines: pl.Series, path: Path) -> None:
    """Write one JSON text per line, atomically (temp name, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            if lines.len():
                fh.write(lines.str.join("\n").item().encode("utf-8", "surrogatepass"))
                fh.write(b"\n")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_quarantine(frame: pl.DataFrame, path: Path) -> None:
    lines = frame.select(jobj(
        ("source", jval(pl.col("source"))), ("line", jval(pl.col("line"))), ("item", jval(pl.col("item"))),
        ("reason", jval(pl.col("reason"))), ("excerpt", jval(pl.col("excerpt"))),
    ).alias("json")).get_column("json")
    write_lines(lines, path)
