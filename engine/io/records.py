"""Read records from files into typed frames, per record kind, in bounded batches.

`iter_record_batches` is the streaming entry point used by validation, ingest and export;
`load_records` is the convenience for small inputs (everything in memory, raw JSON only).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import polars as pl
import pyarrow as pa

from engine.contract.arrow import arrow_schema, version_only_schema
from engine.contract.detect import UNKNOWN, kind_of_record
from engine.contract.schemas import KINDS, check_kind, kind_of_version
from engine.io.lines import BLOCK_BYTES, LineBlock, iter_blocks
from engine.io.parse import ParsedBlock, parse_block, python_parse
from engine.io.prefetch import ordered_map
from engine.io.sources import SourceFile, expand_paths
from engine.io.typed import PARSE_THREADS

_DETECT_LINES = 50
R = TypeVar("R")


@dataclass
class KindBatch:
    """Records of one kind from one block.

    `typed` holds the rows the typed reader read: the kind's declared columns plus `line`
    (i64) and `raw` (the JSON text). `slow` holds rows only Python's json could read
    (line, raw text, decoded object): they still count, they are just checked one by one.
    `null_items` is False when no array of `typed` holds a null item (known from Arrow's null
    counts for free; True when unknown).
    """

    kind: str
    typed: pl.DataFrame
    slow: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)
    null_items: bool = True

    @property
    def size(self) -> int:
        return self.typed.height + len(self.slow)


@dataclass
class RecordBatch:
    source: str
    parts: list[KindBatch]
    quarantine: list[tuple[int, str, str]]
    skipped: int
    nbytes: int


def detect_file_kind(src: SourceFile) -> str:
    """Kind of a file's records, from its first object lines (UNKNOWN when nothing tells)."""
    for block in iter_blocks(src, block_bytes=1 << 20):
        for i in range(min(len(block), _DETECT_LINES)):
            obj, _ = python_parse(block.line(i))
            if obj is not None:
                kind = kind_of_record(obj)
                if kind != UNKNOWN:
                    return kind
        break
    return UNKNOWN


def _schema_for(kind: str, typed: bool) -> pa.Schema:
    return arrow_schema(kind) if typed and kind in KINDS else version_only_schema()


_MAX_CHUNKS = 4


def _chunked_like(series: pl.Series, sizes: list[int]) -> pl.Series:
    """`series` cut (zero-copy) into chunks of `sizes`."""
    bounds = list(itertools.accumulate(sizes, initial=0))
    return pl.concat([series.slice(a, b - a) for a, b in itertools.pairwise(bounds)], rechunk=False)


def _frame(parsed: ParsedBlock) -> pl.DataFrame:
    """The typed rows as Polars, plus `line` and `raw`. Every column has the same chunks: Polars
    would otherwise re-align (copy) the whole frame in each eager operation."""
    frame = pl.from_arrow(parsed.table)
    assert isinstance(frame, pl.DataFrame)
    line = pl.Series("line", parsed.numbers, dtype=pl.Int64)
    raw = pl.Series("raw", parsed.text, dtype=pl.String)
    sizes = [len(c) for c in parsed.table.column(0).chunks]
    if len(sizes) > _MAX_CHUNKS:  # many pieces (lines failed the typed parse): one chunk
        frame = frame.rechunk()
    elif len(sizes) > 1:
        line, raw = _chunked_like(line, sizes), _chunked_like(raw, sizes)
    return frame.with_columns(line, raw)


def _empty_typed(kind: str, typed: bool) -> pl.DataFrame:
    empty = pl.from_arrow(_schema_for(kind, typed).empty_table())
    assert isinstance(empty, pl.DataFrame)
    return empty.with_columns(pl.Series("line", [], dtype=pl.Int64), pl.Series("raw", [], dtype=pl.String))


def _row_kinds(frame: pl.DataFrame, default: str) -> pl.Series:
    versions = frame.get_column("schema_version")
    mapping = {v: kind_of_version(v) or default for v in versions.drop_nulls().unique().to_list()}
    return versions.replace_strict(mapping, default=default, return_dtype=pl.String).fill_null(default)


