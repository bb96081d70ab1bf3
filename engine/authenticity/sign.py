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
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.authenticity.canonical import canonical_bytes, loads, record_body, record_hash
from engine.authenticity.keys import load_private_key
from engine.authenticity.layout import sign_canonical
from engine.authenticity.pool import WorkerPool


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


def _sign_chunk(items: list[tuple[bytes, str]], key_path: str, key_id: str) -> list[bytes]:
    key = _KEYS.get(key_path)
    if key is None:  # once per worker process
        key = _KEYS[key_path] = load_private_key(key_path)
    return sign_items(items, key, key_id)


def _bodies(records: Any, report: SignReport) -> list[dict[str, Any]]:
    bodies: list[dict[str, Any]] = []
    # per-record Python is inherent here: every record is re-serialised and signed
    for source, line, raw in zip(records["source"].to_list(), records["line"].to_list(), records["raw"].to_list(),
                                 strict=True):
        rec = loads(raw)
        if not isinstance(rec, dict) or not isinstance(rec.get("run_id"), str) or not rec["run_id"]:
            report.skipped.append((source, line, "record has no string run_id to bind the signature to"))
            continue
        bodies.append(record_body(rec))
    return bodies


def sign_paths(paths: Sequence[str], key_path: str | Path, key_id: str, out: str | Path, *,
               chain: bool = False, jobs: int | None = None) -> SignReport:
    """Sign every record of `paths` into the JSONL file `out`, streaming, written atomically.

    With `chain`, runs are linked in input order across all inputs (the output is one file).
    """
    from engine.authenticity.layers import batch_frame
    from engine.io import iter_record_batches

    load_private_key(key_path)  # fail early, before reading a large input
    report = SignReport(out=str(out))
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    last: dict[Any, str] = {}
    try:
        with open(tmp, "wb") as fh, WorkerPool(jobs) as pool:
            for batch in iter_record_batches(list(paths), typed=False):
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
