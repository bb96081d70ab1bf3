"""Featurising a batch of texts, and the eval-side index.

Both sides go through `featurize` (prepare, tokenise, prefix sums). The eval side (~10^4 items)
keeps in memory: distinct token n-grams (configured n) with set sizes, token 13-gram hashes, and
the char index (`charindex`: exact n-gram incidence matrices for n = 5..10 and level-5 anchors).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from engine.contamination.charindex import CharIndex, build_char_index
from engine.contamination.config import CHAR_NS, HIT_NGRAM
from engine.contamination.hashing import ngram_hashes
from engine.contamination.join import HashFilter, dedupe, set_sizes
from engine.contamination.normalize import Stream, prepare_stream
from engine.contamination.tokens import Tokens, char_prefix, tokenize


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
class EvalIndex:
    n_eval: int
    ngram: int
    tok: pl.DataFrame  # (r, g) distinct token n-grams
    tok_sizes: np.ndarray
    tok_filter: HashFilter
    hit_filter: HashFilter  # token 13-grams
    char: CharIndex


def _background(sample: pl.Series | None, eval_grams: pl.DataFrame) -> pl.DataFrame | None:
    """How many sample training texts contain each eval 5-gram: anchors avoid the common ones."""
    if sample is None or len(sample) == 0:
        return None
    f = featurize(sample)
    grams = dedupe(*char_grams(f, 5))
    return (grams.join(eval_grams.select("g").unique(), on="g", how="semi")
            .group_by("g").agg(pl.len().cast(pl.Int64).alias("bg")))


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
    level_sets = {k: frame(*char_grams(f, k)) for k in CHAR_NS}
    char = build_char_index(f.cprefix, f.stream.lengths, order, n, level_sets, char_threshold,
                            _background(background, level_sets[5]))
    return EvalIndex(n, ngram, tok, set_sizes(tok, n), HashFilter(tok["g"].to_numpy()), HashFilter(hit), char)
