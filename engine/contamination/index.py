"""Featurising a batch of texts, and the eval-side index.

Both sides go through `featurize` (prepare, tokenise, prefix sums). The eval side (~10^4 items)
keeps in memory: distinct token n-grams (configured n) with set sizes, token 13-gram hashes, and
for each char n in 5..10 the distinct n-gram sets, their sizes, document frequencies and the
*anchors* of every item (see `charsim`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from engine.contamination.config import CHAR_NS, HIT_NGRAM
from engine.contamination.hashing import ngram_hashes
from engine.contamination.join import HashFilter, dedupe, prefix_length, set_sizes
from engine.contamination.normalize import Stream, prepare_stream
from engine.contamination.tokens import Tokens, char_prefix, tokenize

ANCHOR_EXTRA = 0.05  # K_B = max(1, ceil(ANCHOR_EXTRA * |B|)) required anchor hits


@dataclass(frozen=True)
class Features:
    stream: Stream
    cprefix: np.ndarray  # prefix sums over char values
    tokens: Tokens

    @property
    def n_rows(self) -> int:
        return self.stream.n_rows


def featurize(texts: pl.Series) -> Features:
    stream = prepare_stream(texts)
    cprefix = char_prefix(stream)
    return Features(stream, cprefix, tokenize(stream, cprefix))


def token_grams(f: Features, n: int) -> tuple[np.ndarray, np.ndarray]:
    return ngram_hashes(f.tokens.prefix, f.tokens.counts, n)


def char_grams(f: Features, n: int) -> tuple[np.ndarray, np.ndarray]:
    return ngram_hashes(f.cprefix, f.stream.lengths, n)


@dataclass(frozen=True)
class CharLevel:
    sets: pl.DataFrame  # (r, g) distinct
    sizes: np.ndarray
    sizes_sorted: np.ndarray  # nonzero sizes, sorted
    doc_freq: pl.DataFrame  # (g, df)
    anchors: pl.DataFrame  # (g, r): the first |B| - ceil(t|B|) + K_B n-grams of B by (df, g)
    need: np.ndarray  # K_B per eval row
    anchor_filter: HashFilter
    anchor_g: np.ndarray  # anchors sorted by hash ...
    anchor_b: np.ndarray  # ... and their eval rows


@dataclass(frozen=True)
class EvalIndex:
    n_eval: int
    ngram: int
    tok: pl.DataFrame  # (r, g) distinct token n-grams
    tok_sizes: np.ndarray
    tok_filter: HashFilter
    hit_filter: HashFilter  # token 13-grams
    char: dict[int, CharLevel]


def _anchors(sets: pl.DataFrame, sizes: np.ndarray, doc_freq: pl.DataFrame, t: float,
             background: pl.DataFrame | None) -> tuple[pl.DataFrame, np.ndarray]:
    extra = np.maximum(1, np.ceil(ANCHOR_EXTRA * sizes - 1e-9)).astype(np.int64)
    missing = prefix_length(sizes, np.full(sizes.size, t)) - 1  # m_B: most n-grams A may lack
    plen = np.minimum(missing + extra, sizes)
    need = plen - missing  # >= 1 whenever |B| > 0 and t > 0
    ordered = sets.join(doc_freq, on="g", how="left")
    if background is not None:
        ordered = ordered.join(background, on="g", how="left").with_columns(pl.col("bg").fill_null(0))
    else:
        ordered = ordered.with_columns(pl.lit(0, dtype=pl.Int64).alias("bg"))
    ordered = ordered.sort("r", "bg", "df", "g")
    r = ordered["r"].to_numpy()
    first = np.searchsorted(r, r, side="left")
    keep = np.arange(r.size) - first < plen[r]
    return ordered.filter(pl.Series(keep)).select("g", "r"), need


def _background(sample: pl.Series | None, eval_sets: dict[int, pl.DataFrame]) -> dict[int, pl.DataFrame | None]:
    """How many sample training texts contain each eval char n-gram: anchors avoid the common ones."""
    if sample is None or len(sample) == 0:
        return {k: None for k in eval_sets}
    f = featurize(sample)
    out: dict[int, pl.DataFrame | None] = {}
    for k, sets in eval_sets.items():
        grams = dedupe(*char_grams(f, k))
        out[k] = (grams.join(sets.select("g").unique(), on="g", how="semi")
                  .group_by("g").agg(pl.len().cast(pl.Int64).alias("bg")))
    return out


def build_eval_index(texts: pl.Series, ngram: int, char_threshold: float,
                     background: pl.Series | None = None) -> EvalIndex:
    """Index the eval side. `background` (a sample of training texts) only orders the anchors:
    any order is exact, one that avoids n-grams common in training text is fast."""
    f = featurize(texts)
    n = f.n_rows
    order = f.stream.order  # stream row -> input row: index rows are input rows

    def frame(rows: np.ndarray, hashes: np.ndarray) -> pl.DataFrame:
        return dedupe(order[rows], hashes)

    tok = frame(*token_grams(f, ngram))
    hit = token_grams(f, HIT_NGRAM)[1]
    char = {}
    all_sets = {k: frame(*char_grams(f, k)) for k in CHAR_NS}
    bg = _background(background, all_sets)
    for k in CHAR_NS:
        sets = all_sets[k]
        sizes = set_sizes(sets, n)
        doc_freq = sets.group_by("g").agg(pl.len().cast(pl.Int64).alias("df"))
        anchors, need = _anchors(sets, sizes, doc_freq, min(char_threshold, 1.0), bg[k])
        by_g = anchors.sort("g", "r")
        char[k] = CharLevel(sets, sizes, np.sort(sizes[sizes > 0]), doc_freq, anchors, need,
                            HashFilter(anchors["g"].to_numpy()), by_g["g"].to_numpy(), by_g["r"].to_numpy())
    return EvalIndex(n, ngram, tok, set_sizes(tok, n), HashFilter(tok["g"].to_numpy()), HashFilter(hit), char)
