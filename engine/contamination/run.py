"""The `engine contamination` pipeline: read both sides, score, write the flagged rows atomically."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from engine.contamination.api import ContaminationResult, detect_contamination
from engine.contamination.config import ContaminationConfig
from engine.contamination.records import read_texts
from engine.errors import UsageError

OUTPUT_COLUMNS = ("train_id", "best_eval_id", "token_jaccard", "char_jaccard", "shared_ngrams", "containment",
                  "any_13gram_hit", "flag_jaccard", "flag_containment", "train_index")


@dataclass(frozen=True)
class RunReport:
    result: ContaminationResult
    summary: dict[str, Any]


def write_flagged(frame: pl.DataFrame, out: Path) -> None:
    name = out.name.lower()
    if not (name.endswith(".jsonl") or name.endswith(".parquet")):
        raise UsageError(f"--out must end in .jsonl or .parquet, got {out}")
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    try:
        if name.endswith(".parquet"):
            frame.write_parquet(tmp)
        else:
            frame.write_ndjson(tmp)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()


def run_contamination(train: Sequence[str], test: Sequence[str], cfg: ContaminationConfig, *,
                      text_field: str | None = None, id_field: str | None = None, out: Path | None = None,
                      progress: Callable[[int, int], None] | None = None) -> RunReport:
    tr = read_texts(train, text_field=text_field, id_field=id_field)
    ev = read_texts(test, text_field=text_field, id_field=id_field)
    total = len(tr.texts)
    done = 0

    def tick(k: int) -> None:
        nonlocal done
        done += k
        if progress is not None:
            progress(done, total)

    result = detect_contamination(tr.texts, ev.texts, train_ids=tr.ids, eval_ids=ev.ids, config=cfg, progress=tick)
    flagged = result.flagged().sort("train_index").select(OUTPUT_COLUMNS)
    if out is not None:
        write_flagged(flagged, out)
    summary = {
        **result.summary,
        "n_missing_text_training": tr.n_missing_text,
        "n_missing_text_eval": ev.n_missing_text,
        "n_quarantined_training": tr.quarantine.height,
        "n_quarantined_eval": ev.quarantine.height,
        "out": str(out) if out is not None else None,
    }
    return RunReport(result, summary)
