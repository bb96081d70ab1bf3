"""Reading export inputs: one Arrow table of records (rid, source, line, raw) plus a quarantine.

Plain JSON-lines files, the bulk case, are split in place: newline offsets found with numpy become the
offsets of an Arrow string array over the file's own bytes, so 1 GB of rollouts is not copied line by
line. Lines keep their trailing newline (JSON parsers ignore it). Blank lines and `#` lines are skipped,
lines that do not start with `{` are quarantined; invalid JSON is caught at decode time. Every other
container (.json, .gz, .zst, .parquet, invalid UTF-8) goes through the shared reader `engine.io.load_records`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

from engine.errors import InputError

QUARANTINE_SCHEMA = {"source": pl.String, "line": pl.Int64, "excerpt": pl.String, "reason": pl.String}
RECORD_SCHEMA = pa.schema([("source", pa.large_string()), ("line", pa.int64()), ("raw", pa.large_string())])
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class Inputs:
    """Records read from the input files, the lines that could not be read, and each file's digest."""

    records: pa.Table  # rid (int64, 0..n-1), source, line, raw
    quarantine: pl.DataFrame  # source, line, excerpt, reason
    digests: dict[str, str]  # path -> sha256 of the file bytes

    @property
    def height(self) -> int:
        return self.records.num_rows


def _sha256(data: np.ndarray | bytes) -> str:
    return hashlib.sha256(memoryview(data)).hexdigest()  # type: ignore[arg-type]  # GIL released on big buffers


def _expand(paths: Sequence[str]) -> list[str]:
    from engine.io.sources import expand_paths

    return [s.path for s in expand_paths(list(paths))]


def _is_plain_jsonl(path: str) -> bool:
    from engine.io.sources import classify

    return classify(path) == ("jsonl", "none") or Path(path).suffix.lower() not in (".json", ".parquet", ".gz",
                                                                                   ".zst")


def _split_lines(path: str, pool: ThreadPoolExecutor,
                 digests: dict[str, Future[str]]) -> tuple[pa.Table, pl.DataFrame] | None:
    try:
        size = Path(path).stat().st_size
        # mapped, not copied: Arrow's string array points straight into the file's pages
        data = np.memmap(path, dtype=np.uint8, mode="r") if size else np.zeros(0, dtype=np.uint8)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read: {getattr(exc, 'strerror', None) or exc}", path=path) from exc
    digests[path] = pool.submit(_sha256, data)
    start = 3 if data[:3].tobytes() == _BOM else 0
    nl = np.flatnonzero(data == 10)
    starts = np.concatenate([np.array([start], dtype=np.int64), nl.astype(np.int64) + 1])
    ends = np.concatenate([nl.astype(np.int64), np.array([data.size], dtype=np.int64)])
    if starts[-1] >= data.size:  # file ends with a newline: no last line
        starts, ends = starts[:-1], ends[:-1]
    n = starts.size
    # line i spans starts[i]..starts[i+1] (its newline included), the last one runs to the end of the file
    offsets = np.concatenate([starts, np.array([data.size], dtype=np.int64)])
    raw = pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))
    try:
        raw.validate(full=True)
    except pa.ArrowInvalid:
        return None  # not UTF-8 somewhere: the shared reader quarantines the bad lines precisely
    first = np.where(starts < ends, data[np.minimum(starts, data.size - 1)], 10) if data.size else np.array([], np.uint8)
    ws = np.isin(first, np.frombuffer(b" \t\r\n", dtype=np.uint8))
    lead = first.copy()
    for i in np.flatnonzero(ws):  # rare: lines that start with whitespace
        stripped = bytes(data[starts[i]:ends[i]]).lstrip()
        lead[i] = stripped[0] if stripped else 10
    blank = lead == 10
    comment = lead == ord("#")
    obj = lead == ord("{")
    bad = ~(blank | comment | obj)
    lines = np.arange(1, n + 1, dtype=np.int64)
    quarantine = pl.DataFrame({
        "source": [path] * int(bad.sum()),
        "line": lines[bad],
        "excerpt": [bytes(data[starts[i]:min(ends[i], starts[i] + 200)]).decode("utf-8", "replace").strip()
                    for i in np.flatnonzero(bad)],
        "reason": ["not a JSON object"] * int(bad.sum()),
    }, schema=QUARANTINE_SCHEMA)
    table = pa.table({"source": pa.repeat(pa.scalar(path, type=pa.large_string()), n),
                      "line": pa.array(lines), "raw": raw}, schema=RECORD_SCHEMA)
    if not obj.all():
        table = table.filter(pa.array(obj))
    return table, quarantine


def _shared_reader(path: str, kind: str | None) -> tuple[pa.Table, pl.DataFrame]:
    from engine.io import load_records

    loaded = load_records([path], kind=kind)
    recs = loaded.records.select("source", "line", "raw").to_arrow(compat_level=pl.CompatLevel.oldest())
    recs = recs.cast(RECORD_SCHEMA)
    q = loaded.quarantine.select(list(QUARANTINE_SCHEMA)).cast(QUARANTINE_SCHEMA)  # type: ignore[arg-type]
    return recs, q


def read_inputs(paths: Sequence[str], *, kind: str | None = None) -> Inputs:
    """Load records from files, directories or globs; raise InputError on unusable input."""
    files = _expand(paths)
    tables: list[pa.Table] = []
    quarantines: list[pl.DataFrame] = []
    futures: dict[str, Future[str]] = {}
    with ThreadPoolExecutor(max_workers=1) as pool:
        for f in files:
            got = _split_lines(f, pool, futures) if _is_plain_jsonl(f) else None
            if got is None:
                got = _shared_reader(f, kind)
                if f not in futures:
                    futures[f] = pool.submit(_sha256, Path(f).read_bytes())
            tables.append(got[0])
            quarantines.append(got[1])
        digests = {p: fut.result() for p, fut in futures.items()}
    table = pa.concat_tables(tables) if tables else RECORD_SCHEMA.empty_table()
    table = table.add_column(0, "rid", pa.array(np.arange(table.num_rows, dtype=np.int64)))
    quarantine = pl.concat(quarantines) if quarantines else pl.DataFrame(schema=QUARANTINE_SCHEMA)
    return Inputs(table, quarantine, digests)


def empty_inputs() -> Inputs:
    table = RECORD_SCHEMA.empty_table().add_column(0, "rid", pa.array([], type=pa.int64()))
    return Inputs(table, pl.DataFrame(schema=QUARANTINE_SCHEMA), {})
