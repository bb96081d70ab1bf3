"""One in-memory DuckDB database for the normalisers' JSON work, opened once per process.

Opening a database per batch starts a new DuckDB thread pool each time (a 1M-record ingest
opened ~70 of them, each with its own threads competing for two cores). The database holds no
tables; every call gets its own cursor, so threads never share a connection's state.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

_LOCK = threading.Lock()
_DB: list[duckdb.DuckDBPyConnection] = []


def scratch_cursor() -> duckdb.DuckDBPyConnection:
    """A fresh cursor on the shared in-memory database (one DuckDB thread: the callers run
    beside the reader's threads, and a second DuckDB thread only adds contention)."""
    import duckdb

    with _LOCK:
        if not _DB:
            con = duckdb.connect(config={"threads": 1})
            con.execute("SET enable_progress_bar = false")
            _DB.append(con)
        return _DB[0].cursor()
