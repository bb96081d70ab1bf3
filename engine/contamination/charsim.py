"""The char n-gram path: max over eval items and n = 5..10 of char n-gram Jaccard.

Hashing and joining every char n-gram of every training text for six values of n is far too
much work, so candidates come from an exact count filter on *anchors*:

For an eval item B (set B_n of distinct n-grams) and threshold t, J(A, B) >= t implies
|A ∩ B| >= ceil(t |B|), so at most m_B = |B| - ceil(t |B|) n-grams of B are missing from A.
Take any m_B + K_B n-grams of B (its anchors): at least K_B of them must be in A. We choose
them as B's rarest n-grams on the eval side (order: document frequency, then hash), so a
training text meets them only if it really shares unusual text with B. Per training batch, one
membership test over every n-gram position (a bitmap lookup) keeps the rare anchor hits;
pairs with >= K_B hits inside the length window (|B| <= (L_A - n + 1) / t) are candidates, and
only their training texts get exact n-gram sets and exact intersection counts.

For per-row thresholds (the exact best char score of a flagged row, or t = 0 in the tests),
`prefix_scores` uses the one-sided prefix filter of `join.prefix_candidates` instead: it needs
the exact n-gram sets of those rows, which is fine because they are few.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from engine.contamination.config import CHAR_NS
from engine.contamination.index import EvalIndex, Features, char_grams
from engine.contamination.join import dedupe, prefix_candidates, set_sizes, verify

_EPS = 1e-9
_BUCKET_BITS = 11
_LB_CHUNK = 1024


def _row_mask(n_rows: int, rows: np.ndarray) -> np.ndarray:
    mask = np.zeros(n_rows, dtype=bool)
    mask[rows] = True
    return mask


def _exact_sets(f: Features, n: int, rows: np.ndarray) -> pl.DataFrame:
    r, g = char_grams(f, n)
    sel = _row_mask(f.n_rows, rows)[r]
    return dedupe(r[sel], g[sel])


def _best(found: list[pl.DataFrame], n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    best = np.full(n_rows, np.nan)
    best_b = np.full(n_rows, -1, dtype=np.int64)
    if found:
        top = pl.concat(found).sort(["a", "j", "b"], descending=[False, True, False]).unique("a", keep="first")
        a = top["a"].to_numpy()
        best[a] = top["j"].to_numpy()
        best_b[a] = top["b"].to_numpy()
    return best, best_b


def _score_pairs(pairs: pl.DataFrame, sets: pl.DataFrame, a_sizes: np.ndarray, level_sets: pl.DataFrame,
                 b_sizes: np.ndarray, t: np.ndarray) -> pl.DataFrame:
    counted = verify(pairs, sets, level_sets)
    a = counted["a"].to_numpy()
    b = counted["b"].to_numpy()
    c = counted["c"].to_numpy().astype(np.int64)
    sa, sb = a_sizes[a], b_sizes[b]
    jac = np.where((sa > 0) & (sb > 0), c / np.maximum(sa + sb - c, 1), 0.0)
    keep = jac >= t[a]
    return pl.DataFrame({"a": a[keep], "b": b[keep], "j": jac[keep]})


def distinct_lower_bound(f: Features, n: int) -> np.ndarray:
    """Lower bound of |A_n| per row: occupied buckets when the n-gram hashes of a row are thrown
    into 2^11 buckets (merging only undercounts)."""
    out = np.zeros(f.n_rows, dtype=np.int64)
    r, g = char_grams(f, n)
    bucket = (g >> np.uint64(64 - _BUCKET_BITS)).astype(np.int64)
    for lo in range(0, f.n_rows, _LB_CHUNK):
        hi = min(lo + _LB_CHUNK, f.n_rows)
        a, b = np.searchsorted(r, [lo, hi])
        bitmap = np.zeros((hi - lo, 1 << _BUCKET_BITS), dtype=bool)
        bitmap[r[a:b] - lo, bucket[a:b]] = True
        out[lo:hi] = bitmap.sum(axis=1)
    return out


def _live_rows(f: Features, index: EvalIndex, t: float) -> tuple[np.ndarray, np.ndarray]:
    """Rows for which some n leaves an eval size inside the length window [t LB_n, UB_n / t].

    UB_n = L - n + 1. LB_n uses |A_(k+1)| >= |A_k| - 1 (every k-gram but possibly the last one
    extends to a distinct (k+1)-gram), so |A_n| >= |A_5| - (n - 5) >= buckets_5 - (n - 5).
    """
    lengths = f.stream.lengths
    lb5 = distinct_lower_bound(f, 5)
    live = np.zeros(f.n_rows, dtype=bool)
    for n in CHAR_NS:
        sizes = index.char[n].sizes_sorted
        upper = np.clip(lengths - n + 1, 0, None)
        lower = np.maximum(lb5 - (n - 5), (upper > 0).astype(np.int64))
        left = np.searchsorted(sizes, t * lower - _EPS, side="left")
        right = np.searchsorted(sizes, upper / t + _EPS, side="right")
        live |= (upper > 0) & (right > left)
    return live, lb5


def anchor_scores(f: Features, index: EvalIndex, t: float) -> tuple[np.ndarray, np.ndarray]:
    """(best char Jaccard if >= t else NaN, its eval row or -1) per stream row."""
    n_rows = f.n_rows
    if t > 1.0 or n_rows == 0:
        return np.full(n_rows, np.nan), np.full(n_rows, -1, dtype=np.int64)
    tt = np.full(n_rows, t)
    live, lb5 = _live_rows(f, index, t)
    lengths = f.stream.lengths
    n_eval = max(index.n_eval, 1)
    found = []
    for n in CHAR_NS:
        level = index.char[n]
        if level.anchor_g.size == 0 or not live.any():
            continue
        r, g = char_grams(f, n)
        sel = np.flatnonzero(live[r])
        sel = sel[level.anchor_filter.maybe(g[sel])]
        rq, gq = r[sel], g[sel]
        lo = np.searchsorted(level.anchor_g, gq, side="left")
        cnt = np.searchsorted(level.anchor_g, gq, side="right") - lo
        total = int(cnt.sum())
        if total == 0:
            continue
        # expand each hit to the eval rows anchoring that n-gram; repeated n-grams of a text are
        # counted again, which only makes the filter looser (never drops a true pair)
        a = np.repeat(rq, cnt)
        b = level.anchor_b[np.repeat(lo - (np.cumsum(cnt) - cnt), cnt) + np.arange(total)]
        sb = level.sizes[b]
        upper = np.clip(lengths[a] - n + 1, 0, None)
        lower = np.maximum(lb5[a] - (n - 5), 1)
        ok = (t * sb <= upper + _EPS) & (sb >= t * lower - _EPS)
        keys, k = np.unique(a[ok] * n_eval + b[ok], return_counts=True)
        pa, pb = keys // n_eval, keys % n_eval
        good = k >= level.need[pb]
        if not good.any():
            continue
        pairs = pl.DataFrame({"a": pa[good], "b": pb[good]})
        rows = np.unique(pa[good])
        sets = _exact_sets(f, n, rows)
        found.append(_score_pairs(pairs, sets, set_sizes(sets, n_rows), level.sets, level.sizes, tt))
    return _best(found, n_rows)


def prefix_scores(f: Features, index: EvalIndex, t: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact best char Jaccard for `rows` whose best is >= t[row] (t = 0: the exact maximum)."""
    n_rows = f.n_rows
    found = []
    for n in CHAR_NS:
        level = index.char[n]
        if level.sets.height == 0 or rows.size == 0:
            continue
        sets = _exact_sets(f, n, rows)
        a_sizes = set_sizes(sets, n_rows)
        pairs = prefix_candidates(sets, a_sizes, t, level.doc_freq, level.sets)
        if pairs.height == 0:
            continue
        a = pairs["a"].to_numpy()
        b = pairs["b"].to_numpy()
        sa, sb, ta = a_sizes[a], level.sizes[b], t[a]
        pairs = pairs.filter(pl.Series((sb >= ta * sa - _EPS) & (ta * sb <= sa + _EPS)))
        if pairs.height:
            found.append(_score_pairs(pairs, sets, a_sizes, level.sets, level.sizes, t))
    best, best_b = _best(found, n_rows)
    zero = _row_mask(n_rows, rows) & (t <= 0) & np.isnan(best)
    best[zero] = 0.0
    return best, best_b


def pair_scores(f: Features, index: EvalIndex, a_rows: np.ndarray, b_rows: np.ndarray) -> np.ndarray:
    """Exact max over n of char Jaccard for explicit (stream row, eval row) pairs."""
    out = np.zeros(a_rows.size)
    if a_rows.size == 0:
        return out
    pairs = pl.DataFrame({"a": a_rows.astype(np.int64), "b": b_rows.astype(np.int64)})
    for n in CHAR_NS:
        level = index.char[n]
        sets = _exact_sets(f, n, np.unique(a_rows))
        a_sizes = set_sizes(sets, f.n_rows)
        counted = verify(pairs.unique(), sets, level.sets)
        joined = pairs.with_row_index("k").join(counted, on=["a", "b"], how="left").sort("k")
        c = joined["c"].fill_null(0).to_numpy().astype(np.int64)
        sa, sb = a_sizes[a_rows], level.sizes[b_rows]
        jac = np.where((sa > 0) & (sb > 0), c / np.maximum(sa + sb - c, 1), 0.0)
        out = np.maximum(out, jac)
    return out
