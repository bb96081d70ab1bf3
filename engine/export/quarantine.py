"""Quarantine rows: every record or row that is not exported, with its stage, lineage and reason.

Stages: `input` (unreadable line, not a usable rollout branch), `branch` (unredactable, contaminated,
injection fragment, unadmitted: excluded from every config), `sft` / `dpo` / `ppo` (the output row failed
structural validation). Excerpts are redacted text and never hold an unredactable value.
"""

from __future__ import annotations

import polars as pl

from engine.export.redact import UNREDACTABLE, redact_text

QUARANTINE_COLUMNS = ("stage", "rid", "source", "line", "rollout_id", "branch_index", "reason", "excerpt",
                      "best_eval", "token_jaccard", "char_jaccard", "containment", "admission_score",
                      "evidence_digest")
EXCERPT_CHARS = 200
_DTYPES = {"stage": pl.String, "rid": pl.Int64, "source": pl.String, "line": pl.Int64, "rollout_id": pl.String,
           "branch_index": pl.Int64, "reason": pl.String, "excerpt": pl.String, "best_eval": pl.String,
           "token_jaccard": pl.Float64, "char_jaccard": pl.Float64, "containment": pl.Float64, "admission_score": pl.Float64,
           "evidence_digest": pl.String}


def _fill(frame: pl.DataFrame) -> pl.DataFrame:
    missing = [pl.lit(None, dtype=_DTYPES[c]).alias(c) for c in QUARANTINE_COLUMNS if c not in frame.columns]
    return frame.with_columns(missing).select([pl.col(c).cast(_DTYPES[c]) for c in QUARANTINE_COLUMNS])


def redact_excerpts(frame: pl.DataFrame, redact: bool) -> pl.DataFrame:
    """Loader excerpts are raw input text: redact them (and drop any that stay unredactable)."""
    if redact:
        ex = redact_text(pl.col("excerpt"))
        frame = frame.with_columns(
            pl.when(ex.str.contains(UNREDACTABLE)).then(pl.lit(None, dtype=pl.String)).otherwise(ex)
            .alias("excerpt"))
    return _fill(frame)


def quarantine_rows(frame: pl.DataFrame, stage: str, branches: pl.DataFrame | None) -> pl.DataFrame:
    """Rows of `frame` (with rid and reason) as quarantine rows of `stage`."""
    f = frame.with_columns(pl.lit(stage).alias("stage"))
    if branches is not None:  # output rows: take lineage and the answer excerpt from their branch
        keep = [c for c in ("rid", "branch_index", "final_answer", "best_eval", "token_jaccard", "char_jaccard",
                            "containment")
                if c in branches.columns]
        f = f.drop([c for c in keep if c != "rid" and c in f.columns]).join(
            branches.select(keep), on="rid", how="left", maintain_order="left")
    if "final_answer" in f.columns:
        ex = pl.col("final_answer").str.slice(0, EXCERPT_CHARS)
        if "unredactable" in f.columns:
            ex = pl.when(pl.col("unredactable")).then(pl.lit(None, dtype=pl.String)).otherwise(ex)
        f = f.with_columns(ex.alias("excerpt"))
    return _fill(f)
