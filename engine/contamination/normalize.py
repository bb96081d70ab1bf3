"""Text preparation, exactly as the definition (reference §3.5) states it.

prepared(text) = lower(collapse_ws(replace_invisible(NFKC(text))))

where replace_invisible maps the ten listed invisible characters to a space and collapse_ws
replaces every run of whitespace (as Python's `str.isspace` / `re` `\\s` define it) by one space
and trims both ends. Both token and char n-grams are built from this one string.

Pure-ASCII texts (the bulk of real data) are prepared with Polars expressions: for them NFKC is
the identity, none of the invisible characters can occur, Python's ASCII whitespace is exactly
`\\t \\n \\v \\f \\r \\x1c-\\x1f` and space, and lower-casing is A-Z -> a-z, so the result is
provably identical. Every other text goes through the Python definition itself (batched, only
for those rows), so Unicode-version differences between Rust and CPython can never change a score.
"""

from __future__ import annotations

import unicodedata

import numpy as np
import polars as pl

INVISIBLE_CHARS: tuple[str, ...] = (
    "\u200b", "\u200c", "\u200d", "\u00ad", "\u2060", "\ufeff", "\u2061", "\u2062", "\u2063", "\u2064",
)
_INVISIBLE_TO_SPACE = {ord(c): " " for c in INVISIBLE_CHARS}
# Python's whitespace within ASCII (str.isspace): note \x1c-\x1f, which Rust's \s does not include.
ASCII_WHITESPACE_CLASS = r"[\t\n\x0b\x0c\r\x1c-\x1f ]+"


def prepare_one(text: str) -> str:
    """The definition, for one text (used for non-ASCII rows)."""
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE_TO_SPACE)
    return " ".join(text.split()).lower()


def is_ascii(texts: pl.Series) -> np.ndarray:
    """True where the text is pure ASCII (bytes == chars)."""
    frame = pl.DataFrame({"t": texts})
    mask = frame.select((pl.col("t").str.len_bytes() == pl.col("t").str.len_chars()).alias("m"))["m"]
    return mask.to_numpy().astype(bool, copy=False)


def prepare_texts(texts: pl.Series) -> tuple[pl.Series, np.ndarray]:
    """Prepared (normalised, lower-cased) texts and the per-row ASCII mask.

    Nulls are treated as empty texts.
    """
    texts = texts.cast(pl.String).fill_null("")
    ascii_mask = is_ascii(texts)
    fast = (
        pl.DataFrame({"t": texts})
        .select(
            pl.col("t").str.replace_all(ASCII_WHITESPACE_CLASS, " ").str.strip_chars(" ").str.to_lowercase()
        )["t"]
    )
    slow_idx = np.flatnonzero(~ascii_mask)
    if slow_idx.size:
        slow_values = pl.Series([prepare_one(s) for s in texts.gather(slow_idx).to_list()], dtype=pl.String)
        fast = fast.scatter(slow_idx, slow_values)
    return fast.rename("prepared"), ascii_mask
