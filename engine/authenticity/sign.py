"""Signing for producers and tests: DSSE envelopes on every record, optional hash chain.

`--chain` sets `prev_record_hash` on each record of a run (null on the first, the SHA-256 of the
previous record's canonical body on the others, runs in input order) before signing, so the chain
is covered by the signature. Linking is sequential hashing only; signing, the expensive part, runs
in worker processes for large inputs. The private key is loaded from its file in each process and
never leaves it in any other form.
"""

from __future__ import annotations

import gc
import hashlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from engine.authenticity.canonical import canonical_bytes, loads, record_body, record_hash
from engine.authenticity.keys import load_private_key
from engine.authenticity.layout import sign_canonical
from engine.authenticity.pool import WorkerPool
from engine.authenticity.ranges import (
    PARALLEL_MIN_BYTES,
    Lines,
    mapped_range,
    plan_ranges,
    ranged_source,
    worker_results,
)


@dataclass
class SignReport:
    signed: int = 0
    out: str = ""
    skipped: list[tuple[str, int, str]] = field(default_factory=list)  # source, line, reason


def link_bodies(bodies: list[dict[str, Any]], last: dict[Any, str] | None = None) -> list[dict[str, Any]]:
    """Set `prev_record_hash` per run (input order). Bodies must have no signature carriers.

    `last` (run_id -> hash of the run's latest record) carries the chain from batch to batch.
    """
    last = {} if last is None else last
    out = []
    for body in bodies:
        run = body.get("run_id")
        linked = {**body, "prev_record_hash": last.get(run)}
        last[run] = record_hash(linked)
        out.append(linked)
    return out


def canonical_items(bodies: list[dict[str, Any]], *, chain: bool, last: dict[Any, str]) -> list[tuple[bytes, str]]:
    """(canonical body bytes, run_id) per body, linked per run when `chain` (one serialisation each).

    Bytes, not dicts, go to the workers: pickling a nested dict costs more than signing prep.
    """
    items = []
    for body in bodies:
        run = body["run_id"]
        if chain:
            body = {**body, "prev_record_hash": last.get(run)}
        data = canonical_bytes(body)
        if chain:
            last[run] = hashlib.sha256(data).hexdigest()  # = record_hash(body): same canonical bytes
        items.append((data, run))
    return items


def sign_bodies(bodies: list[dict[str, Any]], private_key: Any, key_id: str) -> list[bytes]:
    """One JSONL line (without newline) per body: the canonical body plus its `dsse_envelope`, last."""
    return sign_items(canonical_items(bodies, chain=False, last={}), private_key, key_id)


def sign_items(items: list[tuple[bytes, str]], private_key: Any, key_id: str) -> list[bytes]:
    was_enabled = gc.isenabled()
    gc.disable()  # no reference cycles here; see dsse.verify_raw_batch
    try:
        return [sign_canonical(data, run, private_key, key_id) for data, run in items]
    finally:
        if was_enabled:
            gc.enable()


_KEYS: dict[str, Any] = {}
_NO_RUN_ID = "record has no string run_id to bind the signature to"


def _key(key_path: str) -> Any:
    key = _KEYS.get(key_path)
    if key is None:  # once per process
        key = _KEYS[key_path] = load_private_key(key_path)
    return key


def _sign_chunk(items: list[tuple[bytes, str]], key_path: str, key_id: str) -> list[bytes]:
    return sign_items(items, _key(key_path), key_id)


def _bodies(records: Any, report: SignReport) -> list[dict[str, Any]]:
    bodies: list[dict[str, Any]] = []
    # per-record Python is inherent here: every record is re-serialised and signed
    for source, line, raw in zip(records["source"].to_list(), records["line"].to_list(), records["raw"].to_list(),
                                 strict=True):
        rec = loads(raw)
        if not isinstance(rec, dict) or not isinstance(rec.get("run_id"), str) or not rec["run_id"]:
            report.skipped.append((source, line, _NO_RUN_ID))
            continue
        bodies.append(record_body(rec))
    return bodies


