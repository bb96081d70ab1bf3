"""Split input files into bounded blocks of candidate record lines, keeping line numbers.

Every container ends up as lines of JSON text: JSON lines directly (plain, gzip or zstd),
a `.json` document as one line per item, a Parquet file as one line per row. Blank lines
and lines starting with `#` are skipped (and counted), CRLF endings and a UTF-8 BOM are
ignored. Blocks are bounded in bytes so a file larger than memory streams.

A block is one buffer plus line offsets found with numpy, not a list of Python bytes: the
parser reads straight from the buffer and the raw-text column points into it. Only the rare
irregular lines (blank, `#`, leading or trailing white space other than one CR, BOM) are
looked at one by one in Python.
"""

from __future__ import annotations

import gzip
import io
import json
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

import numpy as np

from engine.errors import InputError
from engine.io.sources import SourceFile

BLOCK_BYTES = 32 * 1024 * 1024
_BOM = b"\xef\xbb\xbf"
_NL, _CR, _HASH = 0x0A, 0x0D, 0x23


@dataclass
class LineBlock:
    """Candidate record lines of one file region: line i is `data[starts[i]:ends[i]]` (stripped)
    and was line `numbers[i]` (1-based) of `source`."""

    source: str
    data: bytes | bytearray
    starts: np.ndarray  # int64
    ends: np.ndarray  # int64
    numbers: np.ndarray  # int64
    skipped: int = 0
    # Items of a .json document that are not objects are known bad before any parsing.
    rejects: list[tuple[int, str, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.starts)

    def line(self, i: int) -> bytes:
        return bytes(self.data[int(self.starts[i]):int(self.ends[i])])

    @property
    def nbytes(self) -> int:
        """Bytes of the candidate lines, one newline each (what a progress bar advances by)."""
        return int((self.ends - self.starts).sum()) + len(self)

    @classmethod
    def from_lines(cls, source: str, numbers: list[int] | np.ndarray, lines: list[bytes],
                   rejects: list[tuple[int, str, str]] | None = None) -> LineBlock:
        """A block of given (already stripped) lines, joined into one buffer."""
        lengths = np.fromiter((len(x) for x in lines), dtype=np.int64, count=len(lines))
        starts = np.zeros(len(lines), dtype=np.int64)
        if len(lines) > 1:
            np.cumsum(lengths[:-1] + 1, out=starts[1:])
        return cls(source, b"\n".join(lines), starts, starts + lengths, np.asarray(numbers, dtype=np.int64),
                   0, list(rejects or []))


def _newlines(arr: np.ndarray, start: int, stop: int, step: int = 1 << 20) -> np.ndarray:
    """Positions of `\\n` in arr[start:stop], a megabyte at a time (small temporaries)."""
    found = [np.flatnonzero(arr[a:min(a + step, stop)] == _NL) + a for a in range(start, stop, step)]
    return np.concatenate(found).astype(np.int64) if found else np.zeros(0, dtype=np.int64)


def split_region(source: str, data: bytes | bytearray, start: int, stop: int, first_number: int) -> LineBlock:
    """The lines of `data[start:stop]` (a whole number of lines) as a block, numbered from
    `first_number`: blank and `#` lines skipped, every kept line stripped."""
    arr = np.frombuffer(data, dtype=np.uint8)
    if stop <= start:
        return LineBlock(source, data, *(np.zeros(0, dtype=np.int64),) * 3)
    nl = _newlines(arr, start, stop)
    starts = np.empty(len(nl) + 1, dtype=np.int64)
    starts[0] = start
    starts[1:] = nl + 1
    ends = np.empty(len(nl) + 1, dtype=np.int64)
    ends[:-1] = nl
    ends[-1] = stop
    if arr[stop - 1] == _NL:  # the piece after the final newline is not a line
        starts, ends = starts[:-1], ends[:-1]
    n = len(starts)
    ends = ends - ((ends > starts) & (arr[np.maximum(ends - 1, 0)] == _CR))  # CRLF
    filled = ends > starts
    first = arr[np.where(filled, starts, 0)]
    last = arr[np.where(filled, ends - 1, 0)]
    keep = filled & (first == 0x7B) & (last == 0x7D)  # '{' ... '}': nothing to strip
    for i in np.flatnonzero(filled & ~keep).tolist():
        text = data[starts[i]:ends[i]]
        stripped = text.strip()
        if stripped and stripped[0] != _HASH:
            starts[i] += len(text) - len(text.lstrip())
            ends[i] = starts[i] + len(stripped)
            keep[i] = True
    kept = np.flatnonzero(keep)
    return LineBlock(source, data, starts[kept], ends[kept], kept + first_number, n - len(kept))


def _open_binary(src: SourceFile) -> IO[bytes]:
    try:
        raw = open(src.path, "rb")  # noqa: SIM115 - closed by the caller through the wrapper
    except OSError as exc:
        raise InputError(f"cannot open: {exc.strerror}", path=src.path) from exc
    if src.compression == "gzip":
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    if src.compression == "zstd":
        import zstandard

        return io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(raw, closefd=True))  # type: ignore[arg-type]
    return raw


