"""`engine admit` end to end: load → structural validation → admission score → partitions.

Only this module (and engine/io) touches files for admission. Records of other kinds found in
the inputs (rollouts, training records ...) are not AEP evidence: they are counted as skipped,
not scored. Partitions keep every input row exactly once (admitted + audit_only + rejected =
scored records), each with its source file and line and the original record.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import polars as pl

from engine.admission import DIMENSIONS, TRAIN_CATEGORIES, admit_records, summarize
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


def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _jsonl_lines(part: pl.DataFrame) -> pl.Series:
    """One JSON object per row: the scoring columns plus the original record under "record"."""
    meta = part.drop("raw").select(pl.struct(pl.all()).struct.json_encode().alias("meta"))["meta"]
    return pl.select(
        pl.concat_str([meta.str.head(-1), pl.lit(',"record":'), part["raw"], pl.lit("}")])
    ).to_series()


def write_partitions(scored: pl.DataFrame, out_dir: Path, fmt: OutFormat = "parquet") -> dict[str, str]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, str] = {}
    for name, predicate in PARTITIONS.items():
        part = scored.filter(predicate)
        path = out_dir / f"{name}.{fmt}"
        if fmt == "parquet":
            _atomic_write(path, lambda p, part=part: part.write_parquet(p))
        else:
            text = _join_lines(_jsonl_lines(part)) if part.height else ""
            _atomic_write(path, lambda p, text=text: p.write_text(text, encoding="utf-8"))
        written[name] = str(path)
    return written


def _join_lines(lines: pl.Series) -> str:
    if lines.len() == 0:
        return ""
    return lines.str.join("\n").item() + "\n"


def admit_paths(
    paths: Sequence[str],
    policy: AdmissionPolicy,
    *,
    out_dir: Path | None = None,
    out_format: OutFormat = "parquet",
    kind: str | None = None,
    step: Callable[[str], None] | None = None,
) -> AdmitResult:
    from engine.io import load_records
    from engine.validate import structural_valid

    def say(msg: str) -> None:
        if step is not None:
            step(msg)

    say("reading records")
    loaded = load_records(list(paths), kind=kind)
    records = loaded.records
    aep = records.filter(pl.col("kind").is_in(list(_SCORABLE_KINDS))) if kind is None else records
    say(f"validating {aep.height:,} records")
    aep = aep.with_columns(structural_valid(aep)) if aep.height else aep.with_columns(
        pl.lit(True).alias("structural_valid"))
    say("scoring")
    scored = admit_records(aep, policy)
    summary = summarize(scored, policy)
    summary["skipped_other_kinds"] = records.height - aep.height
    summary["quarantined_lines"] = loaded.quarantine.height
    written: dict[str, str] = {}
    if out_dir is not None:
        say("writing partitions")
        written = write_partitions(scored, out_dir, out_format)
        summary["written"] = written
    return AdmitResult(scored=scored, summary=summary, quarantine=loaded.quarantine, written=written)


def record_rows(scored: pl.DataFrame, top: int) -> list[dict[str, Any]]:
    """The first `top` scored rows as plain dicts (for display)."""
    cols = ["source", "line", "run_id", "trace_id", "score", "category", "reasons", *(f"dim_{d}" for d in DIMENSIONS)]
    return scored.head(top).select(cols).to_dicts()
