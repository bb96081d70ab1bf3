"""Parse blocks of JSON lines into typed Arrow tables against a DECLARED schema.

The fast path is the typed reader (engine.io.typed: pyarrow's JSON reader with the declared
schema, straight from the block's buffer). It only sees lines that look like one object:
`null`, `[1]`, truncated text or bad UTF-8 (pyarrow does not check string bytes) go to Python
directly, and so do the lines the typed reader rejects (wrong type for a declared field, two
objects on one line ...). Python's `json` decides whether such a line is a JSON object at all:
objects continue on the exact (slow) path, everything else goes to the quarantine with its
line number and the reason. No line is ever lost.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from engine.io.lines import LineBlock, json_type_name
from engine.io.typed import PARSE_THREADS, Run, read_schema, read_typed
from engine.io.views import not_utf8, string_views

_EXCERPT = 200
_NL, _CR, _OPEN, _CLOSE = 0x0A, 0x0D, 0x7B, 0x7D


@dataclass
class ParsedBlock:
    """Result of parsing one LineBlock: typed rows, rows needing the exact path, and rejects."""

    source: str
    table: pa.Table  # one row per entry of `numbers`, typed by the declared schema
    numbers: np.ndarray  # int64 line numbers of the typed rows
    text: pa.Array  # the same lines as an Arrow string_view array, validated UTF-8
    slow: list[tuple[int, bytes, dict[str, Any]]] = field(default_factory=list)
    quarantine: list[tuple[int, str, str]] = field(default_factory=list)
    skipped: int = 0
    null_items: bool = True  # some array of `table` may hold a null item (False: certainly none)


def _may_hold_null_items(typ: pa.DataType, arrays: list[pa.Array]) -> bool:
    """Whether an array anywhere under these arrays has a null item: the null counts of the
    list values (all of them, also outside the visible slots: a superset, never a miss)."""
    if pa.types.is_list(typ) or pa.types.is_large_list(typ):
        values = [a.values for a in arrays]
        return any(v.null_count for v in values) or _may_hold_null_items(typ.value_type, values)
    if pa.types.is_struct(typ):
        return any(_may_hold_null_items(f.type, [a.field(i) for a in arrays]) for i, f in enumerate(typ))
    return False


def _null_items(table: pa.Table) -> bool:
    return any(_may_hold_null_items(col.type, col.chunks) for col in table.columns)


def _clean_gaps(block: LineBlock, raw: np.ndarray, cand: np.ndarray) -> bool:
    """True when only JSON white space holding a newline separates neighbouring candidates."""
    if len(cand) < 2:
        return True
    gs = block.ends[cand[:-1]]
    ge = block.starts[cand[1:]]
    width = ge - gs
    second = raw[np.minimum(gs + 1, len(raw) - 1)]
    simple = ((width == 1) & (raw[gs] == _NL)) | ((width == 2) & (raw[gs] == _CR) & (second == _NL))
    for j in np.flatnonzero(~simple).tolist():
        gap = block.data[int(gs[j]):int(ge[j])]
        if b"\n" not in gap or gap.translate(None, b" \t\r\n"):
            return False
    return True


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


def _object_shaped(block: LineBlock, raw: np.ndarray) -> np.ndarray:
    """Lines that start with `{` and end with `}` (the only ones the typed reader sees)."""
    s, e = block.starts, block.ends
    filled = e > s
    if not len(raw):
        return filled
    return filled & (raw[np.where(filled, s, 0)] == _OPEN) & (raw[np.where(filled, e - 1, 0)] == _CLOSE)


def parse_block(block: LineBlock, schema: pa.Schema, threads: int = PARSE_THREADS) -> ParsedBlock:
    quarantine = list(block.rejects)
    if not len(block):
        return ParsedBlock(block.source, read_schema(schema).empty_table(), np.zeros(0, dtype=np.int64),
                           pa.array([], pa.string_view()), [], quarantine, block.skipped)
    raw = np.frombuffer(block.data, dtype=np.uint8)
    text = string_views(block.data, block.starts, block.ends)
    typed = _object_shaped(block, raw)
    typed[not_utf8(text)] = False
    cand = np.flatnonzero(typed)
    run = Run(block.data, block.starts[cand], block.ends[cand], np.arange(len(cand)))
    if len(cand) and not _clean_gaps(block, raw, cand):  # comments or bad lines in between: copy
        run = run.subset(np.arange(len(cand)))
    table, index, _ = read_typed(run, schema, threads) if len(cand) else (read_schema(schema).empty_table(), cand, cand)
    rows = cand[index]
    if len(rows) < len(block):  # (no filter kernel for string views in pyarrow: build them again)
        typed[:] = False
        typed[rows] = True
        text = string_views(block.data, block.starts[rows], block.ends[rows])
    slow: list[tuple[int, bytes, dict[str, Any]]] = []
    for i in np.flatnonzero(~typed).tolist():
        line = block.line(i)
        number = int(block.numbers[i])
        obj, reason = python_parse(line)
        if obj is None:
            quarantine.append((number, excerpt(line), reason or "unreadable"))
        else:
            slow.append((number, line, obj))
    quarantine.sort()
    return ParsedBlock(block.source, table, block.numbers[rows], text, slow, quarantine, block.skipped,
                       _null_items(table))
