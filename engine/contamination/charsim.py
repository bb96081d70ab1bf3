"""The char n-gram path: max over eval items and n = 5..10 of char n-gram Jaccard.

Training texts have ~10^3 characters, so hashing every char n-gram of every training text for
six values of n (and joining them all against the eval side) is far too much work. Three exact
filters keep the work proportional to the plausible pairs:

1. Length filter on an upper bound. |A_n| <= L - n + 1 (L = length in code points). Jaccard >= t
   needs t|A| <= |B| <= |A|/t, so a text whose bound leaves no eval size in range is done.
2. Length filter on a lower bound. The number of distinct n-grams satisfies
   |A_(n+1)| >= |A_n| - 1 (each n-gram but possibly the last one extends to a distinct
   (n+1)-gram), so |A_n| >= |A_5| - (n - 5). |A_5| is bounded below by the number of occupied
   buckets when the 5-gram hashes of a text are thrown into 2^13 buckets (merging can only
   undercount). Long training texts against short eval items stop here.
3. Survivors get exact n-gram sets; candidates come from the one-sided prefix filter
   (`join.prefix_candidates`) within the size window, and their intersections are counted exactly.

`char_scores` takes a per-row threshold t_a and returns, for every row whose best char Jaccard
is >= t_a, that best value (exact) and the eval row attaining it; other rows get NaN (meaning
"below t_a"). t_a = 0 asks for the exact maximum whatever it is.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from engine.contamination.config import CHAR_NS
from engine.contamination.hashing import ngram_hashes, ngram_hashes_multi
from engine.contamination.index import EvalIndex, PreparedBatch
from engine.contamination.join import dedupe, prefix_candidates, set_sizes, verify

_EPS = 1e-9
_BUCKET_BITS = 13
_LB_ROW_CHUNK = 4096


def _window_nonempty(sizes_sorted: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Is there an eval size s with lo <= s <= hi (per row)?"""
    left = np.searchsorted(sizes_sorted, lo - _EPS, side="left")
    right = np.searchsorted(sizes_sorted, hi + _EPS, side="right")
    return right > left


