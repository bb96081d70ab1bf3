"""Store locations and the SQL views of sql/views/ — light enough for `engine sql` to import
without Polars (its start-up time is most of a small query's wall time)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Literal

from engine.errors import InputError
from engine.paths import SQL_DIR, load_sql

if TYPE_CHECKING:
    import duckdb

StoreKind = Literal["duckdb", "lake"]


def store_kind(store: str) -> StoreKind:
    """A path ending in a separator, or an existing directory, is a lake; anything else a DuckDB file."""
    if store.endswith(("/", os.sep)) or os.path.isdir(store):
        return "lake"
    return "duckdb"


def view_names() -> list[str]:
    return sorted(p.stem for p in (SQL_DIR / "views").glob("*.sql"))


def create_views(con: duckdb.DuckDBPyConnection) -> None:
    """Every view in sql/views/, created in dependency order (a view may read another)."""
    import duckdb

    pending = view_names()
    while pending:
        failed: list[str] = []
        last_error: duckdb.Error | None = None
        for name in pending:
            try:
                con.execute(f"CREATE OR REPLACE VIEW {name} AS\n{load_sql('views/' + name)}")
            except duckdb.CatalogException as exc:
                failed.append(name)
                last_error = exc
        if len(failed) == len(pending):
            raise InputError(f"cannot create views {failed}: {last_error}")
        pending = failed
