"""Arrow string-view arrays over slices of one buffer, built with numpy (no copy of the text).

An Arrow string view is 16 bytes: the length, then either the whole string inline (up to 12
bytes) or its first 4 bytes, a buffer index and an offset. Polars stores strings the same
way, so the raw-text column of a block costs 16 bytes per line instead of a copy of the block.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

_INLINE = 12
_MAX_BUFFER = 2**31 - 1  # view offsets are int32


def string_views(data: bytes | bytearray, starts: np.ndarray, ends: np.ndarray) -> pa.Array:
    """`data[starts[i]:ends[i]]` as a string_view array (UTF-8 not checked here: see `not_utf8`)."""
    n = len(starts)
    if n == 0:
        return pa.array([], pa.string_view())
    if len(data) > _MAX_BUFFER:
        return pa.array([data[s:e] for s, e in zip(starts.tolist(), ends.tolist(), strict=True)], pa.binary()).cast(
            pa.string_view(), safe=False)
    lengths = ends - starts
    raw = np.frombuffer(data, dtype=np.uint8)
    views = np.zeros((n, 16), dtype=np.uint8)
    words = views.view(np.int32)  # (n, 4): length, prefix or inline bytes, buffer index, offset
    words[:, 0] = lengths
    long = lengths > _INLINE
    if long.any():  # the first 4 bytes, the buffer (0) and the offset
        at = starts[long]
        views[long, 4:8] = raw[at[:, None] + np.arange(4)]
        words[long, 3] = at
    short = np.flatnonzero(~long)
    if len(short) and len(raw):  # up to 12 bytes inline, zero padded
        offsets = np.arange(_INLINE)
        index = np.minimum(starts[short, None] + offsets, len(raw) - 1)
        views[short, 4:] = np.where(offsets < lengths[short, None], raw[index], 0)
    return pa.Array.from_buffers(pa.string_view(), n, [None, pa.py_buffer(views), pa.py_buffer(data)])


def not_utf8(text: pa.Array) -> list[int]:
    """Indices of the strings of `text` that are not valid UTF-8 (Arrow checks in C; halving
    finds the culprits only when a check fails)."""
    bad: list[int] = []
    todo = [(0, len(text))] if len(text) else []
    while todo:  # (a loop, not a recursive closure: that would be a reference cycle holding `text`)
        lo, hi = todo.pop()
        try:
            text.slice(lo, hi - lo).validate(full=True)
            continue
        except pa.ArrowInvalid:
            pass
        if hi - lo == 1:
            bad.append(lo)
        else:
            mid = (lo + hi) // 2
            todo.extend([(mid, hi), (lo, mid)])
    return sorted(bad)
