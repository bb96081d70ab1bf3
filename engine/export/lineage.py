"""Lineage columns: evidence digests of source records and short task hashes.

`evidence_digest` is the SHA-256 of the canonical JSON (sorted keys, compact separators, UTF-8) of the
source record, so a training row can be traced to the exact record it came from whatever the spacing or
key order of the input line. Canonicalising needs a JSON parse per record, which no columnar library
offers; it runs in batches over the raw column (orjson). It is the one unavoidable per-record step of
export, so `start_digests` runs it on a Python thread while DuckDB (which releases the GIL) decodes.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import Future, ThreadPoolExecutor

import orjson
import polars as pl
import pyarrow as pa

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


def start_digests(pool: ThreadPoolExecutor, records: pa.Table) -> Future[pl.DataFrame]:
    """Digests of every record (rid, evidence_digest), computed in the background."""
    def work() -> pl.DataFrame:
        return pl.DataFrame({"rid": records.column("rid").to_numpy(),
                             "evidence_digest": evidence_digests(records.column("raw"))})
    return pool.submit(work)


def sha16(texts: pl.Series) -> pl.Series:
    """First 16 hex digits of SHA-256 over the UTF-8 text (the original's `sha16`), computed per distinct value."""
    uniq = texts.unique(maintain_order=True).drop_nulls()
    sha = hashlib.sha256
    hashes = pl.Series([sha(t.encode()).hexdigest()[:16] for t in uniq.to_list()], dtype=pl.String)
    lookup = pl.DataFrame({"t": uniq, "h": hashes})
    return (pl.DataFrame({"t": texts}).join(lookup, on="t", how="left", maintain_order="left")
            .get_column("h").alias(texts.name))
