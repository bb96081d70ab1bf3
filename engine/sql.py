"""`engine sql`: read-only SQL over an evidence store.

A DuckDB store is opened with `read_only=True`. A Parquet lake gets an in-memory DuckDB
with one view per table over its Parquet files (hive partition columns `kind` and
`ingest_date` included) plus the views from sql/views/. Only queries run: any statement
other than SELECT / EXPLAIN is refused before it reaches DuckDB, with a message saying why.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import duckdb

from engine.errors import InputError, QueryError
from engine.views import create_views, store_kind, view_names

if TYPE_CHECKING:
    import polars as pl

_ALLOWED = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _open_lake(root: Path) -> duckdb.DuckDBPyConnection:
    import polars as pl

    from engine.store import ALL_SCHEMAS

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
    columns: list[str]
    types: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool  # more rows exist than `rows` holds

    @property
    def frame(self) -> pl.DataFrame:
        import polars as pl

        return pl.DataFrame(self.rows, schema=self.columns, orient="row")


def run_query(store: str, query: str, limit: int | None = None) -> QueryResult:
    """Run one read-only query; with `limit`, fetch at most that many rows (and say if more exist)."""
    con = open_readonly(store)
    try:
        check_read_only(con, query)
        try:
            rel = con.sql(query)
            if rel is None:
                return QueryResult([], [], [], False)
            columns, types = list(rel.columns), [str(t) for t in rel.types]
            if limit is not None:
                rows = rel.limit(limit + 1).fetchall()
                return QueryResult(columns, types, rows[:limit], len(rows) > limit)
            return QueryResult(columns, types, rel.fetchall(), False)
        except duckdb.Error as exc:
            raise QueryError(_one_line(exc)) from exc
    finally:
        con.close()


def list_objects(store: str) -> list[tuple[str, str, str, str]]:
    """Tables and views of the store as (name, table | view, column, data_type), in order."""
    con = open_readonly(store)
    try:
        cols = con.execute(
            "SELECT table_name, column_name, data_type, ordinal_position FROM information_schema.columns "
            "WHERE table_schema = 'main' AND NOT starts_with(table_name, '_')"
        ).fetchall()
    finally:
        con.close()
    views = set(view_names())
    listed = [(name, "view" if name in views else "table", col, dtype, pos) for name, col, dtype, pos in cols]
    return [row[:4] for row in sorted(listed, key=lambda r: (r[1], r[0], r[4]))]


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
            if fmt == "csv":
                rel.write_csv(str(tmp))
            elif fmt == "parquet":
                rel.write_parquet(str(tmp), compression="zstd")
            else:
                names = list(rel.columns)
                records = [dict(zip(names, row, strict=True)) for row in rel.fetchall()]
                tmp.write_text(json.dumps(records, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
            n = int(rel.aggregate("count(*)").fetchall()[0][0])
        except duckdb.Error as exc:
            raise QueryError(_one_line(exc)) from exc
        os.replace(tmp, target)
        return n
    finally:
        tmp.unlink(missing_ok=True)
        con.close()
