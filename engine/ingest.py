"""`engine ingest`: read sources, validate, score and normalise them into an evidence store.

Each source file is streamed in the reader's bounded batches. Per batch: validation verdicts
(engine.validate) go to `validation`, admission scores of every AEP record (engine.admission)
to `admission`, and the records that pass validation are normalised (engine.normalize) into
runs / actions / ... / tool_calls / compliance / eval_items. Lines that are not JSON objects
and records that fail validation land in `quarantine` with their line number and reason, so
records read = stored + quarantined. Frames are written table by table with `INSERT INTO ...
SELECT` over Arrow (never row inserts). A source whose content digest the store already holds
is skipped; with `replace` (or when a path's content changed) its old rows go first.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import polars as pl
import xxhash

from engine.admission import OUTPUT_COLUMNS, admit_records, decode_evidence, score_frame
from engine.io.records import QUARANTINE_SCHEMA, RECORD_SCHEMA, KindBatch, RecordBatch, map_record_batches
from engine.io.sources import SourceFile, expand_paths
from engine.normalize import TABLE_SCHEMAS, normalize_records, normalize_typed_aep, record_key, table_kind
from engine.normalize.tables import conform
from engine.policy import AdmissionPolicy, load_policy
from engine.store import DuckStore, LakeStore, open_store
from engine.validate import verdicts_of_batch

ProgressFn = Callable[[int], None]  # bytes of input consumed since the last call
Checked = tuple[pl.DataFrame, pl.DataFrame]  # (verdicts, errors) of a batch from engine.validate
BatchObserver = Callable[[RecordBatch, Checked], None]
Prepared = tuple[RecordBatch, Checked, dict[str, pl.DataFrame]]  # a batch, its verdicts, its tables

_DIGEST_CHUNK = 8 * 1024 * 1024
_EXCERPT = 200
ROW_GROUP = 122_880  # rows of one DuckDB row group
FLUSH_ROWS = 2 * ROW_GROUP  # rows some table gathers before a write
# Input bytes per batch. Each batch pays a fixed cost in every stage (about 90 small Polars and
# DuckDB calls in batch_tables); twice the reader's default halves it, for ~0.3 GB more peak RSS
# (1M AEP records: 2.1 -> 2.5 GB).
BLOCK_BYTES = 64 * 1024 * 1024
ADMISSION_COLUMNS = list(OUTPUT_COLUMNS)


@dataclass(frozen=True)
class IngestOptions:
    replace: bool = False
    kind: str | None = None  # record kind of every input (default: detected per record)
    policy: str | None = None  # admission policy file or shipped name (default policy when None)
    ingest_date: str | None = None  # YYYY-MM-DD partition of a lake (default: today, UTC)


@dataclass
class SourceResult:
    source: str
    digest: str
    status: str  # ingested | replaced | skipped
    records: int = 0
    quarantined: int = 0
    same_as: str | None = None  # for a skipped source: the path it was first ingested from


@dataclass
class IngestSummary:
    store: str
    store_kind: str
    sources: list[SourceResult] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)  # rows written by this run, per table

    def to_dict(self) -> dict[str, object]:
        return {
            "store": self.store,
            "store_kind": self.store_kind,
            "sources": [vars(s) for s in self.sources],
            "records": sum(s.records for s in self.sources),
            "quarantined": sum(s.quarantined for s in self.sources),
            "skipped_sources": sum(s.status == "skipped" for s in self.sources),
            "rows": dict(sorted(self.rows.items())),
        }


def file_digest(path: str) -> str:
    """Content digest of a source file (xxh3-128: fast enough to hash 1.5 GB in well under a second)."""
    h = xxhash.xxh3_128()
    with open(path, "rb") as f:
        while chunk := f.read(_DIGEST_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _keyed(frame: pl.DataFrame, digest: str) -> pl.DataFrame:
    return frame.with_columns(record_key(digest, pl.col("line"))).select(
        "record_key", pl.exclude("record_key")
    )


def quarantine_rows(quarantine: pl.DataFrame, digest: str) -> pl.DataFrame:
    """The reader's quarantine (source, line, excerpt, reason) as `quarantine` table rows."""
    q = quarantine.with_columns(pl.lit("unknown").alias("kind")) if "kind" not in quarantine.columns else quarantine
    q = _keyed(q, digest)
    return q.select([pl.col(c).cast(t) for c, t in TABLE_SCHEMAS["quarantine"].items()])


