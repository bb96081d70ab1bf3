"""Exact best char n-gram Jaccard (max over eval items and n = 5..10) for chosen training rows.

For each n, the distinct n-grams of the chosen rows become a sparse 0/1 matrix over the eval
vocabulary (n-grams absent from every eval item cannot be shared and are dropped); its product
with the eval incidence matrix (`charindex.ExactLevel`) is |A_n ∩ B_n| for every pair that shares
an n-gram, all at once. Jaccard = c / (|A_n| + |B_n| - c); a pair sharing nothing has Jaccard 0.
The best eval item is the one with the highest Jaccard, then the lowest eval row.

The cost is sum over the rows' n-grams of their eval document frequency, so this runs only on
rows the anchor filter could not clear and on flagged rows (a few per thousand), never on all.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from engine.contamination.charindex import CharIndex
from engine.contamination.config import CHAR_NS
from engine.contamination.hashing import row_ngram_positions, span_hashes
from engine.contamination.index import Features
from engine.contamination.join import dedupe, set_sizes, sorted_unique

PRODUCT_ROWS = 256  # rows per sparse product (bounds the pairs held at once)


def exact_char_best(f: Features, ci: CharIndex, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(best char Jaccard, its eval row or -1) per stream row; NaN / -1 for rows not in `rows`."""
    n_rows = f.n_rows
    best = np.full(n_rows, np.nan)
    best_b = np.full(n_rows, -1, dtype=np.int64)
    rows = sorted_unique(rows)
    if rows.size == 0:
        return best, best_b
    top_j = np.zeros(rows.size)
    top_b = np.full(rows.size, -1, dtype=np.int64)
    for n in CHAR_NS:
        level = ci.levels[n]
        local, starts = row_ngram_positions(f.stream.lengths, rows, n)
        if local.size == 0 or level.vocab.size == 0:
            continue
        sets = dedupe(local, span_hashes(f.cprefix, starts, starts + n))
        sa = set_sizes(sets, rows.size)
        g = sets["g"].to_numpy()
        pos = np.searchsorted(level.vocab, g).clip(max=level.vocab.size - 1)
        shared = level.vocab[pos] == g
        mat = sp.csr_matrix((np.ones(int(shared.sum()), dtype=np.int32), (sets["r"].to_numpy()[shared], pos[shared])),
                            shape=(rows.size, level.vocab.size))
        for lo in range(0, rows.size, PRODUCT_ROWS):
            _merge_best(mat[lo : lo + PRODUCT_ROWS] @ level.matrix, lo, sa, level.sizes, top_j, top_b)
    best[rows] = top_j
    best_b[rows] = top_b
    return best, best_b


def _merge_best(prod: sp.csr_matrix, lo: int, sa: np.ndarray, sb: np.ndarray, top_j: np.ndarray,
                top_b: np.ndarray) -> None:
    """Fold one product block (rows lo.., counts per eval column) into the running best per row:
    higher Jaccard wins, then the lower eval row (no sorting: per-row reductions over CSR)."""
    counts = np.diff(prod.indptr)
    nonempty = np.flatnonzero(counts)
    if nonempty.size == 0:
        return
    row = np.repeat(np.arange(counts.size), counts)
    b = prod.indices.astype(np.int64)
    c = prod.data.astype(np.int64)
    j = c / (sa[row + lo] + sb[b] - c)
    starts = prod.indptr[:-1][nonempty]
    jmax = np.maximum.reduceat(j, starts)
    at_max = j == np.repeat(jmax, counts[nonempty])
    bmin = np.minimum.reduceat(np.where(at_max, b, np.iinfo(np.int64).max), starts)
    r = nonempty + lo
    better = (jmax > top_j[r]) | ((jmax == top_j[r]) & ((top_b[r] < 0) | (bmin < top_b[r])))
    top_j[r[better]] = jmax[better]
    top_b[r[better]] = bmin[better]
