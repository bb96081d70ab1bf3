"""Split input files into bounded blocks of candidate record lines, keeping line numbers.

Every container ends up as lines of JSON text: JSON lines directly (plain, gzip or zstd),
a `.json` document as one line per item, a Parquet file as one line per row. Blank lines
and lines starting with `#` are skipped (and counted), CRLF endings and a UTF-8 BOM are
ignored. Blocks are bounded in bytes so a file larger than memory streams.
"""

from __future__ import annotations

import gzip
import io
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

from engine.errors import InputError
from engine.io.sources import SourceFile

BLOCK_BYTES = 32 * 1024 * 1024
_BOM = b"\xef\xbb\xbf"


@dataclass
class LineBlock:
    """Candidate record lines of one file region: `lines[i]` was line `numbers[i]` (1-based)."""

    source: str
    numbers: list[int]
    lines: list[bytes]
    skipped: int = 0
    # Items of a .json document that are not objects are known bad before any parsing.
    rejects: list[tuple[int, str, str]] = field(default_factory=list)


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


def _read_chunks(src: SourceFile, block_bytes: int) -> Iterator[bytes]:
    stream = _open_binary(src)
    try:
        while True:
            try:
                chunk = stream.read(block_bytes)
            except (OSError, EOFError, zlib.error) as exc:
                raise _corrupt(src, exc) from exc
            except Exception as exc:  # zstandard.ZstdError and friends
                if type(exc).__module__.startswith("zstandard"):
                    raise _corrupt(src, exc) from exc
                raise
            if not chunk:
                return
            yield chunk
    finally:
        stream.close()


def _select(parts: list[bytes], first_number: int) -> tuple[list[int], list[bytes], int]:
    """Strip each line and keep the ones that can hold a record."""
    numbers: list[int] = []
    kept: list[bytes] = []
    for offset, part in enumerate(parts):
        text = part.strip()
        if text and text[0] != 0x23:  # '#'
            numbers.append(first_number + offset)
            kept.append(text)
    return numbers, kept, len(parts) - len(kept)


def iter_jsonl_blocks(src: SourceFile, block_bytes: int = BLOCK_BYTES) -> Iterator[LineBlock]:
    carry = b""
    next_number = 1
    first = True
    for chunk in _read_chunks(src, block_bytes):
        data = carry + chunk if carry else chunk
        if first:
            if data.startswith(_BOM):
                data = data[len(_BOM):]
            first = False
        parts = data.split(b"\n")
        carry = parts.pop()
        if not parts:
            continue
        numbers, kept, skipped = _select(parts, next_number)
        next_number += len(parts)
        yield LineBlock(src.path, numbers, kept, skipped)
    if first and carry.startswith(_BOM):
        carry = carry[len(_BOM):]
    if carry:
        numbers, kept, skipped = _select([carry], next_number)
        yield LineBlock(src.path, numbers, kept, skipped)


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
    block = LineBlock(src.path, [], [])
    size = 0
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            excerpt = json.dumps(item, ensure_ascii=False)[:200]
            block.rejects.append((number, excerpt, f"item is a JSON {json_type_name(item)}, not an object"))
            continue
        text = json.dumps(item, ensure_ascii=False).encode("utf-8", "surrogatepass")
        block.numbers.append(number)
        block.lines.append(text)
        size += len(text)
        if size >= block_bytes:
            yield block
            block, size = LineBlock(src.path, [], []), 0
    if block.lines or block.rejects:
        yield block


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
            parts = buf.getvalue().split(b"\n")
            if parts and parts[-1] == b"":
                parts.pop()
            numbers, kept, skipped = _select(parts, next_number)
            next_number += len(parts)
            yield LineBlock(src.path, numbers, kept, skipped)
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
