"""Worker side of `engine verify` on plain JSON-lines files: verify one byte range of a file.

The main process cuts a file at line starts into ranges (`plan_ranges`); each worker reads its
range itself, splits it into lines exactly as engine.io does (split on LF, strip ASCII
whitespace, skip blank and `#` lines, a BOM at the start of the file ignored), parses each line
once (orjson) and decides it with `verify_and_hash`, the general per-record path. What travels
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
import mmap
from dataclasses import dataclass, field

import orjson

from engine.authenticity.canonical import record_hash, risky_numbers
from engine.authenticity.dsse import verify_and_digest
from engine.authenticity.ed25519 import Verifiers
from engine.authenticity.keys import KeyRing

#: ~1,700 signed AEP records per range: small enough that two workers finish together
RANGE_BYTES = 8 << 20
_BOM = b"\xef\xbb\xbf"
_SPACE = frozenset(b" \t\n\r\x0b\x0c")  # what bytes.strip() strips
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


def plan_ranges(path: str, size: int, range_bytes: int = RANGE_BYTES) -> list[tuple[int, int]]:
    """[start, end) byte ranges covering the file, each starting at a line start."""
    cuts = [0]
    with open(path, "rb") as fh:
        target = range_bytes
        while target < size:
            fh.seek(target - 1)
            pos = target - 1
            while True:  # the cut goes just after the next LF at or after target - 1
                chunk = fh.read(1 << 16)
                if not chunk:
                    pos = size
                    break
                nl = chunk.find(b"\n")
                if nl >= 0:
                    pos += nl + 1
                    break
                pos += len(chunk)
            if pos >= size:
                break
            cuts.append(pos)
            target = max(pos, target) + range_bytes
    cuts.append(size)
    return [(a, b) for a, b in zip(cuts, cuts[1:], strict=False) if b > a]


def scan_range(path: str, start: int, end: int, keys: KeyRing, legacy: bool = False,
               backend: str | None = None) -> RangeResult:
    """Verify the records of bytes [start, end) of `path` (start is a line start).

    The range is memory-mapped and each line parsed in place (a read() would copy every byte
    once more: ~2 us a signed record).
    """
    base = start - start % mmap.ALLOCATIONGRANULARITY
    with open(path, "rb") as fh:
        data = mmap.mmap(fh.fileno(), end - base, access=mmap.ACCESS_READ, offset=base)
    try:
        res, pending = _scan(data, start - base, start == 0, keys, Verifiers(backend), legacy)
    finally:
        try:
            data.close()
        except BufferError:  # a view still alive: the mapping goes with it
            pass
    if pending:
        _settle_float_hashes(res, pending)
    return res


def _scan(data: mmap.mmap, pos: int, file_start: bool, keys: KeyRing, verifiers: Verifiers,
          legacy: bool) -> tuple[RangeResult, list[tuple[int, bytes]]]:
    size = len(data)
    if file_start and data[pos:pos + 3] == _BOM:
        pos += 3
    res = RangeResult(newlines=0)
    pending: list[tuple[int, bytes]] = []  # (row, sorted dump) whose chain hash waits for the float check
    index, run_ids, prevs, hashes = res.index.append, res.run_id.append, res.prev.append, res.hash.append
    verdicts, reasons, rest, defer = res.verdict.append, res.reason.append, res.rest.append, pending.append
    find, loads, decode_error = data.find, orjson.loads, orjson.JSONDecodeError
    view = memoryview(data)  # slicing a view copies nothing
    text: bytes | memoryview | None = None
    i = -1
    lf = 0
    was_enabled = gc.isenabled()
    gc.disable()  # parsed records hold no reference cycles
    try:
        while pos < size:
            i += 1
            nl = find(b"\n", pos)
            if nl < 0:
                nl = size
            else:
                lf += 1
            lo, pos = pos, nl + 1
            if lo == nl:
                continue
            if data[lo] in _SPACE or data[nl - 1] in _SPACE:
                text = data[lo:nl].strip()  # what engine.io keeps of the line
                if not text:
                    continue
            else:
                text = view[lo:nl]
            if text[0] == 0x23:  # '#': skipped by the reader too
                continue
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
        text = None
        view.release()
    res.newlines = lf
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