def _subset(lengths: np.ndarray, values: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = np.zeros(lengths.size, dtype=bool)
    keep[rows] = True
    return lengths[rows], values[np.repeat(keep, lengths)]


def distinct_5gram_lower_bound(lengths: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Lower bound of |A_5| per row: occupied hash buckets (collisions only undercount)."""
    out = np.zeros(lengths.size, dtype=np.int64)
    starts = np.concatenate(([0], np.cumsum(lengths)))
    for lo in range(0, lengths.size, _LB_ROW_CHUNK):
        hi = min(lo + _LB_ROW_CHUNK, lengths.size)
        vals = values[starts[lo] : starts[hi]]
        rows, hashes = ngram_hashes(lengths[lo:hi], vals, 5)
        bitmap = np.zeros((hi - lo, 1 << _BUCKET_BITS), dtype=np.uint8)
        bitmap[rows, (hashes >> np.uint64(64 - _BUCKET_BITS)).astype(np.int64)] = 1
        out[lo:hi] = bitmap.sum(axis=1, dtype=np.int64)
    return out


def _candidate_rows(index: EvalIndex, lower: dict[int, np.ndarray], upper: dict[int, np.ndarray],
                    t: np.ndarray) -> np.ndarray:
    """Rows for which some n has an eval size in [t * lower_n, upper_n / t]."""
    tt = np.where(t > 0, t, 1.0)
    ok = np.zeros(t.size, dtype=bool)
    for n in CHAR_NS:
        sizes = index.char_sizes_sorted[n]
        if sizes.size == 0:
            continue
        lo = np.where(t > 0, t * lower[n], 1.0)
        hi = np.where(t > 0, upper[n] / tt, np.inf)
        ok |= (upper[n] > 0) & _window_nonempty(sizes, lo, hi)
    return ok


def char_scores(batch: PreparedBatch, index: EvalIndex, t: np.ndarray,
                rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(best char Jaccard or NaN, best eval row or -1) for each row of `batch` (see module doc).

    `rows` restricts the work to those row ids (others get NaN / -1).
    """
    n_rows = batch.n_rows
    best = np.full(n_rows, np.nan)
    best_b = np.full(n_rows, -1, dtype=np.int64)
    t = np.asarray(t, dtype=np.float64)
    active = np.zeros(n_rows, dtype=bool)
    if rows is None:
        active[:] = True
    else:
        active[rows] = True
    requested = active.copy()
    active &= t <= 1.0
    lengths = batch.char_lengths
    upper = {n: np.clip(lengths - n + 1, 0, None) for n in CHAR_NS}
    lower = {n: (upper[n] > 0).astype(np.int64) for n in CHAR_NS}
    active &= _candidate_rows(index, lower, upper, t)
    idx = np.flatnonzero(active & (t > 0))
    if idx.size:
        sub_len, sub_vals = _subset(lengths, batch.char_vals, idx)
        lb5 = distinct_5gram_lower_bound(sub_len, sub_vals)
        for n in CHAR_NS:
            lower[n][idx] = np.maximum(lower[n][idx], lb5 - (n - 5))
        active &= _candidate_rows(index, lower, upper, t)
    idx = np.flatnonzero(active)
    if idx.size == 0:
        best[requested & (t <= 0)] = 0.0
        return best, best_b
    sub_len, sub_vals = _subset(lengths, batch.char_vals, idx)
    sub_t = t[idx]
    found = []
    for local_rows, hashes, n in ngram_hashes_multi(sub_len, sub_vals, CHAR_NS):
        eval_sets = index.char[n]
        if eval_sets.height == 0:
            continue
        train_sets = dedupe(local_rows, hashes)
        a_sizes = set_sizes(train_sets, idx.size)
        pairs = prefix_candidates(train_sets, a_sizes, sub_t, index.char_df[n], eval_sets)
        if pairs.height == 0:
            continue
        b_sizes_all = index.char_sizes[n]
        a = pairs["a"].to_numpy()
        b = pairs["b"].to_numpy()
        sa, sb, ta = a_sizes[a], b_sizes_all[b], sub_t[a]
        in_window = (sb >= ta * sa - _EPS) & (ta * sb <= sa + _EPS)
        pairs = pairs.filter(pl.Series(in_window))
        if pairs.height == 0:
            continue
        counted = verify(pairs, train_sets, eval_sets)
        a = counted["a"].to_numpy()
        b = counted["b"].to_numpy()
        c = counted["c"].to_numpy().astype(np.int64)
        union = a_sizes[a] + b_sizes_all[b] - c
        jac = np.where(union > 0, c / np.maximum(union, 1), 0.0)
        keep = jac >= sub_t[a]
        found.append(pl.DataFrame({"a": a[keep], "b": b[keep], "j": jac[keep]}))
    if found:
        allp = pl.concat(found).sort(["a", "j", "b"], descending=[False, True, False]).unique("a", keep="first")
        a = allp["a"].to_numpy()
        best[idx[a]] = allp["j"].to_numpy()
        best_b[idx[a]] = allp["b"].to_numpy()
    zero_t = requested & (t <= 0) & np.isnan(best)
    best[zero_t] = 0.0
    return best, best_b


def pair_char_jaccard(batch: PreparedBatch, index: EvalIndex, a_rows: np.ndarray, b_rows: np.ndarray) -> np.ndarray:
    """Exact max over n of char Jaccard for explicit (training row, eval row) pairs."""
    out = np.zeros(a_rows.size)
    if a_rows.size == 0:
        return out
    uniq, inverse = np.unique(a_rows, return_inverse=True)
    sub_len, sub_vals = _subset(batch.char_lengths, batch.char_vals, uniq)
    pairs = pl.DataFrame({"a": inverse.astype(np.int64), "b": b_rows.astype(np.int64)})
    for local_rows, hashes, n in ngram_hashes_multi(sub_len, sub_vals, CHAR_NS):
        train_sets = dedupe(local_rows, hashes)
        a_sizes = set_sizes(train_sets, uniq.size)
        counted = verify(pairs.unique(), train_sets, index.char[n])
        joined = pairs.with_row_index("k").join(counted, on=["a", "b"], how="left").sort("k")
        cc = joined["c"].fill_null(0).to_numpy().astype(np.int64)
        sa = a_sizes[inverse]
        sb = index.char_sizes[n][b_rows]
        union = sa + sb - cc
        jac = np.where((sa > 0) & (sb > 0), cc / np.maximum(union, 1), 0.0)
        out = np.maximum(out, jac)
    return out
