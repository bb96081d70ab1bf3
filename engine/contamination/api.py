"""Public entry point: two text columns (+ ids) -> one row per training text, and a summary.

The eval side is indexed once; the training side is streamed in batches of
`config.batch_size` texts, so memory stays bounded by the batch, not the input.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, TypeAlias

import numpy as np
import polars as pl
import pyarrow as pa

from engine.contamination.charexact import exact_char_best
from engine.contamination.charfilter import char_candidates
from engine.contamination.config import ContaminationConfig, Rule
from engine.contamination.index import EvalIndex, build_eval_index, featurize
from engine.contamination.rules import containment_flags, flags, jaccard_flags
from engine.contamination.scores import any_hit, token_scores

TextColumn: TypeAlias = pl.Series | pa.Array | pa.ChunkedArray | list[str | None]

WORKERS = 2  # batches scored at once (2 cores)
BACKGROUND_SAMPLE = 4096  # training texts that order the char anchors (speed only, never results)
RESULT_COLUMNS = (
    "train_index", "train_id", "best_eval_index", "best_eval_id", "token_jaccard", "char_jaccard",
    "shared_ngrams", "containment", "any_13gram_hit", "flag_jaccard", "flag_containment", "flagged",
)


@dataclass(frozen=True)
class ContaminationResult:
    rows: pl.DataFrame  # one row per training text, RESULT_COLUMNS
    summary: dict[str, Any]

    def flagged(self) -> pl.DataFrame:
        return self.rows.filter(pl.col("flagged"))


def _series(col: TextColumn | None, name: str) -> pl.Series | None:
    if col is None:
        return None
    if isinstance(col, pl.Series):
        return col.rename(name)
    if isinstance(col, (pa.Array, pa.ChunkedArray)):
        return pl.Series(name, col)
    return pl.Series(name, col, dtype=pl.String)


def score_batch(texts: pl.Series, index: EvalIndex, cfg: ContaminationConfig) -> pl.DataFrame:
    """Scores for one batch of training texts (input row order; `train_index` is batch-local)."""
    # featurise in length order: rows of one size band are then contiguous in the stream
    by_len = texts.fill_null("").str.len_bytes().arg_sort().to_numpy().astype(np.int64)
    f = featurize(texts.gather(by_len))
    f = replace(f, stream=replace(f.stream, order=by_len[f.stream.order]))
    n = f.n_rows
    ts = token_scores(f, index)
    hits = any_hit(f, index)
    if cfg.exact_char_scores:
        cj, cb = exact_char_best(f, index.char, np.arange(n))
    elif cfg.char_threshold <= 1.0:
        cj, cb = exact_char_best(f, index.char, np.flatnonzero(char_candidates(f, index.char)))
    else:
        cj, cb = np.full(n, np.nan), np.full(n, -1, dtype=np.int64)
    jflag = jaccard_flags(ts.jaccard, cj, cfg)
    cflag = containment_flags(ts.containment, cfg)
    flagged = flags(jflag, cflag, cfg.rule)
    if not cfg.exact_char_scores:
        # below the threshold the score is reported only for flagged rows (null = below it)
        low = ~flagged & ~(cj >= cfg.char_threshold)
        cj[low], cb[low] = np.nan, -1
        need = np.flatnonzero(flagged & np.isnan(cj))
        if need.size:
            cj2, cb2 = exact_char_best(f, index.char, need)
            cj[need], cb[need] = cj2[need], cb2[need]

    best_b = np.where(ts.best_b >= 0, ts.best_b, cb)
    out = pl.DataFrame({
        "train_index": f.stream.order,
        "best_eval_index": best_b,
        "token_jaccard": ts.jaccard,
        "char_jaccard": pl.Series(cj).fill_nan(None),
        "shared_ngrams": ts.shared,
        "containment": ts.containment,
        "any_13gram_hit": hits,
        "flag_jaccard": jflag,
        "flag_containment": cflag,
        "flagged": flagged,
    })
    return out.sort("train_index")


def detect_contamination(
    train_texts: TextColumn,
    eval_texts: TextColumn,
    *,
    train_ids: TextColumn | None = None,
    eval_ids: TextColumn | None = None,
    config: ContaminationConfig | None = None,
    progress: Callable[[int], None] | None = None,
) -> ContaminationResult:
    """Score every training text against the eval set (SPEC §6). Null texts count as empty."""
    cfg = config or ContaminationConfig()
    train = _series(train_texts, "text")
    evals = _series(eval_texts, "text")
    assert train is not None and evals is not None
    sample = train.gather(np.linspace(0, len(train) - 1, min(len(train), BACKGROUND_SAMPLE)).astype(np.int64)) if len(train) else None
    index = build_eval_index(evals, cfg.ngram, cfg.char_threshold, sample)
    parts = []
    starts = list(range(0, len(train), cfg.batch_size))
    # two batches in flight: numpy, scipy and Polars release the GIL in their kernels
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        pending: deque[tuple[int, Future[pl.DataFrame]]] = deque()
        for i, start in enumerate(starts):
            pending.append((start, pool.submit(score_batch, train.slice(start, cfg.batch_size), index, cfg)))
            if len(pending) == WORKERS or i == len(starts) - 1:
                while pending and (len(pending) == WORKERS or i == len(starts) - 1):
                    first, fut = pending.popleft()
                    part = fut.result()
                    parts.append(part.with_columns(pl.col("train_index") + first))
                    if progress is not None:
                        progress(part.height)
    rows = pl.concat(parts) if parts else score_batch(pl.Series("text", [], dtype=pl.String), index, cfg)

    tid = _series(train_ids, "train_id")
    eid = _series(eval_ids, "eval_id")
    tid = tid.cast(pl.String) if tid is not None else rows["train_index"].cast(pl.String)
    eid_values = eid.cast(pl.String) if eid is not None else pl.Series("eval_id", np.arange(len(evals))).cast(pl.String)
    best = rows["best_eval_index"]
    best_id = eid_values.gather(best.clip(lower_bound=0)) if len(eid_values) else pl.Series([None] * len(best), dtype=pl.String)
    rows = rows.with_columns(
        tid.alias("train_id"),
        pl.when(best >= 0).then(best_id).otherwise(None).alias("best_eval_id"),
        pl.when(best >= 0).then(best).otherwise(None).alias("best_eval_index"),
    ).select(RESULT_COLUMNS)
    n_train = rows.height
    n_flagged = int(rows["flagged"].sum())
    summary = {
        "n_training": n_train,
        "n_eval": len(evals),
        "n_flagged": n_flagged,
        "flag_rate": n_flagged / n_train if n_train else 0.0,
        "n_flagged_jaccard": int(rows["flag_jaccard"].sum()),
        "n_flagged_containment": int(rows["flag_containment"].sum()),
        "n_any_13gram_hit": int(rows["any_13gram_hit"].sum()),
        "n_empty_training": int((train.fill_null("").str.len_chars() == 0).sum()),
        "n_empty_eval": int((evals.fill_null("").str.len_chars() == 0).sum()),
        "threshold": cfg.threshold,
        "char_threshold": cfg.char_threshold,
        "containment_threshold": cfg.containment_threshold,
        "rule": Rule(cfg.rule).value,
        "ngram": cfg.ngram,
    }
    return ContaminationResult(rows=rows, summary=summary)