@dataclass
class SignedRange:
    """Signed lines of one byte range (indices: 0-based lines from the range start)."""

    newlines: int = 0
    index: list[int] = field(default_factory=list)
    lines: list[bytes] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)
    last: dict[str, str] = field(default_factory=dict)  # run -> hash of its last record here (--chain)
    skipped: list[tuple[int, str]] = field(default_factory=list)
    general: bool = False  # a line only engine.io's reader can judge: the main process signs the range
    blob: bytes = b""  # `lines` joined, each ending in LF (what a worker sends: one buffer, no join later)

    def joined(self) -> bytes:
        return self.blob or (b"\n".join(self.lines) + b"\n" if self.lines else b"")


def sign_range(path: str, start: int, end: int, key_path: str, key_id: str, chain: bool,
               incoming: dict[str, str] | None = None, targets: set[int] | None = None) -> SignedRange:
    """Sign the records of bytes [start, end) of `path`, as `sign_paths` would.

    With `chain`, a run's first record here links to `incoming[run]`, or to nothing: for runs that
    continue an earlier range the caller signs those records again (`targets`) once it knows the
    hash they continue from. A line orjson cannot read as an object stops the range (`general`).
    """
    key = _key(key_path)
    before = incoming or {}
    out = SignedRange()
    last = out.last
    with mapped_range(path, start, end) as (data, pos):
        lines = Lines(data, pos, start == 0)
        was_enabled = gc.isenabled()
        gc.disable()  # no reference cycles here; see dsse.verify_raw_batch
        try:
            for i, text in lines:
                if targets is not None and i not in targets:
                    continue
                try:
                    rec = orjson.loads(text)
                except orjson.JSONDecodeError:
                    out.general = True
                    return out
                if type(rec) is not dict:
                    out.general = True
                    return out
                run = rec.get("run_id")
                if type(run) is not str or not run:
                    out.skipped.append((i, _NO_RUN_ID))
                    continue
                body = record_body(rec)
                if chain:
                    body["prev_record_hash"] = last[run] if run in last else before.get(run)
                data_bytes = canonical_bytes(body)
                if chain:
                    last[run] = hashlib.sha256(data_bytes).hexdigest()
                out.lines.append(sign_canonical(data_bytes, run, key, key_id))
                out.index.append(i)
                out.runs.append(run)
        finally:
            if was_enabled:
                gc.enable()
        out.newlines = lines.newlines
    if targets is None:
        out.blob, out.lines = out.joined(), []
    return out


def _sign_general(src: Any, start: int, end: int, base: int, key: Any, key_id: str, chain: bool,
                  last: dict[Any, str], report: SignReport) -> list[bytes]:
    """A range through engine.io's reader, in the main process (quarantine, Python json objects)."""
    from engine.authenticity.layers import batch_frame
    from engine.io.lines import LineBlock
    from engine.io.records import RecordBatch, detect_file_kind, split_block

    with mapped_range(src.path, start, end) as (data, pos):
        found = [(base + i + 1, bytes(text)) for i, text in Lines(data, pos, start == 0)]
    block = LineBlock.from_lines(src.path, [n for n, _ in found], [t for _, t in found])
    parts, quarantine = split_block(src.path, block, detect_file_kind(src), typed=False)
    report.skipped.extend((src.path, n, f"unreadable: {r}") for n, _, r in quarantine)
    if not parts:
        return []
    records = batch_frame(RecordBatch(src.path, parts, quarantine, 0, 0))
    return sign_items(canonical_items(_bodies(records, report), chain=chain, last=last), key, key_id)


