"""Admission of AEP runs for export: scores per run_id from `engine.admission` (the shared scorer).

A rollout branch is linked to its AEP run by run_id (the record's `run_id`, else `provenance.run_id`,
else its `session_id`). With --min-admission, branches whose run is missing or scores below the minimum
are quarantined as `unadmitted`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from engine.export.source import read_inputs

if TYPE_CHECKING:
    from engine.export.pipeline import ExportResult


def score_aep(paths: tuple[str, ...]) -> tuple[pl.DataFrame, dict[str, str]]:
    """AEP records → source, line, raw, run_id, score, category, admitted (one row per record)."""
    from engine.admission import admit_records
    from engine.policy import load_policy
    from engine.validate import validate_frame

    inputs = read_inputs(list(paths))
    recs = pl.from_arrow(inputs.records.select(["source", "line", "raw"]))
    assert isinstance(recs, pl.DataFrame)
    recs = recs.with_columns(pl.col("raw").str.strip_chars_end())
    # a structurally invalid record is `reject` with reason schema_invalid (exact jsonschema verdict);
    # a line that is not a JSON object has no verdict: it is a reject with no run and no score
    structural = validate_frame(recs.with_columns(pl.lit("aep").alias("kind"))).get_column("structural")
    readable = structural.is_not_null()
    valid = (structural == "valid").fill_null(False).alias("structural_valid")
    scored = admit_records(recs.with_columns(valid).filter(readable), load_policy())
    columns = ["source", "line", "raw", "run_id", "score", "category", "admitted"]
    unreadable = recs.filter(~readable).select(
        "source", "line", "raw", pl.lit(None, dtype=pl.String).alias("run_id"), pl.lit(0.0).alias("score"),
        pl.lit("reject").alias("category"), pl.lit(False).alias("admitted"))
    out = pl.concat([scored.select(columns), unreadable.cast(scored.select(columns).schema)])  # type: ignore[arg-type]
    return out.sort("source", "line"), inputs.digests


def admission_scores(scored: pl.DataFrame, result: ExportResult, min_admission: float | None) -> pl.DataFrame:
    """Per run_id the best admission score (a run may have several chained records) → run_id, admission_score."""
    per_run = (scored.drop_nulls("run_id").group_by("run_id").agg(pl.col("score").max().alias("admission_score"))
               .sort("run_id"))
    cats = dict(scored.group_by("category").len().sort("category").iter_rows())
    result.admission = {"runs": per_run.height, "records": scored.height, "min_admission": min_admission,
                        "by_category": cats}
    return per_run
