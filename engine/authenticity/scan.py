"""Worker side of `engine verify` on plain JSON-lines files: verify one byte range of a file.

The main process cuts a file at line starts into ranges (ranges.plan_ranges); each worker maps its
range itself, walks its lines exactly as engine.io does (ranges.Lines), parses each line once
(orjson) and decides it with `dsse.verify_and_digest`, the general per-record path. What travels
back is small: per record its line index, run_id, prev_record_hash, chain hash and verdict.
The records themselves never cross a process boundary, so the main process is no bottleneck.

A line is decided here only when the general reader would certainly read it as a record whose
run_id / prev_record_hash columns are the values orjson parsed (engine.io keeps every line that
Python's json reads as an object, a superset of orjson's objects; polars' json_path_match returns
the same strings). Everything else (not an orjson object, a possible run receipt, a run_id or
prev_record_hash that is not a string, a non-ASCII link) goes back as text to the general path
of the main process, which gives it the quarantine reason, receipt check or verdict it gives today.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from typing import Any

import orjson

from engine.authenticity.canonical import record_hash, risky_numbers
from engine.authenticity.dsse import verify_and_digest
from engine.authenticity.ed25519 import Verifiers
from engine.authenticity.keys import KeyRing
from engine.authenticity.ranges import Lines, mapped_range

_RECEIPT = "receipt_version"  # a record with this key may be a receipt: verify._split_receipts decides


@dataclass
class RangeResult:
    """Verdicts of one range. Indices are 0-based line offsets from the range start."""

    newlines: int  # LF bytes in the range: the next range's first line number is this much later
    index: list[int] = field(default_factory=list)
    run_id: list[str | None] = field(default_factory=list)
    prev: list[str | None] = field(default_factory=list)
    hash: list[str | None] = field(default_factory=list)
    verdict: list[str] = field(default_factory=list)
    reason: list[str | None] = field(default_factory=list)
    rest: list[tuple[int, bytes]] = field(default_factory=list)  # (index, stripped line): general path
    frame: Any = None  # the decided rows as a polars frame (`columns()`), built where they were decided

    def columns(self) -> Any:
        """index, run_id, prev, hash, authenticity, authenticity_reason of the decided records.

        Built in the worker: a pickled frame crosses the pipe as a few Arrow buffers, cheaper
        than six lists of Python objects, and the main process only adds source and line.
        """
        import polars as pl

        return pl.DataFrame({
            "index": pl.Series(self.index, dtype=pl.Int64),
            "run_id": pl.Series(self.run_id, dtype=pl.String),
            "prev": pl.Series(self.prev, dtype=pl.String),
            "hash": pl.Series(self.hash, dtype=pl.String),
            "authenticity": pl.Series(self.verdict, dtype=pl.String),
            "authenticity_reason": pl.Series(self.reason, dtype=pl.String),
        })


def warm_up() -> None:
    """Imports a worker needs for its first range (run while the main process is still reading)."""
    import polars  # noqa: F401


def scan_range(path: str, start: int, end: int, keys: KeyRing, legacy: bool = False,
               backend: str | None = None) -> RangeResult:
    """Verify the records of bytes [start, end) of `path` (start is a line start)."""
    with mapped_range(path, start, end) as (data, pos):
        lines = Lines(data, pos, start == 0)
        res, pending = _scan(lines, keys, Verifiers(backend), legacy)
        res.newlines = lines.newlines
    if pending:
        _settle_float_hashes(res, pending)
    frame = res.columns()
    return RangeResult(newlines=res.newlines, rest=res.rest, frame=frame)


def _scan(lines: Lines, keys: KeyRing, verifiers: Verifiers,
          legacy: bool) -> tuple[RangeResult, list[tuple[int, bytes]]]:
    res = RangeResult(newlines=0)
    pending: list[tuple[int, bytes]] = []  # (row, sorted dump) whose chain hash waits for the float check
    index, run_ids, prevs, hashes = res.index.append, res.run_id.append, res.prev.append, res.hash.append
    verdicts, reasons, rest, defer = res.verdict.append, res.reason.append, res.rest.append, pending.append
    loads, decode_error = orjson.loads, orjson.JSONDecodeError
    was_enabled = gc.isenabled()
    gc.disable()  # parsed records hold no reference cycles
    try:
        for i, text in lines:
            try:
                rec = loads(text)
            except decode_error:
                rest((i, bytes(text)))
                continue
            run_id = rec.get("run_id") if type(rec) is dict else 0
            prev = rec.get("prev_record_hash") if type(rec) is dict else None
            if (run_id is not None and type(run_id) is not str) or (
                    prev is not None and (type(prev) is not str or not prev.isascii())) or _RECEIPT in rec:
                rest((i, bytes(text)))
                continue
            verdict, reason, digest, dumped = verify_and_digest(rec, keys, verifiers, legacy=legacy)
            if dumped is not None:
                defer((len(res.index), dumped))
            index(i)
            run_ids(run_id)
            prevs(prev.lower() if prev is not None else None)
            hashes(digest)
            verdicts(verdict)
            reasons(reason)
    finally:
        if was_enabled:
            gc.enable()
    return res, pending


def _settle_float_hashes(res: RangeResult, pending: list[tuple[int, bytes]]) -> None:
    """Chain hashes of dumps that may hold a float orjson writes unlike Python's json.

    One vectorized regex over all dumps (a superset of `risky_numbers`' hits) picks the few
    candidates; `risky_numbers` decides them. Per record in Python this test cost ~4 us.
    """
    import polars as pl

    dumps = pl.Series([d for _, d in pending], dtype=pl.Binary).cast(pl.String)
    for j in dumps.str.contains(r"[0-9]e-|0\.0000").arg_true().to_list():
        row, dumped = pending[j]
        if risky_numbers(dumped):
            res.hash[row] = record_hash(orjson.loads(dumped))