def validation_rows(verdicts: pl.DataFrame, errors: pl.DataFrame, digest: str) -> pl.DataFrame:
    """Verdicts per record plus `error`: the first error of the record ("layer path: message")."""
    first = (
        errors.filter(pl.col("layer") != "parse")
        .group_by("line", maintain_order=True)
        .agg(pl.format("{} {}: {}", "layer", "path", "message").first().alias("error"))
    )
    return _keyed(verdicts.join(first, on="line", how="left"), digest)


def invalid_quarantine(records: pl.DataFrame, validation: pl.DataFrame) -> pl.DataFrame:
    """Records that failed validation, as quarantine rows (reason = their first error)."""
    bad = validation.filter(~pl.col("valid")).select("line", "error")
    rows = records.join(bad, on="line", how="inner")
    return rows.select(
        "record_key", "source", "line", "kind",
        pl.col("raw").str.slice(0, _EXCERPT).alias("excerpt"),
        pl.format("invalid record: {}", pl.col("error").fill_null("failed validation")).alias("reason"),
    )


def admission_rows(typed: pl.DataFrame, slow: pl.DataFrame, structural: pl.DataFrame,
                   policy: AdmissionPolicy) -> pl.DataFrame:
    """Admission scores of a batch's AEP records, invalid ones included (they score `reject`).

    `typed` rows were decoded by the reader with the contract's types and carry their
    `structural_valid` verdict; they are scored from those columns directly. `slow` rows (only
    Python's json could read them) go through admission's own decoder. `structural` maps
    line → structural_valid.
    """
    frames = []
    if typed.height:
        frame = typed.with_columns(pl.lit(False).alias("dpo_pair"))
        mentions = frame.filter(pl.col("raw").str.contains('"_dpo_pair_id"', literal=True))
        if mentions.height:  # an extra field the contract does not declare: decode it where it appears
            flags = decode_evidence(mentions.select("raw")).get_column("dpo_pair")
            frame = frame.update(mentions.select("line", flags), on="line")
        scored = score_frame(frame, policy)
        frames.append(scored.select("record_key", *ADMISSION_COLUMNS, "model_id"))
    if slow.height:
        scored = admit_records(slow.join(structural, on="line", how="left"), policy)
        keys = slow.select("line", "record_key", pl.col("raw").str.json_path_match("$.model_id").alias("model_id"))
        frames.append(scored.join(keys, on="line", how="left").select("record_key", *ADMISSION_COLUMNS, "model_id"))
    return pl.concat(frames) if frames else pl.DataFrame()


def _line_flags(lines: pl.DataFrame, validation: pl.DataFrame) -> pl.DataFrame:
    """`valid` and `structural_valid` for each row of `lines` (a `line` column), in its order.

    Joining only the small flag columns and attaching them keeps the wide typed frame (its raw
    text and nested lists) from being gathered row by row the way a join of it would."""
    flags = validation.select("line", "valid", (pl.col("structural") == "valid").alias("structural_valid"))
    return lines.select("line").join(flags, on="line", how="left", maintain_order="left").select(
        pl.col("valid").fill_null(False), "structural_valid")


def _rows_where(frame: pl.DataFrame, mask: pl.Series) -> pl.DataFrame:
    return frame if mask.all() else frame.filter(mask)


def _slow_frame(source: str, part: KindBatch) -> pl.DataFrame:
    return pl.DataFrame(
        {"source": [source] * len(part.slow), "line": [n for n, _, _ in part.slow],
         "kind": [part.kind] * len(part.slow), "raw": [r for _, r, _ in part.slow]},
        schema=RECORD_SCHEMA,
    )


