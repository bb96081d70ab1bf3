"""Batch entry points: the authenticity and chain layers of `engine validate` and `engine verify`.

Input frames have `source, line, kind, raw` (engine.io.load_records). Output frames keep the row
order. Rows that carry no signature are decided by a vectorized substring test; only rows with
`dsse_envelope` / `signature` (or escaped keys that could spell them) are parsed and verified in
Python, in batches, across worker processes when there are many.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import polars as pl

from engine.authenticity.chain import chain_verdicts
from engine.authenticity.dsse import UNSIGNED, Verdict, verify_raw_batch
from engine.authenticity.ed25519 import backend_name
from engine.authenticity.keys import KeyRing

#: below this many signed rows a worker pool costs more (process start-up) than it saves
PARALLEL_MIN_ROWS = 6000
_CHUNK = 4000


def default_jobs() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def _verify_parallel(raws: list[str], keys: KeyRing, legacy: bool, jobs: int) -> list[Verdict]:
    if jobs <= 1 or len(raws) < PARALLEL_MIN_ROWS:
        return verify_raw_batch(raws, keys, legacy)
    backend = backend_name()
    chunks = [raws[i:i + _CHUNK] for i in range(0, len(raws), _CHUNK)]
    out: list[Verdict] = []
    # spawn, not fork: the parent has polars' thread pool running, which fork would copy mid-state
    with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
        for part in pool.map(verify_raw_batch, chunks, [keys] * len(chunks), [legacy] * len(chunks),
                             [backend] * len(chunks)):
            out.extend(part)
    return out


def authenticity_layer(records: pl.DataFrame, keys: KeyRing | None, legacy: bool = False, *,
                       jobs: int | None = None) -> pl.DataFrame:
    """Columns `authenticity` (unsigned | dsse-valid | invalid | legacy-valid) and `authenticity_reason`.

    `keys=None` verifies with environment keys only (WASMAGENT_AEP_PUBKEY_<ID>).
    """
    ring = keys if keys is not None else KeyRing(use_env=True)
    raw = pl.col("raw")
    needs = records.select(
        (raw.str.contains("dsse_envelope", literal=True) | raw.str.contains('"signature"', literal=True)
         | raw.str.contains("\\u", literal=True)).fill_null(False).alias("m")
    )["m"]
    idx = needs.arg_true()
    verdicts = [UNSIGNED] * records.height
    reasons: list[str | None] = [None] * records.height
    if len(idx):
        raws = records["raw"].gather(idx).to_list()
        results = _verify_parallel(raws, ring, legacy, jobs if jobs is not None else default_jobs())
        for j, (v, r) in zip(idx.to_list(), results, strict=True):
            verdicts[j] = v
            reasons[j] = r
    return pl.DataFrame({
        "authenticity": pl.Series(verdicts, dtype=pl.String),
        "authenticity_reason": pl.Series(reasons, dtype=pl.String),
    })


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

    Only the small per-record link columns are kept between batches, never the raw records.
    """

    def __init__(self, keys: KeyRing | None, *, legacy: bool = False, jobs: int | None = None,
                 across_files: bool = False) -> None:
        self.keys = keys if keys is not None else KeyRing(use_env=True)
        self.legacy = legacy
        self.jobs = jobs
        self.across_files = across_files
        self._links: list[pl.DataFrame] = []

    def batch(self, records: pl.DataFrame) -> pl.DataFrame:
        from engine.authenticity.chain import link_frame

        if records.height == 0:
            return pl.DataFrame(schema={"authenticity": pl.String, "authenticity_reason": pl.String})
        self._links.append(link_frame(records, hash_all=True))
        return authenticity_layer(records, self.keys, self.legacy, jobs=self.jobs)

    def finish(self) -> pl.DataFrame:
        from engine.authenticity.chain import LINK_SCHEMA, verdicts_from_links

        links = pl.concat(self._links) if self._links else pl.DataFrame(schema=LINK_SCHEMA)
        self._links = []
        if links.height == 0:
            return pl.DataFrame(schema={"source": pl.String, "line": pl.Int64, "chain": pl.String,
                                        "chain_reason": pl.String})
        verdicts = verdicts_from_links(links, across_files=self.across_files)
        return pl.concat([links.select("source", "line"), verdicts], how="horizontal")
