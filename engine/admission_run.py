"""`engine admit` end to end: load → structural validation → admission score → partitions.

Only this module (and engine/io) touches files for admission. Records of other kinds found in
the inputs (rollouts, training records ...) are not AEP evidence: they are counted as skipped,
not scored. Partitions keep every input row exactly once (admitted + audit_only + rejected =
scored records), each with its source file and line and the original record.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import polars as pl

from engine.admission import (
    CATEGORIES,
    DIMENSIONS,
    OUTPUT_COLUMNS,
    TRAIN_CATEGORIES,
    decode_evidence,
    py_round,
    score_frame,
    typed_evidence,
)
from engine.io.records import KindBatch
from engine.policy import AdmissionPolicy

PARTITIONS: dict[str, pl.Expr] = {
    "admitted": pl.col("category").is_in(list(TRAIN_CATEGORIES)),
    "audit_only": pl.col("category") == "audit_only",
    "rejected": pl.col("category") == "reject",
}
OutFormat = Literal["parquet", "jsonl"]
_SCORABLE_KINDS = ("aep", "unknown")


@dataclass(frozen=True)
class AdmitResult:
    scored: pl.DataFrame
    summary: dict[str, Any]
    quarantine: pl.DataFrame
    written: dict[str, str]


class PartitionSink:
    """admitted / audit_only / rejected files written batch by batch (bounded memory), each to a
    temporary name renamed into place on `close()`, removed on `abort()`."""

    def __init__(self, out_dir: Path, fmt: OutFormat) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        self.fmt = fmt
        self.paths = {name: out_dir / f"{name}.{fmt}" for name in PARTITIONS}
        self.tmp = {name: p.with_name(f".{p.name}.tmp-{os.getpid()}") for name, p in self.paths.items()}
        self._writers: dict[str, Any] = {}
        self._schema: Any = None
        if fmt == "jsonl":
            self._files = {name: open(t, "w", encoding="utf-8") for name, t in self.tmp.items()}  # noqa: SIM115

    def write(self, scored: pl.DataFrame) -> None:
        for name, predicate in PARTITIONS.items():
            part = scored.filter(predicate)
            if self.fmt == "jsonl":
                if part.height:
                    self._files[name].write(_join_lines(_jsonl_lines(part)))
                continue
            if self._schema is None:
                self._schema = scored.head(0).to_arrow().schema
            if name not in self._writers:
                import pyarrow.parquet as pq

                self._writers[name] = pq.ParquetWriter(self.tmp[name], self._schema)
            if part.height:
                self._writers[name].write_table(part.to_arrow().cast(self._schema))

    def close(self, empty: pl.DataFrame) -> dict[str, str]:
        if self.fmt == "jsonl":
            for f in self._files.values():
                f.close()
        else:
            if self._schema is None:
                self._schema = empty.to_arrow().schema
            for name in PARTITIONS:
                if name not in self._writers:
                    import pyarrow.parquet as pq

                    self._writers[name] = pq.ParquetWriter(self.tmp[name], self._schema)
                self._writers[name].close()
        for name, path in self.paths.items():
            os.replace(self.tmp[name], path)
        return {name: str(path) for name, path in self.paths.items()}

    def abort(self) -> None:
        for f in getattr(self, "_files", {}).values():
            f.close()
        for w in self._writers.values():
            w.close()
        for t in self.tmp.values():
            t.unlink(missing_ok=True)


def _jsonl_lines(part: pl.DataFrame) -> pl.Series:
    """One JSON object per row: the scoring columns plus the original record under "record"."""
    meta = part.drop("raw").select(pl.struct(pl.all()).struct.json_encode().alias("meta"))["meta"]
    return pl.select(
        pl.concat_str([meta.str.head(-1), pl.lit(',"record":'), part["raw"], pl.lit("}")])
    ).to_series()


def _join_lines(lines: pl.Series) -> str:
    if lines.len() == 0:
        return ""
    return lines.str.join("\n").item() + "\n"


def write_partitions(scored: pl.DataFrame, out_dir: Path, fmt: OutFormat = "parquet") -> dict[str, str]:
    """Write an in-memory scored frame (with `raw`) as partitions."""
    sink = PartitionSink(out_dir, fmt)
    try:
        sink.write(scored)
        return sink.close(scored.head(0))
    except BaseException:
        sink.abort()
        raise


def evidence_frames(part: KindBatch, source: str, structural: pl.DataFrame | None = None) -> list[pl.DataFrame]:
    """Decoded AEP evidence of one batch part, with `source` and the exact `structural_valid`
    verdict of engine.validate. Rows the typed reader read keep its columns (no second parse);
    the others are decoded from their JSON text. Two frames at most (their struct types differ).
    `structural` (line → structural_valid) is the verdict when the caller has already validated
    the batch; otherwise the part is checked here."""
    if structural is None:
        from engine.validate import check_kind_batch

        structural = check_kind_batch(part).verdicts.select(
            "line", (pl.col("structural") == "valid").alias("structural_valid"))
    frames: list[pl.DataFrame] = []
    if part.typed.height:
        if part.kind == "aep":
            frames.append(typed_evidence(part.typed))
        else:  # no typed AEP columns for unknown kinds: decode the JSON text
            frames.append(decode_evidence(part.typed.select("line", "raw")))
    if part.slow:
        slow = pl.DataFrame({"line": [n for n, _, _ in part.slow], "raw": [r for _, r, _ in part.slow]},
                            schema={"line": pl.Int64, "raw": pl.String})
        frames.append(decode_evidence(slow))
    # the verdict is joined on the line column alone and attached, so the wide evidence frame
    # (raw text, nested lists) is not gathered row by row
    return [
        f.with_columns(
            f.select("line").join(structural, on="line", how="left", maintain_order="left")
            .get_column("structural_valid").fill_null(False),
            pl.lit(source).alias("source"))
        for f in frames
    ]


def scorable(part: KindBatch, kind: str | None) -> bool:
    """Whether a batch part is AEP evidence (or may be: unknown kind) for admit, trust, audit."""
    return kind is not None or part.kind in _SCORABLE_KINDS


def iter_evidence(paths: Sequence[str], *, kind: str | None = None, progress: bool = False,
                  counters: dict[str, Any] | None = None) -> Iterator[tuple[int, pl.DataFrame]]:
    """(batch number, evidence frame) for every AEP record under `paths`, streamed.

    `counters` (if given) receives `skipped_other_kinds` and `quarantine` (source, line, excerpt,
    reason rows of lines that are not JSON objects)."""
    from engine.io.prefetch import prefetch
    from engine.io.records import iter_record_batches
    from engine.io.sources import expand_paths
    from engine.progress import ByteProgress

    counters = counters if counters is not None else {}
    counters.setdefault("skipped_other_kinds", 0)
    counters.setdefault("quarantine", [])
    total = sum(s.size for s in expand_paths(list(paths)))
    with ByteProgress(total, "reading evidence", enabled=progress) as bar:
        for seq, batch in enumerate(prefetch(iter_record_batches(paths, kind=kind))):
            counters["quarantine"].extend((batch.source, n, ex, reason) for n, ex, reason in batch.quarantine)
            for part in batch.parts:
                if not scorable(part, kind):
                    counters["skipped_other_kinds"] += part.size
                    continue
                for frame in evidence_frames(part, batch.source):
                    yield seq, frame
            bar.advance(batch.nbytes)


def admit_paths(
    paths: Sequence[str],
    policy: AdmissionPolicy,
    *,
    out_dir: Path | None = None,
    out_format: OutFormat = "parquet",
    kind: str | None = None,
    progress: bool = False,
) -> AdmitResult:
    """Stream `paths` batch by batch: structural verdicts (engine.validate), admission scores,
    partitions. Memory holds one batch plus the (small) per-record score table."""
    sink = PartitionSink(out_dir, out_format) if out_dir is not None else None
    kept: list[pl.DataFrame] = []
    counters: dict[str, Any] = {}
    try:
        for seq, evidence in iter_evidence(paths, kind=kind, progress=progress, counters=counters):
            scored = score_frame(evidence, policy).select(*OUTPUT_COLUMNS, "raw")
            if sink is not None:
                sink.write(scored)
            kept.append(scored.drop("raw").with_columns(pl.lit(seq).alias("_seq")))
        empty = _empty_scored()
        scored_all = (pl.concat(kept).sort("_seq", "line").drop("_seq") if kept else empty.drop("raw"))
        written = sink.close(empty) if sink is not None else {}
        sink = None
    finally:
        if sink is not None:
            sink.abort()
    summary = summarize(scored_all, policy)
    summary["skipped_other_kinds"] = counters["skipped_other_kinds"]
    summary["quarantined_lines"] = len(counters["quarantine"])
    if written:
        summary["written"] = written
    q = pl.DataFrame(counters["quarantine"], schema={"source": pl.String, "line": pl.Int64, "excerpt": pl.String,
                                                     "reason": pl.String}, orient="row")
    return AdmitResult(scored=scored_all, summary=summary, quarantine=q, written=written)


_SCORED_SCHEMA: dict[str, Any] = {
    "source": pl.String, "line": pl.Int64, "run_id": pl.String, "trace_id": pl.String, "schema_version": pl.String,
    "structural_valid": pl.Boolean, "score": pl.Float64, "category": pl.String, "admitted": pl.Boolean,
    "reasons": pl.List(pl.String), **{f"dim_{d}": pl.Float64 for d in DIMENSIONS}, "raw": pl.String,
}


def _empty_scored() -> pl.DataFrame:
    return pl.DataFrame(schema=_SCORED_SCHEMA)


def record_rows(scored: pl.DataFrame, top: int) -> list[dict[str, Any]]:
    """The first `top` scored rows as plain dicts (for display)."""
    cols = ["source", "line", "run_id", "trace_id", "score", "category", "reasons", *(f"dim_{d}" for d in DIMENSIONS)]
    return scored.head(top).select(cols).to_dicts()


def summarize(scored: pl.DataFrame, policy: AdmissionPolicy) -> dict[str, Any]:
    """The `engine admit --format json` summary: counts by category, mean score, admitted."""
    counts = dict(scored.group_by("category").len().iter_rows()) if scored.height else {}
    by_category = {c: int(counts.get(c, 0)) for c in CATEGORIES}
    n = scored.height
    mean = float(py_round(pl.Series([scored["score"].sum() / n]), 4)[0]) if n else 0.0
    admitted = sum(by_category[c] for c in TRAIN_CATEGORIES)
    return {
        "records": n,
        "by_category": by_category,
        "mean_score": mean,
        "admitted": admitted,
        "rejected": by_category["reject"],
        "audit_only": by_category["audit_only"],
        "schema_invalid": int((~scored["structural_valid"]).sum()) if n else 0,
        "policy": policy.name,
        "min_score": policy.min_score,
    }
