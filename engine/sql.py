"""`engine sql`: read-only SQL over an evidence store.

A DuckDB store is opened with `read_only=True`. A Parquet lake gets an in-memory DuckDB
with one view per table over its Parquet files (hive partition columns `kind` and
`ingest_date` included) plus the views from sql/views/. Only queries run: any statement
other than SELECT / EXPLAIN is refused before it reaches DuckDB, with a message saying why.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import duckdb
import polars as pl

from engine.errors import InputError, QueryError
from engine.store import ALL_SCHEMAS, create_views, store_kind

_ALLOWED = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _open_lake(root: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for table, schema in ALL_SCHEMAS.items():
        if any((root / table).glob("**/*.parquet")):
            pattern = _sql_string(str(root / table / "**" / "*.parquet"))
            con.execute(
                f"CREATE VIEW {table} AS SELECT * FROM read_parquet({pattern}, "
                "hive_partitioning = true, union_by_name = true)"
            )
        else:
            con.register("_empty", pl.DataFrame(schema=schema).to_arrow())
            con.execute(f"CREATE TABLE {table} AS SELECT * FROM _empty")
            con.unregister("_empty")
    create_views(con)
    return con


def open_readonly(store: str) -> duckdb.DuckDBPyConnection:
    """A connection on which the store's tables and views resolve by name, and nothing writes."""
    if store_kind(store) == "lake":
        root = Path(store)
        if not root.is_dir():
            raise InputError("no such lake directory", path=store, hint="run `engine ingest ... --store DIR/` first")
        try:
            return _open_lake(root)
        except duckdb.Error as exc:
            raise InputError(f"cannot read the lake: {_one_line(exc)}", path=store) from exc
    if not os.path.isfile(store):
        raise InputError("no such store", path=store, hint="run `engine ingest ... --store FILE` first")
    try:
        return duckdb.connect(store, read_only=True)
    except duckdb.Error as exc:
        raise InputError(f"cannot open the store read-only: {_one_line(exc)}", path=store) from exc


def check_read_only(con: duckdb.DuckDBPyConnection, query: str) -> None:
    try:
        statements = con.extract_statements(query)
    except duckdb.Error as exc:
        raise QueryError(_one_line(exc)) from exc
    if not statements:
        raise QueryError("empty query")
    for st in statements:
        if st.type not in _ALLOWED:
            verb = st.type.name
            raise QueryError(
                f"the store is opened read-only: {verb} statements are not allowed",
                hint="engine sql only queries; change a store with `engine ingest` (and --replace)",
            )


@dataclass
class QueryResult:
    frame: pl.DataFrame
    truncated: bool  # more rows exist than `frame` holds


def run_query(store: str, query: str, limit: int | None = None) -> QueryResult:
    """Run one read-only query; with `limit`, fetch at most that many rows (and say if more exist)."""
    con = open_readonly(store)
    try:
        check_read_only(con, query)
        try:
            rel = con.sql(query)
            if rel is None:
                return QueryResult(pl.DataFrame(), False)
            if limit is not None:
                frame = rel.limit(limit + 1).pl()
                return QueryResult(frame.head(limit), frame.height > limit)
            return QueryResult(rel.pl(), False)
        except duckdb.Error as exc:
            raise QueryError(_one_line(exc)) from exc
    finally:
        con.close()


def list_objects(store: str) -> pl.DataFrame:
    """Tables and views of the store: name, type (table | view), column, data_type, in order."""
    con = open_readonly(store)
    try:
        cols = con.sql(
            "SELECT c.table_name AS name, c.column_name AS column, c.data_type, c.ordinal_position "
            "FROM information_schema.columns c WHERE c.table_schema = 'main' AND NOT starts_with(c.table_name, '_')"
        ).pl()
    finally:
        con.close()
    from engine.store import view_names

    views = set(view_names())
    return cols.with_columns(
        pl.when(pl.col("name").is_in(list(views))).then(pl.lit("view")).otherwise(pl.lit("table")).alias("type")
    ).sort(["type", "name", "ordinal_position"]).select("name", "type", "column", "data_type")


ExportFormat = Literal["csv", "json", "parquet"]


def export_query(store: str, query: str, fmt: ExportFormat, out: str) -> int:
    """Write every row of a read-only query to `out` (temporary name, renamed when complete)."""
    target = Path(out)
    if not target.parent.is_dir():
        raise InputError("the output directory does not exist", path=str(target.parent))
    tmp = target.with_name(f".{target.name}.tmp")
    con = open_readonly(store)
    try:
        check_read_only(con, query)
        try:
            rel = con.sql(query)
            if rel is None:
                raise QueryError("the statement returns no rows to write")
            table = rel.to_arrow_table()
            if fmt == "csv":
                con.from_arrow(table).write_csv(str(tmp))
            elif fmt == "parquet":
                con.from_arrow(table).write_parquet(str(tmp), compression="zstd")
            else:
                frame = pl.from_arrow(table)
                assert isinstance(frame, pl.DataFrame)
                tmp.write_text(frame.write_json() + "\n", encoding="utf-8")
            n = table.num_rows
        except duckdb.Error as exc:
            raise QueryError(_one_line(exc)) from exc
        os.replace(tmp, target)
        return n
    finally:
        tmp.unlink(missing_ok=True)
        con.close()
