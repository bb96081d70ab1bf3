"""Byte ranges of JSON-lines files, for worker processes that read their share of a file themselves.

The main process cuts a file at line starts (`plan_ranges`); a worker maps its range
(`mapped_range`, no copy) and walks its lines with exactly engine.io's rules (`Lines`): split on
LF, strip ASCII whitespace, skip blank and `#` lines, ignore a UTF-8 BOM at the start of the
file. Line indices are 0-based from the range start; the main process adds the number of LF
bytes before the range (`Lines.newlines` of the ranges before) to get engine.io's line numbers.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from engine.io.sources import SourceFile

#: ~1,700 signed AEP records per range: small enough that two workers finish together
RANGE_BYTES = 8 << 20
#: below this size a file is done in the main process (starting the workers costs ~0.3 s)
PARALLEL_MIN_BYTES = 4 << 20
_BOM = b"\xef\xbb\xbf"
_SPACE = frozenset(b" \t\n\r\x0b\x0c")  # what bytes.strip() strips


def ranged_source(src: SourceFile) -> bool:
    """Files the workers read themselves: uncompressed JSON lines (the bulk of any large input)."""
    return src.container == "jsonl" and src.compression == "none"


def plan_ranges(path: str, size: int, range_bytes: int | None = None) -> list[tuple[int, int]]:
    """[start, end) byte ranges covering the file, each starting at a line start."""
    step = RANGE_BYTES if range_bytes is None else range_bytes
    cuts = [0]
    with open(path, "rb") as fh:
        target = step
        while target < size:
            fh.seek(target - 1)
            pos = target - 1
            while True:  # the cut goes just after the next LF at or after target - 1
                chunk = fh.read(1 << 16)
                if not chunk:
                    pos = size
                    break
                nl = chunk.find(b"\n")
                if nl >= 0:
                    pos += nl + 1
                    break
                pos += len(chunk)
            if pos >= size:
                break
            cuts.append(pos)
            target = max(pos, target) + step
    cuts.append(size)
    return [(a, b) for a, b in zip(cuts, cuts[1:], strict=False) if b > a]


@contextmanager
def mapped_range(path: str, start: int, end: int) -> Iterator[tuple[mmap.mmap, int]]:
    """(read-only map covering [start, end), offset of `start` in it).

    Mapping instead of reading saves a copy of every byte (~2 us a signed record).
    """
    base = start - start % mmap.ALLOCATIONGRANULARITY
    with open(path, "rb") as fh:
        data = mmap.mmap(fh.fileno(), end - base, access=mmap.ACCESS_READ, offset=base)
    try:
        yield data, start - base
    finally:
        try:
            data.close()
        except BufferError:  # a view is still alive: the mapping goes with it
            pass


class Lines:
    """(index, text) of the lines of `data[pos:]` that can hold a record; `newlines` counts LFs.

    `text` is a memoryview into `data` (a stripped copy when the line has surrounding blanks);
    views must not outlive the iteration.
    """

    def __init__(self, data: mmap.mmap, pos: int, file_start: bool) -> None:
        self.data = data
        self.pos = pos + 3 if file_start and data[pos:pos + 3] == _BOM else pos
        self.newlines = 0

    def __iter__(self) -> Iterator[tuple[int, bytes | memoryview]]:
        data, pos = self.data, self.pos
        size, find = len(data), data.find
        view = memoryview(data)
        i = -1
        try:
            while pos < size:
                i += 1
                nl = find(b"\n", pos)
                if nl < 0:
                    nl = size
                else:
                    self.newlines += 1
                lo, pos = pos, nl + 1
                if lo == nl:
                    continue
                if data[lo] in _SPACE or data[nl - 1] in _SPACE:
                    text: bytes | memoryview = data[lo:nl].strip()  # what engine.io keeps of the line
                    if not text:
                        continue
                else:
                    text = view[lo:nl]
                if text[0] != 0x23:  # '#' lines are skipped by engine.io too
                    yield i, text
                del text
        finally:
            view.release()


T = TypeVar("T")


def worker_results(path: str, size: int, results: Iterable[T], what: str) -> Iterator[T]:
    """`results` of range workers over `path`, with a worker that died (SIGBUS when the file shrinks
    under its map, an OOM kill) as a one-line InputError naming the file instead of an internal
    BrokenProcessPool; the message says whether the file changed size since it was planned."""
    from concurrent.futures.process import BrokenProcessPool

    from engine.errors import InputError

    try:
        yield from results
    except BrokenProcessPool:
        try:
            now: int | None = os.path.getsize(path)
        except OSError:
            now = None
        if now != size:
            was = f"now {now:,} bytes" if now is not None else "now gone"
            raise InputError(f"the file changed while it was read (was {size:,} bytes, {was})",
                             path=path, hint="work on a file nobody is writing; copy it first") from None
        raise InputError(f"a {what} worker process died while reading this file",
                         path=path, hint="out of memory? retry with --jobs 1") from None
