"""Writing a product frame: JSON lines (or Parquet by suffix) to a file atomically, or JSON lines to stdout."""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl

_CHUNK = 200_000


def write_rows(frame: pl.DataFrame, out: Path | None) -> None:
    """`out` None → JSON lines on stdout; `*.parquet` → zstd Parquet; anything else → JSON lines."""
    if out is None:
        for off in range(0, frame.height, _CHUNK):
            sys.stdout.write(frame.slice(off, _CHUNK).write_ndjson())
        sys.stdout.flush()
        return
    from engine.export.writers import atomic_path

    with atomic_path(out) as tmp:
        if out.suffix.lower() == ".parquet":
            frame.write_parquet(tmp, compression="zstd")
        else:
            with tmp.open("wb") as fh:
                for off in range(0, frame.height, _CHUNK):
                    fh.write(frame.slice(off, _CHUNK).write_ndjson().encode())


def write_lines(lines: pl.Series, out: Path | None) -> None:
    """Pre-built JSON text lines → stdout or `out` (atomically), joined chunk by chunk in Polars."""
    if out is None:
        for off in range(0, lines.len(), _CHUNK):
            sys.stdout.write(pl.select(lines.slice(off, _CHUNK).str.join("\n")).item() + "\n")
        sys.stdout.flush()
        return
    from engine.export.writers import atomic_path

    with atomic_path(out) as tmp, tmp.open("wb") as fh:
        for off in range(0, lines.len(), _CHUNK):
            fh.write((pl.select(lines.slice(off, _CHUNK).str.join("\n")).item() + "\n").encode())
