"""Signing for producers and tests: DSSE envelopes on every record, optional hash chain.

`--chain` sets `prev_record_hash` on each record of a run (null on the first, the SHA-256 of the
previous record's canonical body on the others, runs in input order) before signing, so the chain
is covered by the signature. Linking is sequential hashing only; signing, the expensive part, runs
in worker processes for large inputs. The private key is loaded from its file in each process and
never leaves it in any other form.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import orjson

from engine.authenticity.canonical import loads, record_body, record_hash
from engine.authenticity.dsse import make_envelope
from engine.authenticity.keys import load_private_key

PARALLEL_MIN_ROWS = 6000
_CHUNK = 4000


@dataclass
class SignReport:
    signed: int = 0
    out: str = ""
    skipped: list[tuple[str, int, str]] = field(default_factory=list)  # source, line, reason


def link_bodies(bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Set `prev_record_hash` per run (input order). Bodies must have no signature carriers."""
    last: dict[Any, str] = {}
    out = []
    for body in bodies:
        run = body.get("run_id")
        linked = {**body, "prev_record_hash": last.get(run)}
        last[run] = record_hash(linked)
        out.append(linked)
    return out


def sign_bodies(bodies: list[dict[str, Any]], private_key: Any, key_id: str) -> list[bytes]:
    """One JSONL line (without newline) per body: the body plus its `dsse_envelope`."""
    lines = []
    for body in bodies:
        env = make_envelope(body, private_key, key_id)
        lines.append(orjson.dumps({**body, "dsse_envelope": env}))
    return lines


def _sign_chunk(bodies: list[dict[str, Any]], key_path: str, key_id: str) -> list[bytes]:
    return sign_bodies(bodies, load_private_key(key_path), key_id)


def sign_many(bodies: list[dict[str, Any]], key_path: str | Path, key_id: str, *, jobs: int = 1) -> list[bytes]:
    if jobs <= 1 or len(bodies) < PARALLEL_MIN_ROWS:
        return sign_bodies(bodies, load_private_key(key_path), key_id)
    chunks = [bodies[i:i + _CHUNK] for i in range(0, len(bodies), _CHUNK)]
    out: list[bytes] = []
    with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
        for part in pool.map(_sign_chunk, chunks, [str(key_path)] * len(chunks), [key_id] * len(chunks)):
            out.extend(part)
    return out


def write_lines_atomic(lines: Sequence[bytes], out: str | Path) -> None:
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            for line in lines:
                fh.write(line)
                fh.write(b"\n")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def sign_paths(paths: Sequence[str], key_path: str | Path, key_id: str, out: str | Path, *,
               chain: bool = False, jobs: int = 1) -> SignReport:
    """Sign every record of `paths` into the JSONL file `out` (written atomically)."""
    from engine.io import load_records

    load_private_key(key_path)  # fail early, before reading a large input
    loaded = load_records(list(paths))
    report = SignReport(out=str(out))
    report.skipped.extend((s, n, f"unreadable: {r}") for s, n, r in
                          loaded.quarantine.select("source", "line", "reason").iter_rows())
    bodies: list[dict[str, Any]] = []
    frame = loaded.records
    for source, line, raw in zip(frame["source"].to_list(), frame["line"].to_list(), frame["raw"].to_list(),
                                 strict=True):
        rec = loads(raw)
        if not isinstance(rec, dict) or not isinstance(rec.get("run_id"), str) or not rec["run_id"]:
            report.skipped.append((source, line, "record has no string run_id to bind the signature to"))
            continue
        bodies.append(record_body(rec))
    if chain:
        bodies = link_bodies(bodies)
    lines = sign_many(bodies, key_path, key_id, jobs=jobs)
    write_lines_atomic(lines, out)
    report.signed = len(lines)
    return report
