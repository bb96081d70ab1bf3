"""Writing training frames: JSONL or Parquet (zstd, bounded row groups), atomically and deterministically.

Every file is written under a temporary name in its final directory, flushed and fsynced, then renamed,
so a killed run leaves either no file or a complete one under the final name, never a partial one.
Same frame in, same bytes out: rows keep their order, Parquet carries no timestamps, JSON keys keep the
frame's column order.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

import polars as pl

Format = Literal["jsonl", "parquet"]
ROW_GROUP_BYTES = 128 * 1024 * 1024
MAX_ROW_GROUP_ROWS = 100_000
BATCH_ROWS = 50_000
Progress = Callable[[int], None]


@dataclass(frozen=True)
class WrittenFile:
    path: str  # relative to the output directory, `/`-separated
    config: str
    rows: int
    bytes: int
    sha256: str

    def to_dict(self) -> dict[str, object]:
        return {"path": self.path, "config": self.config, "rows": self.rows, "bytes": self.bytes,
                "sha256": self.sha256}


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


@contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """Yield a temporary path beside `final`; rename it to `final` only if the block completes."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}")
    try:
        yield tmp
        with tmp.open("rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_bytes_atomic(final: Path, data: bytes) -> None:
    with atomic_path(final) as tmp:
        tmp.write_bytes(data)


def rows_per_group(frame: pl.DataFrame) -> int:
    if frame.height == 0:
        return 1
    per_row = max(1, frame.estimated_size() // frame.height)
    return int(max(1, min(MAX_ROW_GROUP_ROWS, ROW_GROUP_BYTES // per_row)))


def _write_parquet(frame: pl.DataFrame, path: Path, progress: Progress | None) -> None:
    # Polars' own writer: no Arrow conversion on the way, and measured ~40% cheaper than pyarrow here
    frame.write_parquet(path, compression="zstd", compression_level=3, statistics=True,
                        row_group_size=rows_per_group(frame))
    if progress:
        progress(frame.height)


def _write_jsonl(frame: pl.DataFrame, fh: IO[bytes], progress: Progress | None) -> None:
    for off in range(0, frame.height, BATCH_ROWS):
        part = frame.slice(off, BATCH_ROWS)
        fh.write(part.write_ndjson().encode())
        if progress:
            progress(part.height)


def write_frame(frame: pl.DataFrame, out_dir: Path, rel: str, *, fmt: Format, config: str,
                progress: Progress | None = None) -> WrittenFile:
    """Write `frame` to out_dir/rel atomically; return its row count, size and SHA-256."""
    final = out_dir / rel
    with atomic_path(final) as tmp:
        if fmt == "parquet":
            _write_parquet(frame, tmp, progress)
        else:
            with tmp.open("wb") as fh:
                _write_jsonl(frame, fh, progress)
    return WrittenFile(rel, config, frame.height, final.stat().st_size, file_sha256(final))


def canonical_json_bytes(obj: object, *, indent: int | None = 2) -> bytes:
    """Stable JSON for manifests and reports: sorted keys, UTF-8, trailing newline."""
    text = json.dumps(obj, sort_keys=True, ensure_ascii=False, indent=indent, allow_nan=False)
    return (text + "\n").encode()


class Sink:
    """A training file written in batches: Parquet row groups or JSON lines appended to a temporary file,
    renamed to its final name by `close()` (so a killed run leaves no partial final file)."""

    def __init__(self, out_dir: Path, rel: str, *, fmt: Format, config: str) -> None:
        self.out_dir, self.rel, self.fmt, self.config = out_dir, rel, fmt, config
        self.final = out_dir / rel
        self.final.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = self.final.with_name(f".{self.final.name}.tmp-{os.getpid()}")
        self.rows = 0
        self._pq: Any = None
        self._fh: IO[bytes] | None = None if fmt == "parquet" else self.tmp.open("wb")
        self._empty: pl.DataFrame | None = None

    def write(self, frame: pl.DataFrame) -> None:
        if self._empty is None:
            self._empty = frame.head(0)
        if frame.height == 0:
            return
        if self.fmt == "parquet":
            import pyarrow.parquet as pq

            table = frame.to_arrow(compat_level=pl.CompatLevel.oldest())
            if self._pq is None:
                self._pq = pq.ParquetWriter(self.tmp, table.schema, compression="zstd", compression_level=3)
            self._pq.write_table(table, row_group_size=rows_per_group(frame))
        else:
            assert self._fh is not None
            _write_jsonl(frame, self._fh, None)
        self.rows += frame.height

    def close(self) -> WrittenFile:
        if self.fmt == "parquet":
            if self._pq is None:  # nothing written: an empty file with the right columns
                (self._empty if self._empty is not None else pl.DataFrame()).write_parquet(self.tmp, compression="zstd")
            else:
                self._pq.close()
        else:
            assert self._fh is not None
            self._fh.close()
        with self.tmp.open("rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(self.tmp, self.final)
        return WrittenFile(self.rel, self.config, self.rows, self.final.stat().st_size, file_sha256(self.final))

    def abort(self) -> None:
        if self._fh is not None and not self._fh.closed:
            self._fh.close()
        if self._pq is not None:
            try:
                self._pq.close()
            except Exception:  # the file is discarded anyway
                pass
        if self.tmp.exists():
            self.tmp.unlink()