def _corrupt(src: SourceFile, exc: BaseException) -> InputError:
    what = {"gzip": "corrupt gzip stream", "zstd": "corrupt zstd stream"}.get(src.compression, "read error")
    return InputError(f"{what}: {exc}", path=src.path, hint="re-create or re-download the file")


def _read(src: SourceFile, stream: IO[bytes], size: int) -> bytes:
    try:
        return stream.read(size)
    except (OSError, EOFError, zlib.error) as exc:
        raise _corrupt(src, exc) from exc
    except Exception as exc:  # zstandard.ZstdError and friends
        if type(exc).__module__.startswith("zstandard"):
            raise _corrupt(src, exc) from exc
        raise


def _read_chunks(src: SourceFile, block_bytes: int) -> Iterator[bytes]:
    stream = _open_binary(src)
    try:
        while chunk := _read(src, stream, block_bytes):
            yield chunk
    finally:
        stream.close()


class _Buffers:
    """Block buffers used again once nothing refers to them any more (every consumer of a block,
    Arrow and Polars included, holds a Python reference to its buffer, so the reference count
    says when it is free). Filling a reused buffer saves the page faults of a fresh 32 MB one
    per block, which cost more than the copy from the page cache."""

    def __init__(self, keep: int = 8) -> None:
        self.keep = keep
        self.owned: list[bytearray] = []

    def get(self, size: int) -> bytearray:
        for i in range(len(self.owned)):
            # references: the list and getrefcount's argument; any block still alive adds more
            if len(self.owned[i]) == size and sys.getrefcount(self.owned[i]) == 2:
                return self.owned[i]
        buf = bytearray(size)
        if len(self.owned) < self.keep:
            self.owned.append(buf)
        return buf


def _fill(src: SourceFile, stream: IO[bytes], view: memoryview) -> int:
    """Read into `view` until it is full or the stream ends; the number of bytes read."""
    done = 0
    while done < len(view):
        try:
            n = stream.readinto(view[done:])  # type: ignore[attr-defined]
        except (OSError, EOFError, zlib.error) as exc:
            raise _corrupt(src, exc) from exc
        except Exception as exc:  # zstandard.ZstdError and friends
            if type(exc).__module__.startswith("zstandard"):
                raise _corrupt(src, exc) from exc
            raise
        if not n:
            break
        done += n
    return done


def _regions(src: SourceFile, block_bytes: int) -> Iterator[tuple[bytearray, int, int]]:
    """(data, start, stop): `data[start:stop]` holds whole lines (the last region may end
    without a newline); the bytes after `stop` are not part of the file region."""
    stream = _open_binary(src)
    buffers = _Buffers()
    try:
        carry = b""
        started = False
        while True:
            size = max(block_bytes, 2 * len(carry))  # a line longer than a block: a bigger buffer
            data = buffers.get(size) if size == block_bytes else bytearray(size)
            data[:len(carry)] = carry
            filled = len(carry) + _fill(src, stream, memoryview(data)[len(carry):])
            start = len(_BOM) if not started and data.startswith(_BOM, 0, filled) else 0
            if filled < size:  # end of the stream
                if filled > start:
                    yield data, start, filled
                return
            cut = data.rfind(b"\n", 0, filled) + 1
            if cut <= start:
                carry = bytes(data[:filled])
                continue
            carry = bytes(data[cut:filled])
            started = True
            yield data, start, cut
    finally:
        stream.close()


