"""64-bit n-gram hashes over flat arrays of per-symbol random values.

Symbols (tokens, characters) are first mapped to independent-looking 64-bit values: tokens by
Polars' string hash, characters by a seeded random table over all code points. An n-gram
x_0..x_{n-1} hashes to  H = sum_j v(x_j) * P^(n-1-j)  mod 2^64  (one multiply-add per symbol and
per n, vectorised over the whole batch; n+1 grams reuse the n-gram hashes).

Collision bound (why a verdict does not depend on luck). For two distinct n-grams the difference
of their hashes is a linear form sum_c a_c * v(c) over the symbols c, where every a_c is a sum of
+-P^k with coefficients in {-1, 0, 1}. If the v(c) are uniform and independent, the form is zero
with probability 2^(s-64), where s = the 2-adic valuation of the coefficient (P odd keeps it
small: s <= MAX_VALUATION for every n <= 13, checked exhaustively by a test). So each pair of
distinct n-grams collides with probability <= 2^-56, and with k distinct n-grams in one run the
chance of ANY collision is <= k^2 / 2^57 (about k^2/2^65 in the generic case). A collision can only
merge two distinct n-grams; verdicts are recomputed from these hashes without a string check
(the bound is the argument): with the benchmark's k = 2.4e8 token 8-grams this is < 5e-4 for the
whole run, and a collision changes a score only if it involves an n-gram of an eval item.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import polars as pl
import pyarrow as pa

P = np.uint64(0x9E3779B97F4A7C15)
MAX_VALUATION = 8
_CHAR_TABLE_SEED = 20_251_125


@cache
def char_table() -> np.ndarray:
    """One random 64-bit value per Unicode code point (seeded, so runs are reproducible)."""
    return np.random.default_rng(_CHAR_TABLE_SEED).integers(0, 2**64 - 1, size=0x110000, dtype=np.uint64, endpoint=True)


def row_ids(lengths: np.ndarray) -> np.ndarray:
    return np.repeat(np.arange(lengths.size, dtype=np.int64), lengths)


def utf8_codepoints(texts: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """(per-row length in code points, flat code points) decoded from the Arrow buffer."""
    arr = texts.cast(pl.String).fill_null("").to_arrow()
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    arr = arr.cast(pa.large_string())
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset : arr.offset + len(arr) + 1]
    raw = np.frombuffer(arr.buffers()[2], dtype=np.uint8) if arr.buffers()[2] is not None else np.zeros(0, np.uint8)
    b = raw[offsets[0] : offsets[-1]].astype(np.uint32)
    rel = offsets - offsets[0]
    lead = (b & 0xC0) != 0x80
    if lead.all():
        return np.diff(rel), b
    cum = np.concatenate(([0], np.cumsum(lead)))
    lengths = np.diff(cum[rel])
    pos = np.flatnonzero(lead)
    padded = np.concatenate((b, np.zeros(3, np.uint32)))
    b0, b1, b2, b3 = padded[pos], padded[pos + 1] & 0x3F, padded[pos + 2] & 0x3F, padded[pos + 3] & 0x3F
    cp = np.where(
        b0 < 0x80, b0,
        np.where(b0 < 0xE0, ((b0 & 0x1F) << 6) | b1,
                 np.where(b0 < 0xF0, ((b0 & 0x0F) << 12) | (b1 << 6) | b2,
                          ((b0 & 0x07) << 18) | (b1 << 12) | (b2 << 6) | b3)))
    return lengths, cp


def char_values(codepoints: np.ndarray) -> np.ndarray:
    return char_table()[codepoints]


def ngram_hashes(lengths: np.ndarray, values: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(row id, hash) of every n-gram position (not deduplicated), rows in order."""
    for rows, hashes, _ in ngram_hashes_multi(lengths, values, (n,)):
        return rows, hashes
    raise AssertionError("unreachable")


def ngram_hashes_multi(lengths: np.ndarray, values: np.ndarray, ns: tuple[int, ...]):
    """Yield (row ids, hashes, n) for each n in increasing `ns`, extending the n-1 hashes."""
    total = int(values.size)
    ends = np.cumsum(lengths)
    end_of = np.repeat(ends, lengths)
    rows_all = row_ids(lengths)
    pos = np.arange(total, dtype=np.int64)
    h = values.copy()
    cur = 1
    with np.errstate(over="ignore"):
        for n in sorted(ns):
            while cur < n:
                m = total - cur
                if m <= 0:
                    h = h[:0]
                    cur = n
                    break
                h = h[:m] * P + values[cur : cur + m]
                cur += 1
            m = max(total - n + 1, 0)
            valid = pos[:m] + n <= end_of[:m]
            yield rows_all[:m][valid], h[:m][valid], n
