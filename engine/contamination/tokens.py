"""`\\w+` tokens of prepared texts, exactly as Python's `re` defines `\\w`.

Rust's regex `\\w` (used by Polars) is not Python's: it includes combining marks and
`Other_Alphabetic` symbols and excludes some numeric categories that Python's `str.isalnum`
accepts. Within ASCII both are `[0-9A-Za-z_]`, so ASCII rows use Polars and every other row uses
`re.findall(r"\\w+", ...)` itself (batched, only for those rows).
"""

from __future__ import annotations

import re

import numpy as np
import polars as pl

_WORD = re.compile(r"\w+")
ASCII_WORD = r"[0-9A-Za-z_]+"
TOKEN_HASH_SEED = 0x5EED_C0DE


def tokenize(prepared: pl.Series, ascii_mask: np.ndarray) -> pl.Series:
    """One list of tokens per row (List[String])."""
    lists = pl.DataFrame({"p": prepared}).select(pl.col("p").str.extract_all(ASCII_WORD))["p"]
    slow_idx = np.flatnonzero(~ascii_mask)
    if slow_idx.size:
        slow = pl.Series("p", [_WORD.findall(s) for s in prepared.gather(slow_idx).to_list()], dtype=pl.List(pl.String))
        fast_idx = np.flatnonzero(ascii_mask)
        lists = (
            pl.concat([
                pl.DataFrame({"i": fast_idx, "p": lists.gather(fast_idx)}),
                pl.DataFrame({"i": slow_idx, "p": slow}),
            ])
            .sort("i")["p"]
        )
    return lists.fill_null([])


def token_hashes(lists: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """(per-row token counts, flat 64-bit token hashes in row order)."""
    counts = lists.list.len().fill_null(0).to_numpy().astype(np.int64)
    flat = lists.explode().drop_nulls()
    hashes = flat.hash(seed=TOKEN_HASH_SEED).to_numpy()
    return counts, hashes
