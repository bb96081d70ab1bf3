"""Batch entry points: the authenticity and chain layers of `engine validate` and `engine verify`.

Input frames have `source, line, kind, raw` (engine.io.load_records). Output frames keep the row
order. Rows that carry no signature are decided by a vectorized substring test; only rows with
`dsse_envelope` / `signature` (or escaped keys that could spell them) are parsed and verified in
Python, in batches, across worker processes when there are many.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl

from engine.authenticity.chain import chain_verdicts
from engine.authenticity.dsse import UNSIGNED, verify_raw_batch
from engine.authenticity.ed25519 import backend_name
from engine.authenticity.keys import KeyRing
from engine.authenticity.pool import WorkerPool


def _needs_python(records: pl.DataFrame) -> pl.Series:
    raw = pl.col("raw")
    return records.select(
        (raw.str.contains("dsse_envelope", literal=True) | raw.str.contains('"signature"', literal=True)
         | raw.str.contains("\\u", literal=True)).fill_null(False).alias("m")
    )["m"]


def _submit(records: pl.DataFrame, ring: KeyRing, legacy: bool, pool: WorkerPool,
            want_hash: bool) -> tuple[pl.Series, Callable[[], list[tuple[str, str | None, str | None]]]]:
    idx = _needs_python(records).arg_true()
    # UTF-8 bytes straight from Arrow: no str objects to build here nor to encode in the workers
    raws = records["raw"].gather(idx).cast(pl.Binary).to_list()
    return idx, pool.submit_chunks(verify_raw_batch, raws, ring, legacy, backend_name(), want_hash)


def _auth_frame(height: int, idx: pl.Series, results: list[tuple[str, str | None, str | None]]) -> pl.DataFrame:
    verdicts = [UNSIGNED] * height
    reasons: list[str | None] = [None] * height
    for j, (v, r, _) in zip(idx.to_list(), results, strict=True):
        verdicts[j] = v
        reasons[j] = r
    return pl.DataFrame({"authenticity": pl.Series(verdicts, dtype=pl.String),
                         "authenticity_reason": pl.Series(reasons, dtype=pl.String)})


def authenticity_layer(records: pl.DataFrame, keys: KeyRing | None, legacy: bool = False, *,
                       jobs: int | None = None, pool: WorkerPool | None = None) -> pl.DataFrame:
    """Columns `authenticity` (unsigned | dsse-valid | invalid | legacy-valid) and `authenticity_reason`.

    `keys=None` verifies with environment keys only (WASMAGENT_AEP_PUBKEY_<ID>). Pass a `pool` to
    reuse worker processes across calls (streaming); otherwise one is started for this call if the
    number of signed rows makes it worthwhile.
    """
    ring = keys if keys is not None else KeyRing(use_env=True)
    own = pool is None
    workers = WorkerPool(jobs) if pool is None else pool
    try:
        idx, wait = _submit(records, ring, legacy, workers, want_hash=False)
        return _auth_frame(records.height, idx, wait())
    finally:
        if own:
            workers.close()


def chain_layer(records: pl.DataFrame, *, across_files: bool = False) -> pl.DataFrame:
    """Columns `chain` (not-present | intact | partial | orphaned | broken) and `chain_reason`.

    A run is one run_id within one source file; `across_files=True` follows run_ids across files.
    """
    if records.height == 0:
        return pl.DataFrame(schema={"chain": pl.String, "chain_reason": pl.String})
    return chain_verdicts(records, across_files=across_files)


def verify_frame(records: pl.DataFrame, keys: KeyRing | None, *, legacy: bool = False,
                 jobs: int | None = None, across_files: bool = False) -> pl.DataFrame:
    """`engine verify`: source, line, run_id, authenticity(+reason), chain(+reason) per record."""
    if records.height == 0:
        return pl.DataFrame(schema={"source": pl.String, "line": pl.Int64, "run_id": pl.String,
                                    "authenticity": pl.String, "authenticity_reason": pl.String,
                                    "chain": pl.String, "chain_reason": pl.String})
    base = records.select("source", "line", pl.col("raw").str.json_path_match("$.run_id").alias("run_id"))
    return pl.concat([base, authenticity_layer(records, keys, legacy, jobs=jobs),
                      chain_layer(records, across_files=across_files)],
                     how="horizontal")


def summarize(verdicts: pl.DataFrame) -> dict[str, object]:
    """Counts per verdict (sorted keys) for both layers."""
    def counts(col: str) -> dict[str, int]:
        if verdicts.height == 0:
            return {}
        vc = verdicts.group_by(col).len().sort(col)
        return {str(k): int(v) for k, v in zip(vc[col].to_list(), vc["len"].to_list(), strict=True)}

    return {"records": verdicts.height, "authenticity": counts("authenticity"), "chain": counts("chain")}


class StreamingVerifier:
    """Authenticity per batch, chain once at the end: for callers that stream batches (validate).

        sv = StreamingVerifier(keys, legacy=False)
        for batch in batches:                     # frames with source, line, kind, raw
            auth = sv.batch(batch)                # same rows: authenticity, authenticity_reason
        chain = sv.finish()                       # every row seen: source, line, chain, chain_reason

    `submit(batch)` / `collect(pending)` split `batch` in two so a caller can read the next batch
    while the workers verify this one. Only the small per-record link columns are kept between
    batches, never the raw records; chain hashes of signed rows come back from the workers.
    """

    def __init__(self, keys: KeyRing | None, *, legacy: bool = False, jobs: int | None = None,
                 across_files: bool = False) -> None:
        self.keys = keys if keys is not None else KeyRing(use_env=True)
        self.legacy = legacy
        self.across_files = across_files
        self.pool = WorkerPool(jobs)
        self._links: list[pl.DataFrame] = []

    def submit(self, records: pl.DataFrame) -> Any:
        if records.height == 0:
            return records, None, None
        idx, wait = _submit(records, self.keys, self.legacy, self.pool, want_hash=True)
        return records, idx, wait

    def collect(self, pending: Any) -> pl.DataFrame:
        auth, links = self.decide(pending)
        if links is not None:
            self._links.append(links)
        return auth

    def decide(self, pending: Any) -> tuple[pl.DataFrame, pl.DataFrame | None]:
        """(authenticity columns, link columns) of a submitted batch, without keeping the links."""
        from engine.authenticity.chain import link_frame

        records, idx, wait = pending
        if wait is None:
            return pl.DataFrame(schema={"authenticity": pl.String, "authenticity_reason": pl.String}), None
        results = wait()
        known: list[str | None] = [None] * records.height
        for j, (_, _, h) in zip(idx.to_list(), results, strict=True):
            known[j] = h
        links = link_frame(records, hash_all=True, known=pl.Series(known, dtype=pl.String))
        return _auth_frame(records.height, idx, results), links

    def add_links(self, links: pl.DataFrame) -> None:
        """Link columns (chain.LINK_SCHEMA) decided elsewhere, in input order after those seen so far."""
        self._links.append(links)

    def batch(self, records: pl.DataFrame) -> pl.DataFrame:
        return self.collect(self.submit(records))

    def finish(self) -> pl.DataFrame:
        from engine.authenticity.chain import LINK_SCHEMA, verdicts_from_links

        self.pool.close()
        links = pl.concat(self._links) if self._links else pl.DataFrame(schema=LINK_SCHEMA)
        self._links = []
        if links.height == 0:
            return pl.DataFrame(schema={"source": pl.String, "line": pl.Int64, "chain": pl.String,
                                        "chain_reason": pl.String})
        verdicts = verdicts_from_links(links, across_files=self.across_files)
        return pl.concat([links.select("source", "line"), verdicts], how="horizontal")


def batch_frame(batch: Any) -> pl.DataFrame:
    """source, line, kind, raw of every record of an engine.io RecordBatch (typed and slow rows), by line."""
    schema = {"source": pl.String, "line": pl.Int64, "kind": pl.String, "raw": pl.String}
    frames = [part.typed.select(pl.lit(batch.source).alias("source"), "line", pl.lit(part.kind).alias("kind"), "raw")
              for part in batch.parts]
    slow = [(batch.source, line, part.kind, raw) for part in batch.parts for line, raw, _ in part.slow]
    frames.append(pl.DataFrame(slow, schema=schema, orient="row"))
    return pl.concat([f.cast(schema) for f in frames]).sort("line")