def _sign_ranged(src: Any, key_path: str, key_id: str, chain: bool, last: dict[Any, str], pool: WorkerPool,
                 fh: Any, report: SignReport) -> None:
    """One JSON-lines file, its byte ranges signed by the workers, written in input order."""
    cuts = plan_ranges(src.path, src.size)
    speculative = pool.jobs > 1 and src.size >= PARALLEL_MIN_BYTES and len(cuts) > 1
    if speculative:
        results: Iterable[SignedRange] = worker_results(
            src.path, src.size, pool.ordered(sign_range, [(src.path, a, b, key_path, key_id, chain) for a, b in cuts]), "sign")
    else:  # in order in this process: every range starts from the chain state it needs
        results = (sign_range(src.path, a, b, key_path, key_id, chain, incoming=last) for a, b in cuts)
    base = 0  # LF bytes before the current range
    for (a, b), res in zip(cuts, results, strict=True):
        if res.general:
            lines = _sign_general(src, a, b, base, _key(key_path), key_id, chain, last, report)
            res = SignedRange(newlines=_count_newlines(src.path, a, b), index=list(range(len(lines))), lines=lines)
        else:
            if chain and speculative:
                _relink(src.path, a, b, key_path, key_id, res, last)
            if chain:
                last.update(res.last)
            report.skipped.extend((src.path, base + i + 1, reason) for i, reason in res.skipped)
        fh.write(res.joined())
        report.signed += len(res.index)
        base += res.newlines


def _relink(path: str, start: int, end: int, key_path: str, key_id: str, res: SignedRange,
            last: dict[Any, str]) -> None:
    """Re-sign, in place, the records of runs that continue from an earlier range (the workers
    linked their first record to nothing): only those records, from the hash they continue."""
    stale = {run for run in res.last if run in last}
    if not stale:
        return
    targets = {i for i, run in zip(res.index, res.runs, strict=True) if run in stale}
    fixed = sign_range(path, start, end, key_path, key_id, True, incoming={r: last[r] for r in stale},
                       targets=targets)
    where = {i: k for k, i in enumerate(res.index)}
    lines = res.blob.split(b"\n")[:-1] if res.blob else res.lines
    for i, line in zip(fixed.index, fixed.lines, strict=True):
        lines[where[i]] = line
    res.lines, res.blob = lines, b""
    res.last.update(fixed.last)


def _count_newlines(path: str, start: int, end: int) -> int:
    with mapped_range(path, start, end) as (data, pos):
        lines = Lines(data, pos, False)
        for _ in lines:
            pass
        return lines.newlines


def sign_paths(paths: Sequence[str], key_path: str | Path, key_id: str, out: str | Path, *,
               chain: bool = False, jobs: int | None = None) -> SignReport:
    """Sign every record of `paths` into the JSONL file `out`, streaming, written atomically.

    With `chain`, runs are linked in input order across all inputs (the output is one file).
    Uncompressed JSON-lines files are read by the workers themselves, range by range
    (ranges.py); other containers go through engine.io's batches.
    """
    from engine.authenticity.layers import batch_frame
    from engine.io import iter_record_batches
    from engine.io.sources import expand_paths

    load_private_key(key_path)  # fail early, before reading a large input
    report = SignReport(out=str(out))
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    last: dict[Any, str] = {}
    try:
        with open(tmp, "wb") as fh, WorkerPool(jobs) as pool:
            for src in expand_paths(list(paths)):
                if ranged_source(src):
                    _sign_ranged(src, str(key_path), key_id, chain, last, pool, fh, report)
                    continue
                for batch in iter_record_batches([src.path], typed=False):
                    report.skipped.extend((batch.source, n, f"unreadable: {r}") for n, _, r in batch.quarantine)
                    if not batch.parts:
                        continue
                    items = canonical_items(_bodies(batch_frame(batch), report), chain=chain, last=last)
                    lines = pool.map_chunks(_sign_chunk, items, str(key_path), key_id)
                    fh.write(b"\n".join(lines) + b"\n" if lines else b"")
                    report.signed += len(lines)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    report.skipped.sort(key=lambda t: (t[0], t[1]))
    return report