def split_block(src: str, block: LineBlock, default: str, typed: bool,
                 threads: int = PARSE_THREADS) -> tuple[list[KindBatch], list[tuple[int, str, str]]]:
    """Parse one block of `src` into its batches per record kind (`default` first) and its quarantine.

    Quarantine rows are (line, excerpt, reason). `typed`: parse with the kind's Arrow schema (else
    every field as JSON text). Callers that walk blocks themselves (verify, sign, validate's
    semantic pass) use this; everyone else reads through `iter_record_batches`.
    """
    parsed = parse_block(block, _schema_for(default, typed), threads)
    frame = _frame(parsed)
    parts: dict[str, KindBatch] = {}
    kinds = _row_kinds(frame, default)
    mixed = bool((kinds != default).any())
    parts[default] = KindBatch(default, frame.filter(kinds == default) if mixed else frame,
                               null_items=parsed.null_items)
    others = frame.with_columns(kinds.alias("__kind")).filter(pl.col("__kind") != default) if mixed else None
    for (other,), group in (others.group_by("__kind", maintain_order=True) if others is not None else []):
        assert isinstance(other, str)
        sub = LineBlock.from_lines(src, group.get_column("line").to_numpy(),
                                   [r.encode("utf-8") for r in group.get_column("raw").to_list()])
        reparsed = parse_block(sub, _schema_for(other, typed), threads)
        parts[other] = KindBatch(other, _frame(reparsed), [(n, ln.decode("utf-8", "surrogatepass"), o) for n, ln, o in reparsed.slow],
                                 null_items=reparsed.null_items)
    for number, line, obj in parsed.slow:
        version = obj.get("schema_version")
        kind = (kind_of_version(version) if isinstance(version, str) else None) or (
            default if default != UNKNOWN else kind_of_record(obj))
        if kind not in parts:
            parts[kind] = KindBatch(kind, _empty_typed(kind, typed))
        parts[kind].slow.append((number, line.decode("utf-8", "surrogatepass"), obj))
    parts_list = [p for p in parts.values() if p.size]
    for p in parts_list:
        p.slow.sort(key=lambda t: t[0])
    return parts_list, parsed.quarantine


def iter_record_batches(paths: Sequence[str], *, kind: str | None = None, typed: bool = True,
                        block_bytes: int = BLOCK_BYTES) -> Iterator[RecordBatch]:
    """Stream every input file as batches of records grouped by kind, plus quarantined lines."""
    return map_record_batches(paths, _same, kind=kind, typed=typed, block_bytes=block_bytes)


def _same(batch: RecordBatch) -> RecordBatch:
    return batch


def map_record_batches(paths: Sequence[str], fn: Callable[[RecordBatch], R], *, kind: str | None = None,
                       typed: bool = True, block_bytes: int = BLOCK_BYTES) -> Iterator[R]:
    """`fn(batch)` of every batch `iter_record_batches` gives, in order.

    `fn` runs on the reader's block workers right after the block is parsed, so per-batch work
    that releases the GIL (Polars, DuckDB) runs on both cores, block by block, without a
    hand-off to another thread. A one-block file parses in parallel parts and `fn` runs on
    the caller's thread.
    """
    if kind is not None:
        check_kind(kind)
    for src in expand_paths(list(paths)):
        default = kind or detect_file_kind(src)
        blocks = iter_blocks(src, block_bytes)
        first = next(blocks, None)
        if first is None:
            continue
        try:
            second = next(blocks, None)
        except Exception:  # the reader failed on the second block: the first still counts
            yield fn(_record_batch(src.path, first, default, typed, PARSE_THREADS))
            raise
        if second is None:  # one block: its lines parse in parallel parts instead
            yield fn(_record_batch(src.path, first, default, typed, PARSE_THREADS))
            continue
        yield from ordered_map(lambda b: fn(_record_batch(src.path, b, default, typed, 1)),  # noqa: B023 - consumed here
                               itertools.chain([first, second], blocks))


def _record_batch(src: str, block: LineBlock, default: str, typed: bool, threads: int) -> RecordBatch:
    if not len(block):
        return RecordBatch(src, [], sorted(block.rejects), block.skipped, block.nbytes)
    parts, quarantine = split_block(src, block, default, typed, threads)
    return RecordBatch(src, parts, quarantine, block.skipped, block.nbytes)


@dataclass
class Loaded:
    """Everything read from some paths: records (source, line, kind, raw) and quarantine."""

    records: pl.DataFrame
    quarantine: pl.DataFrame
    skipped: int = 0


RECORD_SCHEMA = {"source": pl.String, "line": pl.Int64, "kind": pl.String, "raw": pl.String}
QUARANTINE_SCHEMA = {"source": pl.String, "line": pl.Int64, "excerpt": pl.String, "reason": pl.String}


def load_records(paths: Sequence[str], *, kind: str | None = None) -> Loaded:
    """Read all records of `paths` into memory (raw JSON text per record, in file order)."""
    frames: list[pl.DataFrame] = []
    quarantine: list[tuple[str, int, str, str]] = []
    skipped = 0
    for batch in iter_record_batches(paths, kind=kind, typed=False):
        skipped += batch.skipped
        quarantine.extend((batch.source, n, ex, reason) for n, ex, reason in batch.quarantine)
        for part in batch.parts:
            typed = part.typed.select(
                pl.lit(batch.source).alias("source"), "line", pl.lit(part.kind).alias("kind"), "raw")
            slow = pl.DataFrame(
                {"source": [batch.source] * len(part.slow), "line": [n for n, _, _ in part.slow],
                 "kind": [part.kind] * len(part.slow), "raw": [r for _, r, _ in part.slow]},
                schema=RECORD_SCHEMA)
            frames.append(pl.concat([typed, slow]))
    records = (pl.concat(frames).sort("source", "line", maintain_order=True) if frames
               else pl.DataFrame(schema=RECORD_SCHEMA))
    q = pl.DataFrame(quarantine, schema=QUARANTINE_SCHEMA, orient="row")
    return Loaded(records=records, quarantine=q, skipped=skipped)
