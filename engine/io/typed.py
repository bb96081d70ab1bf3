"""The typed reader: pyarrow's JSON reader with a DECLARED schema, over runs of candidate lines.

Never inference (it silently drops keys that first appear late). The reader parses a run of
JSON values separated by white space, newlines included, so a value could span lines; a row
is a line only because every line it sees starts with `{` and ends with `}` and neighbours
are separated by JSON white space holding a newline. Then a value cannot run past the end of
its line (that `}` would close a nested value or sit in a string, and what follows is a
newline then `{`: a syntax error either way), so a parse with one row per line maps row i to
line i. Lines it cannot type are isolated and returned as `bad` (the caller hands them to
Python's json and jsonschema, which decide exactly), so sending a good line there too costs
time, never correctness.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.json as pj

PARSE_THREADS = 2  # a block parses as this many runs at once (the reader releases the GIL)
MIN_SPLIT_LINES = 4096  # smaller blocks parse as one run
_ERROR_ROW = re.compile(r" in row (\d+)")
_POOL: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=PARSE_THREADS, thread_name_prefix="engine-parse")
    return _POOL


def _view_type(typ: pa.DataType) -> pa.DataType:
    if pa.types.is_string(typ):
        return pa.string_view()
    if pa.types.is_list(typ):
        return pa.list_(_view_type(typ.value_type))
    if pa.types.is_struct(typ):
        return pa.struct([f.with_type(_view_type(f.type)) for f in typ])
    return typ


@lru_cache(maxsize=32)
def read_schema(schema: pa.Schema) -> pa.Schema:
    """The declared schema with string_view for strings: the same type checks, and Polars takes
    string views as they are instead of converting every string."""
    return pa.schema([f.with_type(_view_type(f.type)) for f in schema])


@dataclass(frozen=True)
class Run:
    """Lines `data[starts[i]:ends[i]]`, neighbours separated by JSON white space with a newline;
    `index[i]` says which candidate of the block line i is."""

    data: bytes | bytearray
    starts: np.ndarray
    ends: np.ndarray
    index: np.ndarray

    def __len__(self) -> int:
        return len(self.starts)

    def buffer(self) -> pa.Buffer:
        first = int(self.starts[0])
        return pa.py_buffer(self.data).slice(first, int(self.ends[-1]) - first)

    def part(self, lo: int, hi: int) -> Run:
        return Run(self.data, self.starts[lo:hi], self.ends[lo:hi], self.index[lo:hi])

    def subset(self, keep: np.ndarray) -> Run:
        """The lines at positions `keep`, copied into a new buffer (one newline between)."""
        s, e = self.starts[keep], self.ends[keep]
        lengths = e - s
        data = b"\n".join(self.data[a:b] for a, b in zip(s.tolist(), e.tolist(), strict=True))
        starts = np.zeros(len(keep), dtype=np.int64)
        if len(keep) > 1:
            np.cumsum(lengths[:-1] + 1, out=starts[1:])
        return Run(data, starts, starts + lengths, self.index[keep])


def _read(run: Run, schema: pa.Schema) -> tuple[pa.Table | None, int | None]:
    """(table, None) when every line is one object of the declared types, else (None, the row
    of the first error when the reader names one: a type or syntax error, not a conversion)."""
    buf = run.buffer()
    try:
        table = pj.read_json(
            pa.BufferReader(buf),
            # one reader block for the whole run, so an error's row counts from its start
            read_options=pj.ReadOptions(use_threads=False, block_size=max(1 << 20, buf.size + 1)),
            parse_options=pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore"),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, UnicodeDecodeError) as exc:
        found = _ERROR_ROW.search(str(exc))
        row = int(found.group(1)) if found else None
        return None, row if row is not None and row < len(run) else None
    # Two objects on one line parse as two rows; a count mismatch means some line is not one object.
    return (table, None) if table.num_rows == len(run) else (None, None)


def _scan(run: Run, row: int, schema: pa.Schema) -> tuple[list[Run], list[tuple[np.ndarray, pa.Table]], np.ndarray]:
    """After an error at `row`: take each reported row as bad and go on with the rest (each try
    stops at its first error, so this costs about one parse of the run). Returns the runs still
    to parse, pieces already typed, and the positions of the bad rows."""
    flagged = []
    pos = 0
    todo: list[Run] = []
    pieces: list[tuple[np.ndarray, pa.Table]] = []
    while True:
        flagged.append(pos + row)
        pos += row + 1
        if pos >= len(run):
            break
        rest = run.part(pos, len(run))
        table, hint = _read(rest, schema)
        if table is not None:
            pieces.append((rest.index, table))
            break
        if hint is None:  # no row to go by (a conversion error, or a line with two objects)
            todo.append(rest)
            break
        row = hint
    bad = np.asarray(flagged, dtype=np.int64)
    before = np.setdiff1d(np.arange(min(pos, len(run))), bad)
    if len(before):  # rows before each error parsed, but their values are not converted yet
        rest = run.subset(before)
        suspects = _suspects(rest, schema)  # a bad block: likely conversion errors too, skip a failing parse
        if len(suspects):
            bad = np.concatenate([bad, before[suspects]])
            rest = rest.subset(np.setdiff1d(np.arange(len(rest)), suspects))
        if len(rest):
            todo.append(rest)
    return todo, pieces, run.index[bad]


def _int_names(typ: pa.DataType, out: set[str]) -> None:
    if pa.types.is_list(typ):
        _int_names(typ.value_type, out)
    elif pa.types.is_struct(typ):
        for f in typ:
            if pa.types.is_int64(f.type):
                out.add(f.name)
            _int_names(f.type, out)


@lru_cache(maxsize=32)
def _suspect_pattern(schema: pa.Schema) -> str:
    """Lines a parse fails on without naming a row: a number an int64 column cannot convert
    (`1.0`, `1e3`, 19+ digits) after the name of an integer field, or two objects on one line."""
    names: set[str] = set()
    _int_names(pa.struct(list(schema)), names)
    two_objects = r"\}\s*\{"
    if not names:
        return two_objects
    alternatives = "|".join(re.escape(n) for n in sorted(names))
    return rf'"(?:{alternatives})"\s*:\s*-?(?:\d+[.eE]|\d{{19}})|{two_objects}'


def _suspects(run: Run, schema: pa.Schema) -> np.ndarray:
    import polars as pl

    from engine.io.views import string_views

    text = pl.Series(string_views(run.data, run.starts, run.ends), dtype=pl.String)
    return np.flatnonzero(text.str.contains(_suspect_pattern(schema)).fill_null(True).to_numpy())


def isolate(run: Run, schema: pa.Schema) -> tuple[list[tuple[np.ndarray, pa.Table]], list[np.ndarray]]:
    """Typed pieces (candidate indices, table) covering every line the reader accepts, and the
    indices of the others."""
    pieces: list[tuple[np.ndarray, pa.Table]] = []
    bad: list[np.ndarray] = []
    todo = [run]
    while todo:
        cur = todo.pop()
        table, row = _read(cur, schema)
        if table is not None:
            pieces.append((cur.index, table))
        elif len(cur) == 1:
            bad.append(cur.index)
        elif row is not None:
            more, typed, flagged = _scan(cur, row, schema)
            todo.extend(more)
            pieces.extend(typed)
            bad.append(flagged)
        else:  # no row named: send the suspect lines to the exact path, else halve
            suspects = _suspects(cur, schema)
            if 0 < len(suspects) < len(cur):
                bad.append(cur.index[suspects])
                todo.append(cur.subset(np.setdiff1d(np.arange(len(cur)), suspects)))
                continue
            mid = len(cur) // 2
            todo.extend([cur.part(mid, len(cur)), cur.part(0, mid)])
    return pieces, bad


def read_typed(run: Run, schema: pa.Schema, threads: int = PARSE_THREADS) -> tuple[pa.Table, np.ndarray, np.ndarray]:
    """(table, index of each table row, indices of lines the reader could not type); rows in
    candidate order. A large run parses in `threads` parts at once."""
    schema = read_schema(schema)
    n = len(run)
    ways = max(1, min(threads, PARSE_THREADS)) if n >= MIN_SPLIT_LINES else 1
    cuts = [n * k // ways for k in range(ways + 1)]
    parts = [run.part(a, b) for a, b in zip(cuts[:-1], cuts[1:], strict=True) if b > a]
    if len(parts) > 1:
        results = list(_pool().map(lambda p: isolate(p, schema), parts))
    else:
        results = [isolate(p, schema) for p in parts]
    pieces = sorted((p for r in results for p in r[0]), key=lambda p: int(p[0][0]))
    bad = np.concatenate([b for r in results for b in r[1]] or [np.zeros(0, dtype=np.int64)])
    if not pieces:
        return schema.empty_table(), np.zeros(0, dtype=np.int64), bad
    table = pa.concat_tables([t for _, t in pieces])
    index = np.concatenate([i for i, _ in pieces])
    if len(index) > 1 and not (np.diff(index) > 0).all():  # (pieces never interleave; cheap insurance)
        order = np.argsort(index, kind="stable")
        table, index = table.take(pa.array(order)), index[order]
    return table, index, np.sort(bad)
