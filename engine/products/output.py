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
            frame.write_ndjson(tmp)


def write_lines(lines: pl.Series, out: Path | None) -> None:
    """Pre-built JSON text lines → stdout or `out` (atomically).

    Written by Polars' CSV writer with quoting off and no header: one column of JSON text (which never
    holds a raw newline) comes out verbatim, one line per value, without a round trip through Python."""
    frame = pl.DataFrame({"line": lines})
    if out is None:
        for off in range(0, frame.height, _CHUNK):
            sys.stdout.write(frame.slice(off, _CHUNK).write_csv(include_header=False, quote_style="never"))
        sys.stdout.flush()
        return
    from engine.export.writers import atomic_path

    with atomic_path(out) as tmp:
        frame.write_csv(tmp, include_header=False, quote_style="never")
