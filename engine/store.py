"""The evidence store: one DuckDB file, or a Hive-partitioned Parquet lake.

Both hold the same tables (engine.normalize.tables) and the `sources` log that makes ingest
idempotent: a source whose content digest is already there is skipped, unless `replace`.
A DuckDB store ingests each source in one transaction, so an interrupted run leaves no half
source behind; a lake writes each file under a temporary name and renames it when complete.
Lake layout: `<store>/<table>/kind=<kind>/ingest_date=<YYYY-MM-DD>/part-<digest>-<batch>.parquet`
(`sources` is partitioned by ingest date only). The partition keys are not repeated in the files.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import duckdb
import polars as pl

from engine.errors import InputError
from engine.normalize import TABLE_SCHEMAS
from engine.policy import DIMENSIONS
from engine.views import StoreKind, create_views, store_kind

SOURCES_SCHEMA: dict[str, pl.DataType] = {
    "source": pl.String(), "digest": pl.String(), "ingested_at": pl.String(), "ingest_date": pl.String(),
    "n_records": pl.Int64(), "n_stored": pl.Int64(), "n_quarantined": pl.Int64(),
}

# Placeholders until the first validation / admission frame arrives; their real columns are
# added as they come (a store never loses a column a newer engine writes).
RESULT_SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "validation": {
        "record_key": pl.Int64(), "source": pl.String(), "line": pl.Int64(), "kind": pl.String(),
        "run_id": pl.String(), "structural": pl.String(), "semantic": pl.String(),
        "authenticity": pl.String(), "chain": pl.String(), "valid": pl.Boolean(), "error": pl.String(),
    },
    "admission": {
        "record_key": pl.Int64(), "source": pl.String(), "line": pl.Int64(), "run_id": pl.String(),
        "trace_id": pl.String(), "schema_version": pl.String(), "structural_valid": pl.Boolean(),
        "score": pl.Float64(), "category": pl.String(), "admitted": pl.Boolean(), "reasons": pl.List(pl.String()),
        **{f"dim_{d}": pl.Float64() for d in DIMENSIONS}, "model_id": pl.String(),
    },
}

ALL_SCHEMAS: dict[str, dict[str, pl.DataType]] = {**TABLE_SCHEMAS, **RESULT_SCHEMAS, "sources": SOURCES_SCHEMA}


class Store(Protocol):
    kind: StoreKind

    def known_sources(self) -> pl.DataFrame: ...
    def drop_sources(self, sources: list[str], digests: list[str]) -> None: ...
    def begin(self, digest: str, source: str) -> None: ...
    def write(self, table: str, frame: pl.DataFrame, kind: str) -> None: ...
    def write_many(self, items: list[tuple[str, pl.DataFrame, str]]) -> None: ...
    def commit(self, source_row: dict[str, object]) -> None: ...
    def rollback(self) -> None: ...
    def close(self) -> None: ...


def _typed_empty(schema: dict[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame(schema=schema)


class DuckStore:
    """A DuckDB file. Each batch commits on its own (one huge transaction per source would hold
    the whole source in memory); a source counts as ingested only once its `sources` row is
    committed, and `_ingest_pending` names the source being written so that the rows of an
    interrupted ingest are removed the next time the store is opened."""

    kind: StoreKind = "duckdb"

    def __init__(self, path: str) -> None:
        parent = Path(path).resolve().parent
        if not parent.is_dir():
            raise InputError("the store's directory does not exist", path=str(parent))
        try:
            self.con = duckdb.connect(path)
        except duckdb.Error as exc:
            raise InputError(f"cannot open the store: {exc}", path=path) from exc
        # Ingest appends from one worker thread while the reader parses on the other core; a
        # second DuckDB thread only competes with it (1M AEP: ~25% less CPU in the appends).
        self.con.execute("SET threads = 1")
        self.source = ""
        for table, schema in ALL_SCHEMAS.items():
            self.con.register("_empty", _typed_empty(schema).to_arrow())
            self.con.execute(f"CREATE TABLE IF NOT EXISTS {table} AS SELECT * FROM _empty")
            self.con.unregister("_empty")
        self.con.execute("CREATE TABLE IF NOT EXISTS _ingest_pending (source VARCHAR)")
        create_views(self.con)
        interrupted = [r[0] for r in self.con.execute("SELECT source FROM _ingest_pending").fetchall()]
        if interrupted:
            self._delete(interrupted, with_sources=False)

    def _delete(self, sources: list[str], *, with_sources: bool) -> None:
        self.con.execute("BEGIN TRANSACTION")
        for table in ALL_SCHEMAS:
            if table != "sources" or with_sources:
                self.con.execute(f"DELETE FROM {table} WHERE list_contains($s, source)", {"s": sources})
        self.con.execute("DELETE FROM _ingest_pending WHERE list_contains($s, source)", {"s": sources})
        self.con.execute("COMMIT")

    def known_sources(self) -> pl.DataFrame:
        return self.con.sql("SELECT source, digest FROM sources").pl()

    def drop_sources(self, sources: list[str], digests: list[str]) -> None:
        """Delete every row of these sources (and of any source with one of these digests)."""
        names = self.con.execute(
            "SELECT DISTINCT source FROM sources WHERE list_contains($d, digest) OR list_contains($s, source)",
            {"d": digests, "s": sources},
        ).fetchall()
        self._delete(sorted({n[0] for n in names} | set(sources)), with_sources=True)

    def begin(self, digest: str, source: str) -> None:
        self.source = source
        self.con.execute("INSERT INTO _ingest_pending VALUES ($s)", {"s": source})

    def _add_missing_columns(self, table: str, frame: pl.DataFrame) -> None:
        have = {r[0] for r in self.con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = $t", {"t": table}).fetchall()}
        for name in frame.columns:
            if name not in have:
                self.con.register("_probe", frame.head(0).select(name).to_arrow())
                sql_type = self.con.sql("SELECT * FROM _probe").types[0]
                self.con.unregister("_probe")
                self.con.execute(f'ALTER TABLE {table} ADD COLUMN "{name}" {sql_type}')

    def write(self, table: str, frame: pl.DataFrame, kind: str) -> None:
        self.write_many([(table, frame, kind)])

    def write_many(self, items: list[tuple[str, pl.DataFrame, str]]) -> None:
        """Insert several tables' rows in one transaction (Arrow scans, never row inserts)."""
        items = [(t, f, k) for t, f, k in items if f.height]
        for table, frame, _ in items:
            if table in RESULT_SCHEMAS:
                self._add_missing_columns(table, frame)
        self.con.execute("BEGIN TRANSACTION")
        try:
            for table, frame, _ in items:
                # Arrow string views are Polars' own string layout: no copy of every string into
                # a large_string buffer before DuckDB copies them again (~8% of the append CPU)
                self.con.register("_batch", frame.to_arrow(compat_level=pl.CompatLevel.newest()))
                try:
                    self.con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _batch")
                finally:
                    self.con.unregister("_batch")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    def commit(self, source_row: dict[str, object]) -> None:
        self.con.execute("BEGIN TRANSACTION")
        self.con.register("_batch", pl.DataFrame([source_row], schema=SOURCES_SCHEMA).to_arrow())
        self.con.execute("INSERT INTO sources BY NAME SELECT * FROM _batch")
        self.con.unregister("_batch")
        self.con.execute("DELETE FROM _ingest_pending WHERE source = $s", {"s": self.source})
        self.con.execute("COMMIT")

    def rollback(self) -> None:
        if self.source:
            self._delete([self.source], with_sources=False)

    def close(self) -> None:
        self.con.execute("CHECKPOINT")
        self.con.close()


