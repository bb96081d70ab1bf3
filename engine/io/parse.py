"""Parse blocks of JSON lines into typed Arrow tables against a DECLARED schema.

The fast path is pyarrow's JSON reader with an explicit schema (never inference: inference
silently drops keys that first appear late). A line it rejects (wrong type for a declared
field, NaN where it cannot go, not an object, two objects on one line, bad UTF-8 ...) is
isolated by bisection and handed to Python's `json` module, which decides whether it is a
JSON object at all: objects continue on the exact (slow) path, everything else goes to the
quarantine with its line number and the reason. No line is ever lost.
"""

from __future__ import annotations

import io
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.json as pj

from engine.io.lines import LineBlock, json_type_name

SUB_BLOCK_LINES = 2048  # bisection stays shallow; sub-blocks parse in parallel threads
_EXCERPT = 200
_POOL: ThreadPoolExecutor | None = None


@dataclass
class ParsedBlock:
    """Result of parsing one LineBlock: typed rows, rows needing the exact path, and rejects."""

    source: str
    table: pa.Table  # one row per entry of `numbers`/`lines`, typed by the declared schema
    numbers: list[int]
    lines: list[bytes]
    text: pa.Array  # the same lines as an Arrow (large) string array, validated UTF-8
    slow: list[tuple[int, bytes, dict[str, Any]]] = field(default_factory=list)
    quarantine: list[tuple[int, str, str]] = field(default_factory=list)
    skipped: int = 0


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="engine-parse")
    return _POOL


def _read(lines: list[bytes], schema: pa.Schema) -> pa.Table | None:
    buf = b"\n".join(lines)
    longest = max(len(line) for line in lines)
    try:
        table = pj.read_json(
            io.BytesIO(buf),
            read_options=pj.ReadOptions(use_threads=False, block_size=max(1 << 22, longest + 2)),
            parse_options=pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore"),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, UnicodeDecodeError):
        return None
    # Two objects on one line parse as two rows; a count mismatch means some line is not one object.
    return table if table.num_rows == len(lines) else None


def _parse_range(lines: list[bytes], lo: int, hi: int, schema: pa.Schema,
                 good: list[tuple[int, pa.Table]], bad: list[int]) -> None:
    table = _read(lines[lo:hi], schema)
    if table is not None:
        good.append((lo, table))
        return
    if hi - lo == 1:
        bad.append(lo)
        return
    mid = (lo + hi) // 2
    _parse_range(lines, lo, mid, schema, good, bad)
    _parse_range(lines, mid, hi, schema, good, bad)


def _parse_sub_block(lines: list[bytes], lo: int, hi: int, schema: pa.Schema) -> tuple[list[tuple[int, pa.Table]], list[int]]:
    good: list[tuple[int, pa.Table]] = []
    bad: list[int] = []
    _parse_range(lines, lo, hi, schema, good, bad)
    return good, bad


def excerpt(line: bytes) -> str:
    return line[:_EXCERPT].decode("utf-8", "replace")


def python_parse(line: bytes) -> tuple[dict[str, Any] | None, str | None]:
    """Exact Python `json` semantics for one line: (object, None) or (None, reason)."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"invalid UTF-8 at byte {exc.start}"
    try:
        value = json.loads(text)
    except RecursionError:
        return None, "JSON nested too deeply"
    except json.JSONDecodeError as exc:
        return None, f"not JSON: {exc.msg} at column {exc.colno}"
    except ValueError as exc:
        return None, f"not JSON: {exc}"
    if not isinstance(value, dict):
        return None, f"a JSON {json_type_name(value)}, not an object"
    return value, None


def _text_array(lines: list[bytes]) -> tuple[pa.Array, list[int]]:
    """The lines as one Arrow string array (one copy) and the indices that are not UTF-8.

    Arrow validates UTF-8 for the whole array in C; only when that fails are lines checked
    one by one to find the culprits (pyarrow's JSON reader does not validate string bytes).
    """
    lengths = np.fromiter((len(line) for line in lines), dtype=np.int64, count=len(lines))
    offsets = np.zeros(len(lines) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    arr = pa.LargeStringArray.from_buffers(len(lines), pa.py_buffer(offsets), pa.py_buffer(b"".join(lines)))
    try:
        arr.validate(full=True)
        return arr, []
    except pa.ArrowInvalid:
        pass
    bad = []
    for i, line in enumerate(lines):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            bad.append(i)
    return arr, bad


def parse_block(block: LineBlock, schema: pa.Schema) -> ParsedBlock:
    lines = block.lines
    quarantine = list(block.rejects)
    if not lines:
        return ParsedBlock(block.source, schema.empty_table(), [], [], pa.array([], pa.large_string()), [],
                           quarantine, block.skipped)
    # Known bad before parsing: not starting like an object (pyarrow reads a bare `null` as a row)
    # or not UTF-8 (pyarrow does not validate string bytes).
    text, not_utf8 = _text_array(lines)
    pre_bad = set(not_utf8)
    pre_bad.update(i for i, line in enumerate(lines) if line[0] != 0x7B)  # '{'
    cand = [i for i in range(len(lines)) if i not in pre_bad] if pre_bad else list(range(len(lines)))
    cand_lines = [lines[i] for i in cand] if pre_bad else lines
    pieces: list[tuple[int, pa.Table]] = []
    parse_bad: list[int] = []
    if cand_lines:
        n = len(cand_lines)
        ranges = [(lo, min(lo + SUB_BLOCK_LINES, n)) for lo in range(0, n, SUB_BLOCK_LINES)]
        if len(ranges) > 1:
            results = list(_pool().map(lambda r: _parse_sub_block(cand_lines, r[0], r[1], schema), ranges))
        else:
            results = [_parse_sub_block(cand_lines, 0, n, schema)]
        for good_part, bad_part in results:
            pieces.extend(good_part)
            parse_bad.extend(bad_part)
    pieces.sort(key=lambda p: p[0])
    bad = sorted(pre_bad | {cand[j] for j in parse_bad})
    if bad:
        bad_set = set(bad)
        keep = [i for i in range(len(lines)) if i not in bad_set]
        numbers = [block.numbers[i] for i in keep]
        kept_lines = [lines[i] for i in keep]
    else:
        numbers, kept_lines = block.numbers, lines
    table = pa.concat_tables([p[1] for p in pieces]) if pieces else schema.empty_table()
    if bad:
        mask = np.ones(len(lines), dtype=bool)
        mask[bad] = False
        text = text.filter(pa.array(mask))
    slow: list[tuple[int, bytes, dict[str, Any]]] = []
    for i in bad:
        obj, reason = python_parse(lines[i])
        if obj is None:
            quarantine.append((block.numbers[i], excerpt(lines[i]), reason or "unreadable"))
        else:
            slow.append((block.numbers[i], lines[i], obj))
    quarantine.sort()
    return ParsedBlock(block.source, table, numbers, kept_lines, text, slow, quarantine, block.skipped)