def iter_jsonl_blocks(src: SourceFile, block_bytes: int = BLOCK_BYTES) -> Iterator[LineBlock]:
    next_number = 1
    for data, start, stop in _regions(src, block_bytes):
        block = split_region(src.path, data, start, stop, next_number)
        next_number += len(block) + block.skipped
        yield block


def _json_items(src: SourceFile) -> tuple[list[object], bool]:
    """Items of a .json document; (items, True), or ([], False) when it is really JSON lines."""
    data = b"".join(_read_chunks(src, BLOCK_BYTES))
    if data.startswith(_BOM):
        data = data[len(_BOM):]
    if not data.strip():
        return [], True
    try:
        doc = json.loads(data)
    except RecursionError as exc:
        raise InputError("JSON nested too deeply to read", path=src.path) from exc
    except ValueError as exc:
        if isinstance(exc, json.JSONDecodeError) and exc.msg == "Extra data":
            return [], False
        raise InputError(f"not JSON: {exc}", path=src.path, hint="expected a JSON document or JSON lines") from exc
    if isinstance(doc, dict):
        for key in ("results", "items"):
            if isinstance(doc.get(key), list):
                return list(doc[key]), True
        return [doc], True
    if isinstance(doc, list):
        return doc, True
    raise InputError("the JSON document is neither an object nor an array", path=src.path)


def iter_json_blocks(src: SourceFile, block_bytes: int = BLOCK_BYTES) -> Iterator[LineBlock]:
    items, is_document = _json_items(src)
    if not is_document:
        yield from iter_jsonl_blocks(src, block_bytes)
        return
    numbers: list[int] = []
    lines: list[bytes] = []
    rejects: list[tuple[int, str, str]] = []
    size = 0
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            excerpt = json.dumps(item, ensure_ascii=False)[:200]
            rejects.append((number, excerpt, f"item is a JSON {json_type_name(item)}, not an object"))
            continue
        text = json.dumps(item, ensure_ascii=False).encode("utf-8", "surrogatepass")
        numbers.append(number)
        lines.append(text)
        size += len(text)
        if size >= block_bytes:
            yield LineBlock.from_lines(src.path, numbers, lines, rejects)
            numbers, lines, rejects, size = [], [], [], 0
    if lines or rejects:
        yield LineBlock.from_lines(src.path, numbers, lines, rejects)


def json_type_name(value: object) -> str:
    """The JSON type of a decoded value, for messages (`a JSON array, not an object`)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def iter_parquet_blocks(src: SourceFile, rows_per_block: int = 65_536) -> Iterator[LineBlock]:
    import polars as pl
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(src.path)
        batches = pf.iter_batches(batch_size=rows_per_block)
        next_number = 1
        for batch in batches:
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)
            buf = io.BytesIO()
            frame.write_ndjson(buf)
            data = buf.getvalue()
            block = split_region(src.path, data, 0, len(data), next_number)
            next_number += len(block) + block.skipped
            yield block
    except InputError:
        raise
    except Exception as exc:  # pyarrow raises ArrowInvalid / OSError for corrupt files
        raise InputError(f"unreadable Parquet file: {exc}", path=src.path) from exc


def iter_blocks(src: SourceFile, block_bytes: int = BLOCK_BYTES) -> Iterator[LineBlock]:
    if src.container == "parquet":
        return iter_parquet_blocks(src)
    if src.container == "json":
        return iter_json_blocks(src, block_bytes)
    return iter_jsonl_blocks(src, block_bytes)
