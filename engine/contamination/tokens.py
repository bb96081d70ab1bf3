"""`\\w+` tokens of prepared texts, exactly as Python's `re` defines `\\w`.

Rust's regex `\\w` (Polars) is not Python's: it includes combining marks and `Other_Alphabetic`
symbols and excludes some numeric characters that Python accepts. So the word-character table
is built from Python's own `re` once per process (one pass over every code point) and tokens
are maximal runs of table hits within a row, found with vectorised boundary tests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import numpy as np

from engine.contamination.hashing import char_table, mix64, prefix_sums, span_hashes
from engine.contamination.normalize import Stream


@cache
def word_table() -> np.ndarray:
    """is_word[code point] exactly as `re.match(r"\\w", chr(cp))` (str patterns, Unicode)."""
    everything = "".join(map(chr, range(0x110000)))
    table = np.zeros(0x110000, dtype=bool)
    hits = [m.start() for m in re.finditer(r"\w", everything)]
    table[np.array(hits, dtype=np.int64)] = True
    return table


@dataclass(frozen=True)
class Tokens:
    counts: np.ndarray  # tokens per stream row
    values: np.ndarray  # flat 64-bit token values (mix64 of the span hash), rows in order
    prefix: np.ndarray  # prefix sums over `values` (for token n-gram hashes)


def char_prefix(stream: Stream) -> np.ndarray:
    return prefix_sums(char_table()[stream.cps])


def tokenize(stream: Stream, cprefix: np.ndarray) -> Tokens:
    n_rows = stream.n_rows
    if stream.cps.size == 0:
        empty = np.zeros(0, np.uint64)
        return Tokens(np.zeros(n_rows, np.int64), empty, prefix_sums(empty))
    is_w = word_table()[stream.cps]
    row_start = np.zeros(stream.cps.size, dtype=bool)
    starts_of_rows = np.concatenate(([0], np.cumsum(stream.lengths)[:-1]))
    row_start[starts_of_rows[stream.lengths > 0]] = True
    prev_w = np.empty_like(is_w)
    prev_w[0] = False
    prev_w[1:] = is_w[:-1]
    prev_w &= ~row_start
    starts = np.flatnonzero(is_w & ~prev_w)
    row_end = np.zeros(stream.cps.size, dtype=bool)
    row_end[np.cumsum(stream.lengths)[stream.lengths > 0] - 1] = True
    next_w = np.empty_like(is_w)
    next_w[-1] = False
    next_w[:-1] = is_w[1:]
    next_w &= ~row_end
    ends = np.flatnonzero(is_w & ~next_w) + 1
    values = mix64(span_hashes(cprefix, starts, ends))
    rows = np.searchsorted(np.cumsum(stream.lengths), starts, side="right")
    counts = np.bincount(rows, minlength=n_rows).astype(np.int64)
    return Tokens(counts, values, prefix_sums(values))
