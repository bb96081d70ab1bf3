"""Slow, obviously-correct chain verdicts: one run at a time, one record at a time."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_hash(record: dict[str, Any]) -> str:
    body = {k: v for k, v in record.items() if k not in ("dsse_envelope", "signature")}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def run_verdict(run: list[dict[str, Any]]) -> str:
    links = [r.get("prev_record_hash") for r in run]
    for k in range(1, len(run)):
        if links[k] is not None and links[k] != canonical_hash(run[k - 1]):
            return "broken"
    if links[0] is not None:
        return "orphaned"
    if all(link is None for link in links):
        return "not-present"
    if any(link is None for link in links[1:]):
        return "partial"
    return "intact"


def chain_verdicts(records: list[dict[str, Any]]) -> list[str]:
    runs: dict[Any, list[dict[str, Any]]] = {}
    for r in records:
        runs.setdefault(r.get("run_id"), []).append(r)
    verdicts = {run_id: run_verdict(run) for run_id, run in runs.items()}
    return ["not-present" if r.get("run_id") is None else verdicts[r.get("run_id")] for r in records]
