"""Token scores from exact intersection counts: Jaccard, containment, best eval item.

Jaccard(A, B) = |A ∩ B| / |A ∪ B|, 0 when either set is empty.
Containment of eval item B in training text A = |A ∩ B| / |B| (token n-grams); an eval item with
fewer than n tokens has no n-grams and containment 0 (it can still be caught by the char rule).
The best eval item of a training text is the one with the highest containment, then the highest
token Jaccard, then the lowest eval row: the item most of which is inside the training text.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from engine.contamination.index import EvalIndex
from engine.contamination.join import pair_counts


@dataclass(frozen=True)
class TokenScores:
    jaccard: np.ndarray  # max over eval items
    containment: np.ndarray  # max over eval items
    best_b: np.ndarray  # -1 when no eval item shares an n-gram
    shared: np.ndarray  # |A ∩ B_best|


def token_scores(train_sets: pl.DataFrame, a_sizes: np.ndarray, index: EvalIndex) -> TokenScores:
    n_rows = a_sizes.size
    jac = np.zeros(n_rows)
    cont = np.zeros(n_rows)
    best_b = np.full(n_rows, -1, dtype=np.int64)
    shared = np.zeros(n_rows, dtype=np.int64)
    counts = pair_counts(train_sets, index.tok)
    if counts.height:
        a = counts["a"].to_numpy()
        b = counts["b"].to_numpy()
        c = counts["c"].to_numpy().astype(np.int64)
        sa, sb = a_sizes[a], index.tok_sizes[b]
        pj = c / (sa + sb - c)
        pc = c / sb
        np.maximum.at(jac, a, pj)
        np.maximum.at(cont, a, pc)
        frame = pl.DataFrame({"a": a, "b": b, "c": c, "j": pj, "k": pc})
        top = frame.sort(["a", "k", "j", "b"], descending=[False, True, True, False]).unique("a", keep="first")
        ta = top["a"].to_numpy()
        best_b[ta] = top["b"].to_numpy()
        shared[ta] = top["c"].to_numpy()
    return TokenScores(jac, cont, best_b, shared)


def any_hit(train_hit_sets: pl.DataFrame, index: EvalIndex, n_rows: int) -> np.ndarray:
    """True where the training text shares at least one token 13-gram with any eval item."""
    out = np.zeros(n_rows, dtype=bool)
    if train_hit_sets.height and index.hit.height:
        rows = train_hit_sets.join(index.hit.select("g").unique(), on="g", how="semi")["r"].unique().to_numpy()
        out[rows] = True
    return out