@dataclass
class _Pending:
    tmp: Path
    final: Path


class LakeStore:
    kind: StoreKind = "lake"

    def __init__(self, path: str, ingest_date: str) -> None:
        self.root = Path(path)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create the lake directory: {exc.strerror}", path=path) from exc
        self.ingest_date = ingest_date
        self.digest = ""
        self.batch = 0
        self.pending: list[_Pending] = []
        self.doomed: list[Path] = []

    def known_sources(self) -> pl.DataFrame:
        files = sorted((self.root / "sources").glob("*/*.parquet"))
        if not files:
            return pl.DataFrame(schema={"source": pl.String(), "digest": pl.String()})
        return pl.concat([pl.read_parquet(f, columns=["source", "digest"]) for f in files])

    def drop_sources(self, sources: list[str], digests: list[str]) -> None:
        """Mark the files of these sources for deletion when the replacing ingest commits."""
        known = self.known_sources()
        victims = set(digests) | set(known.filter(pl.col("source").is_in(sources))["digest"].to_list())
        self.doomed = sorted(f for d in victims for f in self.root.glob(f"*/**/part-{d[:16]}-*.parquet"))

    def begin(self, digest: str, source: str) -> None:
        # `doomed` (set by drop_sources just before) survives until commit or rollback
        self.digest, self.batch, self.pending = digest, 0, []

    def write_many(self, items: list[tuple[str, pl.DataFrame, str]]) -> None:
        for table, frame, kind in items:
            self.write(table, frame, kind)

    def _target(self, table: str, kind: str) -> Path:
        part = self.root / table
        if table != "sources":
            part = part / f"kind={kind or 'unknown'}"
        return part / f"ingest_date={self.ingest_date}"

    def write(self, table: str, frame: pl.DataFrame, kind: str) -> None:
        if frame.height == 0:
            return
        # The partition keys live in the path; a `kind` column would clash with the hive column.
        frames = (
            frame.partition_by("kind", as_dict=True, include_key=False)
            if "kind" in frame.columns else {(kind,): frame}
        )
        for (part_kind,), part in sorted(frames.items(), key=lambda kv: str(kv[0])):
            target = self._target(table, str(part_kind))
            target.mkdir(parents=True, exist_ok=True)
            self.batch += 1
            final = target / f"part-{self.digest[:16]}-{self.batch:05d}.parquet"
            tmp = final.with_name("." + final.name + ".tmp")
            part.drop("ingest_date", strict=False).write_parquet(tmp, compression="zstd", statistics=True)
            self.pending.append(_Pending(tmp, final))

    def commit(self, source_row: dict[str, object]) -> None:
        self.write("sources", pl.DataFrame([source_row], schema=SOURCES_SCHEMA), "")
        for f in self.doomed:
            f.unlink(missing_ok=True)
        self.doomed = []
        # The sources entry is renamed last: a crash before it leaves only hidden temp files.
        for p in self.pending:
            os.replace(p.tmp, p.final)
        self.pending = []

    def rollback(self) -> None:
        for p in self.pending:
            p.tmp.unlink(missing_ok=True)
        self.pending, self.doomed = [], []

    def close(self) -> None:
        self.rollback()


def open_store(store: str, ingest_date: str | None = None) -> DuckStore | LakeStore:
    if store_kind(store) == "lake":
        return LakeStore(store, ingest_date or dt.datetime.now(dt.UTC).date().isoformat())
    return DuckStore(store)
