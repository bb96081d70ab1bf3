"""Reading export inputs: one Arrow table of records (rid, source, line, raw) plus a quarantine.

Plain JSON-lines files, the bulk case, are split in place: newline offsets found with numpy become the
offsets of an Arrow string array over the file's own (mapped) bytes, so 1 GB of rollouts is not copied
line by line; `Inputs.mapped` tells where each record lies in its file (the digest child reads them
there, and the export drops decoded pages from its memory). Lines keep their trailing newline (JSON parsers ignore it). Blank lines and `#` lines are skipped,
lines that do not start with `{` are quarantined; invalid JSON is caught at decode time. Every other
container (.json, .gz, .zst, .parquet, invalid UTF-8) goes through the shared reader `engine.io.load_records`.
"""

from __future__ import annotations

import hashlib
import mmap
import os
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
_NL_BLOCK = 1 << 24


@dataclass(frozen=True)
class MappedFile:
    """A plain JSON-lines input read through a read-only mapping: record `rid0 + i` is bytes
    starts[i]..ends[i] of the file (its trailing newline included). The records' raw column points into
    the mapping (unless lines had to be filtered out, which copies the kept ones)."""

    path: str
    mapping: mmap.mmap
    rid0: int
    starts: np.ndarray
    ends: np.ndarray

    def release(self, lo: int, hi: int) -> None:
        """Drop the pages of records rid lo..hi-1 from this process's resident memory (they stay in the page
        cache and come back on the next access), once a pass over them is done."""
        a, b = max(lo - self.rid0, 0), min(hi - self.rid0, self.starts.size)
        if a >= b or not hasattr(self.mapping, "madvise"):
            return
        first = int(self.starts[a]) // mmap.PAGESIZE * mmap.PAGESIZE
        last = int(self.ends[b - 1])
        if last > first:
            self.mapping.madvise(mmap.MADV_DONTNEED, first, last - first)


@dataclass(frozen=True)
class Inputs:
    """Records read from the input files, the lines that could not be read, and each file's digest."""

    records: pa.Table  # rid (int64, 0..n-1), source, line, raw
    quarantine: pl.DataFrame  # source, line, excerpt, reason
    digests: dict[str, str]  # path -> sha256 of the file bytes
    mapped: tuple[MappedFile, ...] = ()  # the inputs whose records point into a file mapping

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


def _map(path: str) -> tuple[mmap.mmap | None, np.ndarray]:
    """The file's bytes, mapped read-only (not copied): Arrow's string array points straight into its pages."""
    try:
        with open(path, "rb") as fh:
            if os.fstat(fh.fileno()).st_size == 0:
                return None, np.zeros(0, dtype=np.uint8)
            mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read: {getattr(exc, 'strerror', None) or exc}", path=path) from exc
    return mm, np.frombuffer(mm, dtype=np.uint8)


def _newlines(data: np.ndarray) -> np.ndarray:
    """Offsets of every `\\n`, found block by block (one comparison mask over the whole file would be as big
    as the file, and is slower than blocks that stay in cache)."""
    found = [np.flatnonzero(data[off:off + _NL_BLOCK] == 10) + off for off in range(0, data.size, _NL_BLOCK)]
    return np.concatenate(found).astype(np.int64) if found else np.zeros(0, dtype=np.int64)


def _repeated(text: str, n: int) -> pa.LargeStringArray:
    """`text` n times, built from its buffers (pa.repeat of a string scalar costs 0.3 s per million)."""
    b = text.encode()
    offsets = np.arange(0, len(b) * n + 1, max(len(b), 1), dtype=np.int64) if b else np.zeros(n + 1, dtype=np.int64)
    return pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(b * n))


def _split_lines(path: str, pool: ThreadPoolExecutor, digests: dict[str, Future[str]],
                 rid0: int) -> tuple[pa.Table, pl.DataFrame, MappedFile | None] | None:
    mm, data = _map(path)
    digests[path] = pool.submit(_sha256, data)
    start = 3 if data[:3].tobytes() == _BOM else 0
    nl = _newlines(data)
    starts = np.concatenate([np.array([start], dtype=np.int64), nl + 1])
    ends = np.concatenate([nl, np.array([data.size], dtype=np.int64)])
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
    table = pa.table({"source": _repeated(path, n), "line": pa.array(lines), "raw": raw}, schema=RECORD_SCHEMA)
    r_starts, r_ends = starts, offsets[1:]
    if not obj.all():
        table = table.filter(pa.array(obj))
        r_starts, r_ends = r_starts[obj], r_ends[obj]
    mapped = MappedFile(path, mm, rid0, r_starts, r_ends) if mm is not None and table.num_rows else None
    return table, quarantine, mapped


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
    mapped: list[MappedFile] = []
    n_rows = 0
    with ThreadPoolExecutor(max_workers=1) as pool:
        for f in files:
            split = _split_lines(f, pool, futures, n_rows) if _is_plain_jsonl(f) else None
            if split is None:
                got = _shared_reader(f, kind)
                if f not in futures:
                    futures[f] = pool.submit(_sha256, Path(f).read_bytes())
            else:
                got = split[0], split[1]
                if split[2] is not None:
                    mapped.append(split[2])
            tables.append(got[0])
            quarantines.append(got[1])
            n_rows += got[0].num_rows
        digests = {p: fut.result() for p, fut in futures.items()}
    table = pa.concat_tables(tables) if tables else RECORD_SCHEMA.empty_table()
    table = table.add_column(0, "rid", pa.array(np.arange(table.num_rows, dtype=np.int64)))
    quarantine = pl.concat(quarantines) if quarantines else pl.DataFrame(schema=QUARANTINE_SCHEMA)
    return Inputs(table, quarantine, digests, tuple(mapped))


def empty_inputs() -> Inputs:
    table = RECORD_SCHEMA.empty_table().add_column(0, "rid", pa.array([], type=pa.int64()))
    return Inputs(table, pl.DataFrame(schema=QUARANTINE_SCHEMA), {})