def batch_tables(batch: RecordBatch, digest: str, policy: AdmissionPolicy,
                 checked: tuple[pl.DataFrame, pl.DataFrame] | None = None) -> dict[str, pl.DataFrame]:
    """Every store table's rows for one reader batch (one source): normalised valid records,
    validation verdicts, admission scores and the quarantine. `checked` is the batch's
    (verdicts, errors) from engine.validate when the caller already has them."""
    verdicts, errors = checked if checked is not None else verdicts_of_batch(batch)
    validation = validation_rows(verdicts, errors, digest)
    valid_lines = validation.filter(pl.col("valid")).select("line")
    structural = validation.select("line", (pl.col("structural") == "valid").alias("structural_valid"))
    out: dict[str, list[pl.DataFrame]] = {}

    def add(tables: dict[str, pl.DataFrame]) -> None:
        for name, frame in tables.items():
            if frame.height:
                out.setdefault(name, []).append(frame)

    all_records = []
    for part in batch.parts:
        slow = _keyed(_slow_frame(batch.source, part), digest)
        if part.kind == "aep":
            flags = _line_flags(part.typed, validation)
            typed = _keyed(part.typed.with_columns(pl.lit(batch.source).alias("source"),
                                                   flags["structural_valid"]), digest)
            add(normalize_typed_aep(_rows_where(typed, flags["valid"]).drop("structural_valid")))
            if slow.height:  # (rows only Python's json could read: rare)
                add(normalize_records(slow.join(valid_lines, on="line", how="semi")))
            add({"admission": admission_rows(typed, slow, structural, policy)})
            typed_records = typed.select("record_key", "source", "line", pl.lit("aep").alias("kind"), "raw")
        else:
            typed_records = _keyed(part.typed.select(
                pl.lit(batch.source).alias("source"), "line", pl.lit(part.kind).alias("kind"), "raw"), digest)
            add(normalize_records(pl.concat([typed_records, slow]).join(valid_lines, on="line", how="semi")))
        all_records.extend([typed_records, slow])
    reader_q = pl.DataFrame(
        [(batch.source, n, ex, reason) for n, ex, reason in batch.quarantine], schema=QUARANTINE_SCHEMA, orient="row",
    )
    records = pl.concat(all_records) if all_records else _keyed(pl.DataFrame(schema=RECORD_SCHEMA), digest)
    add({
        "quarantine": pl.concat([
            quarantine_rows(reader_q, digest),
            invalid_quarantine(records, validation).select(list(TABLE_SCHEMAS["quarantine"])),
        ]),
        "validation": validation,
    })
    tables = {name: pl.concat(frames, how="vertical_relaxed") for name, frames in out.items()}
    if "runs" in tables and "admission" in tables:
        scores = tables["admission"].select(
            "record_key", pl.col("score").alias("admission_score"), pl.col("category").alias("admission_category"))
        runs = tables["runs"]
        matched = runs.select("record_key").join(scores, on="record_key", how="left", maintain_order="left")
        tables["runs"] = conform(runs.with_columns(matched["admission_score"], matched["admission_category"]), "runs")
    return tables


class _Worker:
    """Writes the batches' tables on one background thread, in input order.

    The reader's two block workers parse, validate and turn whole batches into tables
    (engine.io.records.map_record_batches: pyarrow, Polars and DuckDB release the GIL, so both
    cores work on batches while this thread writes the one before). Tables are gathered until
    some table holds FLUSH_ROWS rows; then every table with at least one whole DuckDB row group
    (122,880 rows) appends its whole row groups and keeps the rest for the next write. DuckDB
    writes such an append straight to compressed row groups; an append of fewer rows into a
    table that already has rows goes through the write-ahead log and is compressed again at the
    next checkpoint (1M AEP records: about 40% of the append CPU). What is left is written at
    the end. One batch at most waits here, and each table keeps under FLUSH_ROWS rows, so
    memory stays bounded; an error on this thread surfaces on the next `submit` or `close`.
    """

    def __init__(self, store: DuckStore | LakeStore, digest: str, policy: AdmissionPolicy,
                 observer: BatchObserver | None = None) -> None:
        self.store, self.digest, self.policy, self.observer = store, digest, policy, observer
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="engine-ingest")
        self.pending: Future[None] | None = None
        self.buffer: dict[str, list[pl.DataFrame]] = {}
        self.buffered: dict[str, int] = {}
        self.rows: dict[str, int] = {}  # rows written per table

    def submit(self, batch: RecordBatch, checked: Checked, tables: dict[str, pl.DataFrame]) -> None:
        self.wait()
        self.pending = self.pool.submit(self._process, batch, checked, tables)

    def _process(self, batch: RecordBatch, checked: Checked, tables: dict[str, pl.DataFrame]) -> None:
        for name, frame in tables.items():
            self.buffer.setdefault(name, []).append(frame)
            self.buffered[name] = self.buffered.get(name, 0) + frame.height
            self.rows[name] = self.rows.get(name, 0) + frame.height
        if self.observer is not None:
            self.observer(batch, checked)
        if max(self.buffered.values(), default=0) >= FLUSH_ROWS:
            self._flush(whole_row_groups=True)

    def _flush(self, *, whole_row_groups: bool = False) -> None:
        items = []
        for name in [n for n in self.buffer if self.buffered[n] >= ROW_GROUP or not whole_row_groups]:
            frame = pl.concat(self.buffer.pop(name), how="vertical_relaxed")
            rest = frame.height % ROW_GROUP if whole_row_groups else 0
            if rest:  # slices share the frame's buffers: no copy
                self.buffer[name] = [frame.tail(rest)]
                frame = frame.head(frame.height - rest)
            self.buffered[name] = rest
            items.append((name, frame, table_kind(name) or ("aep" if name == "admission" else "other")))
        if items:
            self.store.write_many(items)

    def wait(self) -> None:
        if self.pending is not None:
            pending, self.pending = self.pending, None
            pending.result()

    def close(self, *, flush: bool) -> None:
        try:
            self.wait()
            if flush:
                self.pool.submit(self._flush).result()
        finally:
            self.pool.shutdown(wait=True)


