"""Which training rows of a batch can have a char n-gram Jaccard >= t with some eval item.

A sound filter (it may keep rows that fail, never drops one that passes; `charexact` then
decides exactly). Per row A, with only the 5-gram hashes of the row:

1. Sizes. UB_n = len - n + 1 >= |A_n|; LB_5 = occupied buckets when the row's 5-gram hashes
   are thrown into 2^14 buckets (merging only undercounts), and LB_n = LB_5 - (n - 5) because
   |A_(n+1)| >= |A_n| - 1 (every n-gram but the last occurrence's extends to a distinct one).
   A row is *live* if some level has an eval size in its window [t LB_n, UB_n / t].
2. Rows whose window holds a loose eval item, or that are wide (see `charindex`), are
   candidates outright.
3. Every other live row probes its 5-grams against the anchors of its LB_5 band: the batch is
   featurised in length order, so a band's rows are a few contiguous runs of the stream and a
   run probes a slice of the all-positions 5-gram hash array; an occupancy table on the top hash
   bits rejects most positions, the slot directory expands the rest to (hash, member) postings
   and equal hashes are kept. Hits are summed per (row, group of 32 size-sorted members) with one
   `bincount`: a group whose sum is below the smallest requirement of its members cannot hold a
   candidate. The rest are counted per (row, eval item), and a pair is a candidate if at some
   level n its length window holds and hits >= req_n(B) (`charindex`). Hits count positions, so
   a repeated anchor counts more than once: that only loosens the filter.
"""

from __future__ import annotations

import numpy as np

from engine.contamination.charindex import EPS, GROUP, CharIndex
from engine.contamination.config import CHAR_NS
from engine.contamination.hashing import all_span_hashes
from engine.contamination.index import Features

BUCKET_BITS = 14
LB_ROWS = 256
MAX_BINS = 1 << 24  # (rows x band members) pairs per probe run
GAP = 32  # rows of other bands tolerated inside one contiguous probe run


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenation of arange(s, s + c) for each (s, c)."""
    total = int(counts.sum())
    first = np.cumsum(counts) - counts
    return np.arange(total, dtype=np.int64) + np.repeat(starts - first, counts)


def _lower_bounds(h5: np.ndarray, offsets: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """LB_5 per stream row: occupied buckets over the row's positions, minus the 4 positions
    whose spans cross the row end (each adds at most one bucket)."""
    n_rows = lengths.size
    out = np.zeros(n_rows, dtype=np.int64)
    mat = np.zeros(LB_ROWS << BUCKET_BITS, dtype=bool)
    for r0 in range(0, n_rows, LB_ROWS):
        r1 = min(r0 + LB_ROWS, n_rows)
        p0, p1 = int(offsets[r0]), min(int(offsets[r1 - 1] + lengths[r1 - 1]), h5.size)
        if p1 <= p0:
            continue
        local = np.repeat(np.arange(r1 - r0, dtype=np.int64) << BUCKET_BITS, lengths[r0:r1])[: p1 - p0]
        mat[:] = False
        mat[local + (h5[p0:p1] >> np.uint64(64 - BUCKET_BITS)).astype(np.int64)] = True
        out[r0:r1] = np.count_nonzero(mat[: (r1 - r0) << BUCKET_BITS].reshape(r1 - r0, -1), axis=1)
    return np.where(lengths >= 5, np.maximum(out - 4, 1), 0)


def _in_window(sizes: np.ndarray, lb: np.ndarray, ub: np.ndarray, t: float) -> np.ndarray:
    left = np.searchsorted(sizes, t * lb - EPS, side="left")
    right = np.searchsorted(sizes, ub / t + EPS, side="right")
    return (ub > 0) & (right > left)


def _runs(rows: np.ndarray, max_rows: int) -> list[tuple[int, int]]:
    """Cover sorted `rows` by stream row ranges [lo, hi] with small gaps, at most max_rows each."""
    out = []
    lo = prev = int(rows[0])
    for r in rows[1:].tolist():
        if r - prev > GAP or r - lo >= max_rows:
            out.append((lo, prev))
            lo = r
        prev = r
    out.append((lo, prev))
    return out


def char_candidates(f: Features, ci: CharIndex) -> np.ndarray:
    """Boolean per stream row: True where some char Jaccard >= ci.t is possible."""
    n_rows = f.n_rows
    lengths = f.stream.lengths
    cand = np.zeros(n_rows, dtype=bool)
    if not (lengths >= 5).any() or ci.n_eval == 0:
        return cand
    t = ci.t
    offsets = np.cumsum(lengths) - lengths
    h5 = all_span_hashes(f.cprefix, 5)
    lb5 = _lower_bounds(h5, offsets, lengths)
    ub = {n: np.clip(lengths - n + 1, 0, None) for n in CHAR_NS}
    lb = {n: np.where(ub[n] > 0, np.maximum(lb5 - (n - 5), 1), 0) for n in CHAR_NS}
    live = np.zeros(n_rows, dtype=bool)
    loose = np.zeros(n_rows, dtype=bool)
    for n in CHAR_NS:
        live |= _in_window(ci.sorted_sizes[n], lb[n], ub[n], t)
        loose |= _in_window(ci.loose_sizes[n], lb[n], ub[n], t)
    band = np.clip(np.searchsorted(ci.edges, lb5, side="right") - 1, 0, None)
    caps = np.array([ci.band_cap(i) for i in range(ci.edges.size)])
    cand |= live & (loose | (ub[5] > caps[band]))
    todo = live & ~cand
    row_end = offsets + lengths
    for i in np.unique(band[todo]).tolist():
        b_i = ci.band(int(i))
        members = b_i.members.size
        if members == 0:
            continue
        in_band = todo & (band == i)
        for lo, hi in _runs(np.flatnonzero(in_band), max(1, MAX_BINS // members)):
            p0, p1 = int(offsets[lo]), int(row_end[hi]) - 4
            hb = h5[p0:p1]
            hit = np.flatnonzero(b_i.occupied[(hb >> b_i.shift).astype(np.int64)])
            if hit.size == 0:
                continue
            g = hb[hit]
            hit += p0
            row = np.searchsorted(row_end, hit, side="right")
            ok = in_band[row] & (hit <= row_end[row] - 5)
            g, row = g[ok], row[ok]
            slot = (g >> b_i.shift).astype(np.int64)
            first = b_i.start[slot]
            count = b_i.start[slot + 1] - first
            idx = _ranges(first, count)
            rep = np.repeat(np.arange(g.size), count)
            same = b_i.post_g[idx] == g[rep]
            a = row[rep[same]] - lo
            bl = b_i.post_bl[idx[same]]
            # coarse counts per (row, group of GROUP members) bound every pair's count in the group
            n_groups = (members + GROUP - 1) // GROUP
            coarse = a * n_groups + bl // GROUP
            sums = np.bincount(coarse, minlength=(hi - lo + 1) * n_groups)
            keep = sums[coarse] >= b_i.group_req[bl // GROUP]
            if not keep.any():
                continue
            key, c = np.unique(a[keep] * members + bl[keep], return_counts=True)
            pair_row = key // members + lo
            b = b_i.members[key % members]
            passes = np.zeros(key.size, dtype=bool)
            for j, n in enumerate(CHAR_NS):
                s = ci.sizes[b, j]
                passes |= ((s > 0) & (s >= t * lb[n][pair_row] - EPS) & (t * s <= ub[n][pair_row] + EPS)
                           & (c >= ci.req[b, j]))
            cand[pair_row[passes]] = True
    return cand
