"""Lineage columns: evidence digests of source records and short task hashes.

`evidence_digest` is the SHA-256 of the canonical JSON (sorted keys, compact separators, UTF-8) of the
source record, so a training row can be traced to the exact record it came from whatever the spacing or
key order of the input line. Canonicalising needs a JSON parse per record, which no columnar library
offers; it runs per record (orjson). It is the one unavoidable per-record step of export, and it holds
the GIL, so `DigestJob` runs it in a child process (engine.export.digest_worker) reading the records
straight from the mapped input file, while this process decodes, redacts and gates; small or non-mapped
inputs (and a failed child) use the same function on a thread. `evidence_digests` is the plain batched
form (compliance and AEP records, and the reference the tests compare the child with).
"""

from __future__ import annotations

import binascii
import hashlib
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import orjson
import polars as pl
import pyarrow as pa

from engine.export.digest_worker import canonical_digest

if TYPE_CHECKING:
    from engine.export.source import Inputs, MappedFile

_BATCH = 65_536


def _digest_batch(raws: list[str]) -> list[str | None]:
    loads, dumps, sha = orjson.loads, orjson.dumps, hashlib.sha256
    opt = orjson.OPT_SORT_KEYS
    out: list[str | None] = []
    for r in raws:
        try:
            out.append(sha(dumps(loads(r), option=opt)).hexdigest())
        except orjson.JSONDecodeError:  # invalid lines are quarantined; they have no digest
            out.append(None)
    return out


def evidence_digests(raw: pa.ChunkedArray | pa.Array) -> pl.Series:
    """SHA-256 hex of the canonical JSON of every raw record (batched), aligned with `raw`.

    Walks the chunks with zero-copy slices (combining the chunks would copy the whole input)."""
    chunks = raw.chunks if isinstance(raw, pa.ChunkedArray) else [raw]
    out: list[str | None] = []
    for chunk in chunks:
        for off in range(0, len(chunk), _BATCH):
            out.extend(_digest_batch(chunk.slice(off, _BATCH).to_pylist()))
    return pl.Series("evidence_digest", out, dtype=pl.String)


CHILD_MIN_RECORDS = 50_000  # below this a child process costs more to start than it saves


def _hex_digests(raw32: bytes, valid: np.ndarray) -> pl.Series:
    """32-byte digests (row i at bytes 32i..32i+32) → their hex text, null where `valid` is false."""
    n = valid.size
    text = binascii.hexlify(raw32)
    offsets = np.arange(0, 64 * n + 1, 64, dtype=np.int64)
    arr = pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(text))
    out = pl.Series("evidence_digest", pl.from_arrow(arr), dtype=pl.String)
    if not valid.all():
        out = out.scatter(np.flatnonzero(~valid), None)
    return out


def _digest_here(raw: pa.ChunkedArray, rids: np.ndarray, digests: np.ndarray, valid: np.ndarray) -> None:
    """Digests of the records `rids` (ascending) on this thread, in batches, into `digests` / `valid`."""
    for lo in range(0, rids.size, _BATCH):
        idx = rids[lo:lo + _BATCH]
        run = int(idx[-1]) - int(idx[0]) + 1 == idx.size  # one contiguous run: a zero-copy slice
        part = raw.slice(int(idx[0]), idx.size) if run else raw.take(pa.array(idx))
        got = [canonical_digest(r) for r in part.to_pylist()]
        ok = np.array([d is not None for d in got], dtype=bool)
        if ok.any():
            digests[idx[ok]] = np.frombuffer(b"".join(d for d in got if d is not None), dtype=np.uint8).reshape(-1, 32)
        valid[idx] = ok


def _start_child(files: list[MappedFile]) -> subprocess.Popen[bytes] | None:
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    try:
        return subprocess.Popen([sys.executable, "-m", "engine.export.digest_worker"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    except OSError:
        return None


def _child_output(proc: subprocess.Popen[bytes], files: list[MappedFile]) -> tuple[bytes, bytes] | None:
    """The child's digests and validity bytes (see engine.export.digest_worker), None if it failed."""
    header = json.dumps({"files": [[f.path, int(f.starts.size)] for f in files]}).encode() + b"\n"
    payload = b"".join([header, *(a.astype("<i8").tobytes() for f in files for a in (f.starts, f.ends))])
    n = sum(int(f.starts.size) for f in files)
    try:
        out, _ = proc.communicate(payload)
    except OSError:
        return None
    if proc.returncode != 0 or len(out) != 33 * n:
        return None
    return out[:32 * n], out[32 * n:]


class DigestJob:
    """`evidence_digest` of every record, computed in the background while the export goes on: the records
    of mapped input files in a child process (when there are at least `child_min_records` of them; the GIL
    stays free for this process), any others, or all of them if the child fails, on a thread. The child only
    ever saves time: its digests are the same function of the same bytes."""

    def __init__(self, inputs: Inputs, *, child_min_records: int = CHILD_MIN_RECORDS) -> None:
        self._records = inputs.records
        n_mapped = sum(int(f.starts.size) for f in inputs.mapped)
        self._files = list(inputs.mapped) if n_mapped and n_mapped >= child_min_records else []
        self._proc = _start_child(self._files) if self._files else None
        self._cancelled = False
        self._out: pl.Series | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="evidence-digests")
        self._thread.start()

    def _run(self) -> None:
        try:
            self._out = self._compute()
        except BaseException as exc:  # re-raised by result()
            self._error = exc

    def _compute(self) -> pl.Series:
        n = self._records.num_rows
        digests = np.zeros((n, 32), dtype=np.uint8)
        valid = np.zeros(n, dtype=bool)
        here = np.ones(n, dtype=bool)
        got = _child_output(self._proc, self._files) if self._proc is not None else None
        if got is not None:
            child = np.frombuffer(got[0], dtype=np.uint8).reshape(-1, 32)
            ok = np.frombuffer(got[1], dtype=np.uint8).astype(bool)
            at = 0
            for f in self._files:
                rows, m = slice(f.rid0, f.rid0 + f.starts.size), int(f.starts.size)
                digests[rows], valid[rows], here[rows] = child[at:at + m], ok[at:at + m], False
                at += m
        if not self._cancelled:
            _digest_here(self._records.column("raw"), np.flatnonzero(here), digests, valid)
        self._records, self._files = pa.table({}), []  # the raw lines may go as soon as the export drops them
        return _hex_digests(digests.tobytes(), valid)

    def result(self) -> pl.Series:
        """The digests, indexed by rid (waits for them)."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._out is not None
        return self._out

    def cancel(self) -> None:
        """Stop the work (the export failed): kill the child and wait for the thread."""
        self._cancelled = True
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
        self._thread.join()


def sha16(texts: pl.Series) -> pl.Series:
    """First 16 hex digits of SHA-256 over the UTF-8 text (the original's `sha16`), computed per distinct value."""
    uniq = texts.unique(maintain_order=True).drop_nulls()
    sha = hashlib.sha256
    hashes = pl.Series([sha(t.encode()).hexdigest()[:16] for t in uniq.to_list()], dtype=pl.String)
    lookup = pl.DataFrame({"t": uniq, "h": hashes})
    return (pl.DataFrame({"t": texts}).join(lookup, on="t", how="left", maintain_order="left")
            .get_column("h").alias(texts.name))
