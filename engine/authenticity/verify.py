"""`engine verify`: authenticity and chain verdicts for records, plus receipts, from files.

Streams the input batch by batch (bounded memory): signatures are checked per batch in a reused
worker pool, only the small link columns are kept for the chain step at the end.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from engine.authenticity import ranges
from engine.authenticity.canonical import loads
from engine.authenticity.ed25519 import backend_name
from engine.authenticity.keys import KeyRing
from engine.authenticity.layers import StreamingVerifier, batch_frame, summarize
from engine.authenticity.ranges import PARALLEL_MIN_BYTES, plan_ranges, worker_results
from engine.authenticity.receipt import is_receipt, verify_receipt
from engine.authenticity.scan import RangeResult, scan_range, warm_up

if TYPE_CHECKING:
    from engine.io.sources import SourceFile

VERDICT_SCHEMA = {"source": pl.String, "line": pl.Int64, "run_id": pl.String, "authenticity": pl.String,
                  "authenticity_reason": pl.String, "chain": pl.String, "chain_reason": pl.String}
QUARANTINE_SCHEMA = {"source": pl.String, "line": pl.Int64, "reason": pl.String}


@dataclass(frozen=True)
class VerifyOptions:
    keys_dir: Path | None = None
    legacy: bool = False
    jobs: int | None = None
    require_signed: bool = False
    require_intact: bool = False
    chain_across_files: bool = False


@dataclass
class VerifyResult:
    verdicts: pl.DataFrame
    receipts: list[dict[str, Any]] = field(default_factory=list)
    quarantine: pl.DataFrame | None = None
    options: VerifyOptions = VerifyOptions()

    def failing(self) -> pl.DataFrame:
        bad_auth = ["invalid"] + (["unsigned"] if self.options.require_signed else [])
        cond = pl.col("authenticity").is_in(bad_auth) | (pl.col("chain") == "broken")
        if self.options.require_intact:
            cond = cond | (pl.col("chain") != "intact")
        return self.verdicts.filter(cond)

    def ok(self) -> bool:
        # a line that could not be read could not be verified either
        unread = 0 if self.quarantine is None else self.quarantine.height
        return self.failing().height == 0 and unread == 0 and all(r["ok"] for r in self.receipts)

    def summary(self) -> dict[str, Any]:
        s = summarize(self.verdicts)
        s["failing"] = self.failing().height
        s["receipts"] = {"total": len(self.receipts), "ok": sum(1 for r in self.receipts if r["ok"])}
        s["quarantined"] = 0 if self.quarantine is None else self.quarantine.height
        s["ok"] = self.ok()
        return s


def keyring_for(keys_dir: Path | None) -> KeyRing:
    return KeyRing.from_dir(keys_dir) if keys_dir is not None else KeyRing(use_env=True)


def _split_receipts(records: pl.DataFrame, ring: KeyRing, receipts: list[dict[str, Any]]) -> pl.DataFrame:
    """Verify run receipts among `records` (into `receipts`); return the other records."""
    maybe = records.select((pl.col("kind") == "unknown")
                           & pl.col("raw").str.contains("receipt_version", literal=True)).to_series()
    if not maybe.any():
        return records
    is_rec: list[bool] = []
    for source, line, raw in records.filter(maybe).select("source", "line", "raw").iter_rows():
        obj = loads(raw)
        is_rec.append(is_receipt(obj))
        if is_rec[-1]:
            receipts.append({"source": source, "line": line, **verify_receipt(obj, ring)})
    flags = iter(is_rec)
    return records.filter(pl.Series([not (m and next(flags)) for m in maybe.to_list()]))


ROW_SCHEMA = {"source": pl.String, "line": pl.Int64, "run_id": pl.String, "prev": pl.String, "hash": pl.String,
              "authenticity": pl.String, "authenticity_reason": pl.String}
_AUTH_COLUMNS = ["source", "line", "run_id", "authenticity", "authenticity_reason"]
_LINK_COLUMNS = ["source", "line", "run_id", "prev", "hash"]


def _decided_frame(path: str, base: int, res: RangeResult) -> pl.DataFrame:
    return res.frame.select(pl.lit(path, dtype=pl.String).alias("source"),
                            (pl.col("index") + (base + 1)).alias("line"),
                            "run_id", "prev", "hash", "authenticity", "authenticity_reason")


def _general_frame(src: SourceFile, lines: list[tuple[int, bytes]], default: str, sv: StreamingVerifier,
                   receipts: list[dict[str, Any]], quarantine: list[tuple[str, int, str]]) -> pl.DataFrame:
    """The lines a worker handed back, through the reader and verifier every other input takes."""
    from engine.io.lines import LineBlock
    from engine.io.records import RecordBatch, split_block

    block = LineBlock.from_lines(src.path, [n for n, _ in lines], [t for _, t in lines])
    parts, q = split_block(src.path, block, default, typed=False)
    quarantine.extend((src.path, n, reason) for n, _, reason in q)
    if not parts:
        return pl.DataFrame(schema=ROW_SCHEMA)
    records = _split_receipts(batch_frame(RecordBatch(src.path, parts, q, 0, 0)), sv.keys, receipts)
    if records.height == 0:
        return pl.DataFrame(schema=ROW_SCHEMA)
    auth, links = sv.decide(sv.submit(records))
    assert links is not None
    return pl.concat([links, auth], how="horizontal").select(list(ROW_SCHEMA))


def _verify_ranged(src: SourceFile, sv: StreamingVerifier, receipts: list[dict[str, Any]],
                   quarantine: list[tuple[str, int, str]]) -> pl.DataFrame:
    """ROW_SCHEMA rows of one JSON-lines file, by line, its byte ranges verified by the workers."""
    from engine.io.records import detect_file_kind

    cuts = plan_ranges(src.path, src.size)
    backend = backend_name()
    calls = [(src.path, a, b, sv.keys, sv.legacy, backend) for a, b in cuts]
    if sv.pool.jobs > 1 and src.size >= PARALLEL_MIN_BYTES and len(cuts) > 1:
        results: Iterable[RangeResult] = worker_results(src.path, src.size, sv.pool.ordered(scan_range, calls), "verify")
    else:
        results = (scan_range(*args) for args in calls)
    frames: list[pl.DataFrame] = []
    base = 0  # LF bytes before the current range
    default: str | None = None
    for res in results:
        frame = _decided_frame(src.path, base, res)
        if res.rest:
            default = default or detect_file_kind(src)
            rest = [(base + i + 1, text) for i, text in res.rest]
            frame = pl.concat([frame, _general_frame(src, rest, default, sv, receipts, quarantine)]).sort("line")
        frames.append(frame)
        base += res.newlines
    return pl.concat(frames) if frames else pl.DataFrame(schema=ROW_SCHEMA)


def verify_paths(paths: Sequence[str], options: VerifyOptions) -> VerifyResult:
    from engine.io import iter_record_batches
    from engine.io.sources import expand_paths

    ring = keyring_for(options.keys_dir)
    sv = StreamingVerifier(ring, legacy=options.legacy, jobs=options.jobs, across_files=options.chain_across_files)
    if any(os.path.isfile(p) and os.path.getsize(p) >= PARALLEL_MIN_BYTES for p in paths):
        sv.pool.warm(warm_up)  # the workers start and import while engine.io is imported here
    receipts: list[dict[str, Any]] = []
    quarantine: list[tuple[str, int, str]] = []
    parts: list[pl.DataFrame] = []
    pending: list[tuple[pl.DataFrame, Any]] = []

    def collect_one() -> None:
        ids, handle = pending.pop(0)
        parts.append(pl.concat([ids, sv.collect(handle)], how="horizontal"))

    try:
        for src in expand_paths(list(paths)):
            if ranges.ranged_source(src):
                while pending:  # links must reach the chain step in input order
                    collect_one()
                rows = _verify_ranged(src, sv, receipts, quarantine)
                parts.append(rows.select(_AUTH_COLUMNS))
                sv.add_links(rows.select(_LINK_COLUMNS))
                continue
            for batch in iter_record_batches([src.path], typed=False):
                quarantine.extend((batch.source, n, reason) for n, _, reason in batch.quarantine)
                if not batch.parts:
                    continue
                records = _split_receipts(batch_frame(batch), ring, receipts)
                if records.height == 0:
                    continue
                ids = records.select("source", "line", pl.col("raw").str.json_path_match("$.run_id").alias("run_id"))
                pending.append((ids, sv.submit(records)))
                # one batch in flight while the next is read: the workers never wait for the reader
                while len(pending) > 1:
                    collect_one()
        while pending:
            collect_one()
        chain = sv.finish()
    finally:
        sv.pool.close()
    if parts:
        rows = pl.concat(parts)
        # the chain rows are the same records in the same order (links are added with each part)
        if rows.height == chain.height and rows["line"].equals(chain["line"]) and rows["source"].equals(chain["source"]):
            verdicts = pl.concat([rows, chain.select("chain", "chain_reason")], how="horizontal")
        else:
            verdicts = rows.join(chain, on=["source", "line"], how="left", maintain_order="left")
        verdicts = verdicts.select(list(VERDICT_SCHEMA))
    else:
        verdicts = pl.DataFrame(schema=VERDICT_SCHEMA)
    q = pl.DataFrame(quarantine, schema=QUARANTINE_SCHEMA, orient="row")
    return VerifyResult(verdicts=verdicts, receipts=receipts, quarantine=q, options=options)
