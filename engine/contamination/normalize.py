"""Text preparation, exactly as the definition (reference §3.5) states it.

prepared(text) = lower(collapse_ws(replace_invisible(NFKC(text))))

replace_invisible maps the ten listed invisible characters to a space; collapse_ws replaces every
run of whitespace (Python's `str.isspace`, which is also what `re`'s `\\s` matches) by one space
and trims both ends. Token and char n-grams are both built from this one string.

The result is a `Stream`: the prepared texts of a batch as one flat array of code points plus
per-row lengths. Pure-ASCII texts (the bulk of real data) are prepared in numpy straight from the
Arrow byte buffer (rows whose whitespace is already single spaces, the usual case, are only
lower-cased by Polars; the others are collapsed in numpy): for them NFKC is the identity, none of the invisible characters can occur,
Python's ASCII whitespace is exactly \\t \\n \\v \\f \\r \\x1c-\\x1f and space, and lower-casing is
A-Z -> a-z, so the bytes are provably identical to the definition's output. Every other text goes
through the definition itself in Python (only those rows), so Unicode-version differences
between libraries can never change a score.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa

INVISIBLE_CHARS: tuple[str, ...] = (
    "\u200b", "\u200c", "\u200d", "\u00ad", "\u2060", "\ufeff", "\u2061", "\u2062", "\u2063", "\u2064",
)
_INVISIBLE_TO_SPACE = {ord(c): " " for c in INVISIBLE_CHARS}
ASCII_WHITESPACE = b"\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f "
_WS = np.zeros(256, dtype=bool)
_WS[np.frombuffer(ASCII_WHITESPACE, dtype=np.uint8)] = True
_LOWER = np.arange(256, dtype=np.uint32)
_LOWER[ord("A") : ord("Z") + 1] += 32


def prepare_one(text: str) -> str:
    """The definition, for one text (used for non-ASCII rows)."""
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE_TO_SPACE)
    return " ".join(text.split()).lower()


@dataclass(frozen=True)
class Stream:
    """Prepared texts of a batch: row i of the stream is input row `order[i]`."""

    order: np.ndarray  # stream row -> input row
    lengths: np.ndarray  # code points per stream row
    cps: np.ndarray  # flat code points (uint32)

    @property
    def n_rows(self) -> int:
        return int(self.lengths.size)


def _arrow_bytes(texts: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    arr = texts.to_arrow()
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    arr = arr.cast(pa.large_string())
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset : arr.offset + len(arr) + 1]
    buf = arr.buffers()[2]
    data = np.frombuffer(buf, dtype=np.uint8) if buf is not None else np.zeros(0, np.uint8)
    return offsets - offsets[0], data[offsets[0] : offsets[-1]]


def _ascii_prepare(texts: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    offsets, b = _arrow_bytes(texts)
    n = len(texts)
    sizes = np.diff(offsets)
    if b.size == 0:
        return np.zeros(n, np.int64), np.zeros(0, np.uint32)
    rows = np.repeat(np.arange(n, dtype=np.int64), sizes)
    ws = _WS[b]
    prev_ws = np.empty_like(ws)
    prev_ws[0] = True
    prev_ws[1:] = ws[:-1]
    prev_ws[offsets[:-1][sizes > 0]] = True  # row starts behave like "after whitespace"
    # a whitespace byte survives only if a non-whitespace byte follows later in its row
    nonws = np.flatnonzero(~ws)
    if nonws.size == 0:  # whitespace only
        return np.zeros(n, np.int64), np.zeros(0, np.uint32)
    k = np.searchsorted(nonws, offsets[1:], side="left") - 1
    last_nonws = np.where(k >= 0, nonws[np.maximum(k, 0)], -1)
    last_nonws = np.where(last_nonws >= offsets[:-1], last_nonws, -1)
    pos = np.arange(b.size, dtype=np.int64)
    keep = ~ws | (~prev_ws & (pos < last_nonws[rows]))
    out = np.where(ws, np.uint32(32), _LOWER[b])[keep]
    return np.bincount(rows[keep], minlength=n).astype(np.int64), out


# rows whose whitespace is not already single spaces between non-space characters
_MESSY_WS = r"[\t\n\x0b\x0c\r\x1c-\x1f]|  |^ | $"


def _clean_ascii(texts: pl.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows taken as they are, their lengths, their code points) for ASCII rows whose whitespace
    needs no change: lower-casing (A-Z -> a-z for ASCII) is the whole preparation."""
    lowered = texts.str.to_lowercase()
    clean = np.flatnonzero(~lowered.str.contains(_MESSY_WS).to_numpy())
    offsets, data = _arrow_bytes(lowered.gather(clean) if clean.size < len(texts) else lowered)
    return clean, np.diff(offsets), data.astype(np.uint32)


def prepare_stream(texts: pl.Series) -> Stream:
    """Prepare a batch of texts (nulls count as empty)."""
    texts = texts.cast(pl.String).fill_null("")
    frame = pl.DataFrame({"t": texts})
    ascii_mask = frame.select(pl.col("t").str.len_bytes() == pl.col("t").str.len_chars())["t"].to_numpy()
    fast = np.flatnonzero(ascii_mask)
    slow = np.flatnonzero(~ascii_mask)
    fast_texts = texts.gather(fast) if slow.size else texts
    clean, c_len, c_cps = _clean_ascii(fast_texts)
    messy = np.setdiff1d(np.arange(fast.size), clean, assume_unique=True)
    parts = [(fast[clean], c_len, c_cps)]
    if messy.size:
        m_len, m_cps = _ascii_prepare(fast_texts.gather(messy))
        parts.append((fast[messy], m_len, m_cps))
    if slow.size:
        prepared = [prepare_one(s) for s in texts.gather(slow).to_list()]
        s_len = np.fromiter((len(s) for s in prepared), dtype=np.int64, count=len(prepared))
        s_cps = np.frombuffer("".join(prepared).encode("utf-32-le"), dtype=np.uint32)
        parts.append((slow, s_len, s_cps))
    return Stream(np.concatenate([p[0] for p in parts]).astype(np.int64),
                  np.concatenate([p[1] for p in parts]).astype(np.int64),
                  np.concatenate([p[2] for p in parts]).astype(np.uint32, copy=False))


def stream_strings(stream: Stream) -> list[str]:
    """The prepared strings, in stream row order (for tests and debugging)."""
    data = stream.cps.astype("<u4").tobytes().decode("utf-32-le")
    ends = np.cumsum(stream.lengths)
    return [data[e - k : e] for e, k in zip(ends.tolist(), stream.lengths.tolist(), strict=True)]
