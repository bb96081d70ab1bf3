"""Token scores from exact intersection counts: Jaccard, containment, best eval item.

Jaccard(A, B) = |A ∩ B| / |A ∪ B|, 0 when either set is empty.
Containment of eval item B in training text A = |A ∩ B| / |B| (token n-grams); an eval item with
fewer than n tokens has no n-grams and containment 0 (it can still be caught by the char rule).
The best eval item of a training text is the one with the highest containment, then the highest
token Jaccard, then the lowest eval row: the item most of which is inside the training text.

Only training n-grams present on the eval side can contribute, so a membership filter keeps
those; set sizes |A| are computed only for the rows that share something (the others score 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from engine.contamination.config import HIT_NGRAM
from engine.contamination.index import EvalIndex, Features, token_grams
from engine.contamination.join import dedupe, pair_counts, set_sizes


@dataclass(frozen=True)
class TokenScores:
    jaccard: np.ndarray  # max over eval items
    containment: np.ndarray  # max over eval items
    best_b: np.ndarray  # -1 when no eval item shares an n-gram
    shared: np.ndarray  # |A ∩ B_best|


def token_scores(f: Features, index: EvalIndex) -> TokenScores:
    n_rows = f.n_rows
    jac = np.zeros(n_rows)
    cont = np.zeros(n_rows)
    best_b = np.full(n_rows, -1, dtype=np.int64)
    shared = np.zeros(n_rows, dtype=np.int64)
    rows, grams = token_grams(f, index.ngram)
    hit = index.tok_filter.contains(grams)
    if not hit.any():
        return TokenScores(jac, cont, best_b, shared)
    involved = np.zeros(n_rows, dtype=bool)
    involved[rows[hit]] = True
    sel = involved[rows]
    a_sizes = set_sizes(dedupe(rows[sel], grams[sel]), n_rows)
    counts = pair_counts(dedupe(rows[hit], grams[hit]), index.tok)
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


def any_hit(f: Features, index: EvalIndex) -> np.ndarray:
    """True where the training text shares at least one token 13-gram with any eval item."""
    out = np.zeros(f.n_rows, dtype=bool)
    rows, grams = token_grams(f, HIT_NGRAM)
    out[rows[index.hit_filter.contains(grams)]] = True
    return out
