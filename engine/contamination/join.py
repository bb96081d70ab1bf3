"""Hashed n-gram sets, exact intersection counts and exact membership filters.

Sets are long frames `(r, g)`: row id and 64-bit n-gram hash, one row per distinct n-gram of a
text. An intersection |A ∩ B| is the number of rows of the equi-join on `g`, grouped by pair:
only pairs that share at least one n-gram are ever materialised (token n-grams; the char path
uses sparse products, `charexact`).
"""

from __future__ import annotations

import numpy as np
import polars as pl

_EPS = 1e-9


def dedupe(rows: np.ndarray, hashes: np.ndarray) -> pl.DataFrame:
    """Distinct (r, g) pairs."""
    return pl.DataFrame({"r": rows.astype(np.int64, copy=False), "g": hashes}).unique(maintain_order=False)


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """np.unique by sorting (numpy 2's hash-based unique is far slower on 64-bit hashes)."""
    out = np.sort(values)
    if out.size:
        out = out[np.concatenate(([True], out[1:] != out[:-1]))]
    return out


def set_sizes(frame: pl.DataFrame, n_rows: int) -> np.ndarray:
    """|set| per row id 0..n_rows-1 (0 for rows without n-grams)."""
    out = np.zeros(n_rows, dtype=np.int64)
    if frame.height:
        counts = frame.group_by("r").len()
        out[counts["r"].to_numpy()] = counts["len"].to_numpy()
    return out


def pair_counts(train: pl.DataFrame, evals: pl.DataFrame) -> pl.DataFrame:
    """(a, b, c): c = |A ∩ B| for every pair sharing at least one n-gram."""
    return (
        train.rename({"r": "a"})
        .join(evals.rename({"r": "b"}), on="g", how="inner")
        .group_by("a", "b")
        .agg(pl.len().alias("c"))
    )


def prefix_length(size: np.ndarray, t: np.ndarray) -> np.ndarray:
    """|A| - ceil(t |A|) + 1, never too short: a tiny epsilon errs towards a longer prefix."""
    need = np.ceil(t * size - _EPS).clip(min=0)
    return (size - need + 1).astype(np.int64)


class HashFilter:
    """Exact membership of 64-bit hashes in a fixed set: a bitmap on the top bits rejects
    almost every non-member with one cache-friendly lookup, a binary search confirms the rest."""

    def __init__(self, members: np.ndarray) -> None:
        self.sorted = sorted_unique(members)
        bits = int(np.clip(np.ceil(np.log2(max(self.sorted.size, 1) * 16)), 10, 28))
        self.shift = np.uint64(64 - bits)
        bitmap = np.zeros(1 << bits, dtype=bool)
        bitmap[(self.sorted >> self.shift).astype(np.int64)] = True
        self.bitmap = np.packbits(bitmap, bitorder="little")

    def maybe(self, hashes: np.ndarray) -> np.ndarray:
        """False only for certain non-members."""
        if self.sorted.size == 0 or hashes.size == 0:
            return np.zeros(hashes.size, dtype=bool)
        top = (hashes >> self.shift).astype(np.int64)
        return ((self.bitmap[top >> 3] >> (top & 7).astype(np.uint8)) & 1).astype(bool)

    def contains(self, hashes: np.ndarray) -> np.ndarray:
        if self.sorted.size == 0 or hashes.size == 0:
            return np.zeros(hashes.size, dtype=bool)
        idx = np.flatnonzero(self.maybe(hashes))
        cand = hashes[idx]
        pos = np.searchsorted(self.sorted, cand).clip(max=self.sorted.size - 1)
        out = np.zeros(hashes.size, dtype=bool)
        out[idx[self.sorted[pos] == cand]] = True
        return out
