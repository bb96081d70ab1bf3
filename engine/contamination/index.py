"""Featurising a batch of texts and the eval-side index.

Both sides go through `prepare_batch` (normalise, tokenise, hash). The eval side (small: ~10^4
items) keeps every distinct n-gram set in memory: token n-grams for the configured n, token
13-grams (for `any_13gram_hit`), and char n-grams for n = 5..10, with their set sizes and the
document frequency of each char n-gram (the global order of the prefix filter).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from engine.contamination.config import CHAR_NS, HIT_NGRAM
from engine.contamination.hashing import char_values, ngram_hashes, ngram_hashes_multi, utf8_codepoints
from engine.contamination.join import dedupe, set_sizes
from engine.contamination.normalize import prepare_texts
from engine.contamination.tokens import token_hashes, tokenize


@dataclass(frozen=True)
class PreparedBatch:
    n_rows: int
    prepared: pl.Series  # normalised, lower-cased text
    token_counts: np.ndarray  # tokens per row
    token_values: np.ndarray  # flat 64-bit token hashes, rows in order
    char_lengths: np.ndarray  # code points per row
    char_vals: np.ndarray  # flat 64-bit per-character values, rows in order


def prepare_batch(texts: pl.Series) -> PreparedBatch:
    prepared, ascii_mask = prepare_texts(texts)
    counts, tok_values = token_hashes(tokenize(prepared, ascii_mask))
    lengths, cps = utf8_codepoints(prepared)
    return PreparedBatch(len(prepared), prepared, counts, tok_values, lengths.astype(np.int64), char_values(cps))


def token_sets(batch: PreparedBatch, n: int) -> pl.DataFrame:
    rows, hashes = ngram_hashes(batch.token_counts, batch.token_values, n)
    return dedupe(rows, hashes)


def char_sets(batch: PreparedBatch, ns: tuple[int, ...] = CHAR_NS) -> dict[int, pl.DataFrame]:
    return {n: dedupe(rows, hashes) for rows, hashes, n in ngram_hashes_multi(batch.char_lengths, batch.char_vals, ns)}


@dataclass(frozen=True)
class EvalIndex:
    n_eval: int
    ngram: int
    tok: pl.DataFrame  # (r, g) distinct token n-grams
    tok_sizes: np.ndarray
    hit: pl.DataFrame  # (r, g) distinct token 13-grams
    char: dict[int, pl.DataFrame]
    char_sizes: dict[int, np.ndarray]
    char_df: dict[int, pl.DataFrame]  # (g, df): number of eval items containing the n-gram
    char_sizes_sorted: dict[int, np.ndarray]


def build_eval_index(texts: pl.Series, ngram: int) -> EvalIndex:
    batch = prepare_batch(texts)
    n = batch.n_rows
    tok = token_sets(batch, ngram)
    hit = token_sets(batch, HIT_NGRAM)
    char = char_sets(batch)
    char_sizes = {k: set_sizes(v, n) for k, v in char.items()}
    char_df = {k: v.group_by("g").agg(pl.len().cast(pl.Int64).alias("df")) for k, v in char.items()}
    return EvalIndex(
        n_eval=n, ngram=ngram, tok=tok, tok_sizes=set_sizes(tok, n), hit=hit, char=char,
        char_sizes=char_sizes, char_df=char_df,
        char_sizes_sorted={k: np.sort(v[v > 0]) for k, v in char_sizes.items()},
    )
