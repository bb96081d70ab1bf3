"""Which training rows of a batch can have a char n-gram Jaccard >= t with some eval item.

A sound filter (it may keep rows that fail, never drops one that passes; `charexact` then
decides exactly). Per row A, with only the 5-gram hashes of the row:

1. Sizes. UB_n = len - n + 1 >= |A_n|; LB_5 = occupied buckets when the row's 5-gram hashes
   are thrown into 2^14 buckets (merging only undercounts), and LB_n = LB_5 - (n - 5) because
   |A_(n+1)| >= |A_n| - 1 (every n-gram but the last occurrence's extends to a distinct one).
   A row is *live* if some level has an eval size in its window [t LB_n, UB_n / t].
2. Rows whose window holds a loose eval item, or that are wide (see `charindex`), are
   candidates outright.
3. Every other live row probes its 5-grams against the anchors of its LB_5 band (a bitmap on
   the top hash bits rejects most positions, an equi-join finds the eval items anchoring the
   rest), hits are counted per (row, eval item) with one `bincount`, and a pair is a candidate
   if at some level n its length window holds and hits >= req_n(B) (`charindex`).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from engine.contamination.charindex import EPS, CharIndex
from engine.contamination.config import CHAR_NS
from engine.contamination.hashing import all_span_hashes, row_ngram_positions
from engine.contamination.index import Features

BUCKET_BITS = 14
LB_ROWS = 256
MAX_BINS = 1 << 22  # (rows x band members) counters per bincount


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenation of arange(s, s + c) for each (s, c)."""
    total = int(counts.sum())
    first = np.cumsum(counts) - counts
    return np.arange(total, dtype=np.int64) + np.repeat(starts - first, counts)


def _lower_bounds(local: np.ndarray, hashes: np.ndarray, n_local: int) -> np.ndarray:
    out = np.zeros(n_local, dtype=np.int64)
    bucket = (hashes >> np.uint64(64 - BUCKET_BITS)).astype(np.int64)
    cuts = np.searchsorted(local, np.arange(0, n_local + LB_ROWS, LB_ROWS))
    mat = np.zeros((LB_ROWS, 1 << BUCKET_BITS), dtype=bool)
    for i in range(cuts.size - 1):
        lo, hi = cuts[i], cuts[i + 1]
        if hi == lo:
            continue
        r0 = i * LB_ROWS
        mat[:] = False
        mat[local[lo:hi] - r0, bucket[lo:hi]] = True
        k = min(LB_ROWS, n_local - r0)
        out[r0 : r0 + k] = np.count_nonzero(mat[:k], axis=1)
    return out


def _in_window(sizes: np.ndarray, lb: np.ndarray, ub: np.ndarray, t: float) -> np.ndarray:
    left = np.searchsorted(sizes, t * lb - EPS, side="left")
    right = np.searchsorted(sizes, ub / t + EPS, side="right")
    return (ub > 0) & (right > left)


def char_candidates(f: Features, ci: CharIndex) -> np.ndarray:
    """Boolean per stream row: True where some char Jaccard >= ci.t is possible."""
    n_rows = f.n_rows
    lengths = f.stream.lengths
    cand = np.zeros(n_rows, dtype=bool)
    rows5 = np.flatnonzero(lengths >= 5)
    if rows5.size == 0 or ci.n_eval == 0:
        return cand
    t = ci.t
    local, starts = row_ngram_positions(lengths, rows5, 5)
    h5 = all_span_hashes(f.cprefix, 5)[starts]
    lb5 = np.zeros(n_rows, dtype=np.int64)
    lb5[rows5] = _lower_bounds(local, h5, rows5.size)
    ub = {n: np.clip(lengths - n + 1, 0, None) for n in CHAR_NS}
    lb = {n: np.where(ub[n] > 0, np.maximum(lb5 - (n - 5), 1), 0) for n in CHAR_NS}
    live = np.zeros(n_rows, dtype=bool)
    loose = np.zeros(n_rows, dtype=bool)
    for n in CHAR_NS:
        live |= _in_window(ci.sorted_sizes[n], lb[n], ub[n], t)
        loose |= _in_window(ci.loose_sizes[n], lb[n], ub[n], t)
    band = np.clip(np.searchsorted(ci.edges, lb5, side="right") - 1, 0, None)
    caps = np.array([ci.band_cap(i) for i in range(ci.edges.size)])
    wide = ub[5] > caps[band]
    cand |= live & (loose | wide)
    todo = live & ~cand
    pos_first = np.zeros(n_rows, dtype=np.int64)
    pos_count = np.zeros(n_rows, dtype=np.int64)
    pos_count[rows5] = ub[5][rows5]
    pos_first[rows5] = np.cumsum(pos_count[rows5]) - pos_count[rows5]
    sizes = ci.sizes
    for i in np.unique(band[todo]).tolist():
        b_i = ci.band(int(i))
        members = b_i.members.size
        if members == 0:
            continue
        rows_i = np.flatnonzero(todo & (band == i))
        step = max(1, MAX_BINS // members)
        for lo in range(0, rows_i.size, step):
            chunk = rows_i[lo : lo + step]
            idx = _ranges(pos_first[chunk], pos_count[chunk])
            a_pos = np.repeat(np.arange(chunk.size, dtype=np.int64), pos_count[chunk])
            hb = h5[idx]
            hit = np.flatnonzero(b_i.bitmap[(hb >> b_i.shift).astype(np.int64)])
            if hit.size == 0:
                continue
            joined = pl.DataFrame({"a": a_pos[hit], "g": hb[hit]}).join(b_i.postings, on="g", how="inner")
            if joined.height == 0:
                continue
            key = joined["a"].to_numpy() * members + joined["bl"].to_numpy()
            counts = np.bincount(key, minlength=chunk.size * members)
            key = key[counts[key] >= b_i.req_min[key % members]]
            if key.size == 0:
                continue
            key = np.unique(key)
            row = chunk[key // members]
            b = b_i.members[key % members]
            c = counts[key]
            ok = np.zeros(key.size, dtype=bool)
            for j, n in enumerate(CHAR_NS):
                s = sizes[b, j]
                ok |= ((s > 0) & (s >= t * lb[n][row] - EPS) & (t * s <= ub[n][row] + EPS)
                       & (c >= ci.req[b, j]))
            cand[row[ok]] = True
    return cand