def _prepared(batch: RecordBatch, *, digest: str, policy: AdmissionPolicy) -> Prepared:
    """A batch with its validation verdicts and its store tables (runs on a block worker)."""
    checked = verdicts_of_batch(batch)
    return batch, checked, batch_tables(batch, digest, policy, checked)


def _ingest_source(
    store: DuckStore | LakeStore, src: SourceFile, digest: str, options: IngestOptions,
    progress: ProgressFn | None, summary: IngestSummary, replacing: bool, observer: BatchObserver | None,
) -> SourceResult:
    policy = load_policy(options.policy)
    if replacing:
        store.drop_sources([src.path], [digest])
    store.begin(digest, src.path)
    worker = _Worker(store, digest, policy, observer)
    try:
        completed = False
        try:
            prepare = functools.partial(_prepared, digest=digest, policy=policy)
            for batch, checked, tables in map_record_batches([src.path], prepare, kind=options.kind,
                                                             block_bytes=BLOCK_BYTES):
                worker.submit(batch, checked, tables)
                if progress is not None:
                    progress(batch.nbytes)
            completed = True
        finally:
            worker.close(flush=completed)
        rows = worker.rows
        stored = sum(rows.get(t, 0) for t in ("runs", "rollouts", "compliance", "eval_items", "other_records"))
        quarantined = rows.get("quarantine", 0)
        now = dt.datetime.now(dt.UTC)
        store.commit({
            "source": src.path, "digest": digest, "ingested_at": now.isoformat(timespec="seconds"),
            "ingest_date": options.ingest_date or now.date().isoformat(),
            "n_records": stored + quarantined, "n_stored": stored, "n_quarantined": quarantined,
        })
    except BaseException:
        store.rollback()
        raise
    for table, n in rows.items():
        summary.rows[table] = summary.rows.get(table, 0) + n
    status = "replaced" if replacing else "ingested"
    return SourceResult(src.path, digest, status, records=stored + quarantined, quarantined=quarantined)


def ingest(
    paths: list[str], store_path: str, options: IngestOptions = IngestOptions(),
    progress: ProgressFn | None = None, observer: BatchObserver | None = None,
) -> IngestSummary:
    """Ingest `paths` into the store. `observer`, when given, sees every batch of every ingested
    source with its validation verdicts, in input order, on the thread that normalises it (so a
    caller can compute more from the same single read; `engine audit` does)."""
    files = expand_paths(paths)
    store = open_store(store_path, options.ingest_date)
    summary = IngestSummary(store_path, store.kind)
    try:
        known = store.known_sources()
        by_digest = dict(zip(known["digest"].to_list(), known["source"].to_list(), strict=True))
        known_paths = set(known["source"].to_list())
        for src in files:
            digest = file_digest(src.path)
            if digest in by_digest and not options.replace:
                summary.sources.append(SourceResult(src.path, digest, "skipped", same_as=by_digest[digest]))
                continue
            replacing = digest in by_digest or src.path in known_paths
            result = _ingest_source(store, src, digest, options, progress, summary, replacing, observer)
            summary.sources.append(result)
            by_digest[digest] = src.path
            known_paths.add(src.path)
    finally:
        store.close()
    return summary
