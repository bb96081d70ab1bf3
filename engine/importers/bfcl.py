"""BFCL v4 (Berkeley Function-Calling Leaderboard) results → rollout-wire records.

One line per task: `task_id` (or BFCL's `id`) and `question` (a string, or BFCL's nested
`[[{role, content}]]` turns: the last `content` is the task) are required; `functions`,
`ground_truth`, `category`, `difficulty`, `model_id`, `calls[{name, arguments}]`, `raw_response`,
`latency_ms`, `pass_rate` are optional. Each call becomes a ToolCallEntry (no result: BFCL grades
the call itself, it does not execute it); objective_score = 1 only when pass_rate == 1.0, status
pass / fail / unknown at 1.0 / 0.0 / otherwise, total_score = pass_rate (0 when absent).
"""

from __future__ import annotations

import polars as pl

from engine.importers.common import ImportResult, jval, missing_reason, quarantine_rows
from engine.importers.tabular import (
    decode_required,
    explode,
    per_row,
    rollout_record,
    status_of,
    tool_call_entry,
)

STRUCTURE = {
    "task_id": "VARCHAR", "id": "VARCHAR", "question": "JSON", "functions": "JSON", "function": "JSON",
    "ground_truth": "JSON", "category": "VARCHAR", "difficulty": "VARCHAR", "model_id": "VARCHAR",
    "calls": [{"name": "VARCHAR", "arguments": "JSON"}], "raw_response": "VARCHAR", "latency_ms": "DOUBLE",
    "pass_rate": "DOUBLE",
}
_CONTENT = r'"content"\s*:\s*("(?:[^"\\]|\\.)*")'


def _question_text(q: pl.Expr) -> pl.Expr:
    """A JSON string question as text; for turn lists, the last `content` string."""
    as_string = pl.when(q.str.starts_with('"')).then(q)
    last_content = q.str.extract_all(_CONTENT).list.last().str.extract(_CONTENT)
    encoded = pl.coalesce(as_string, last_content)
    return pl.concat_str([pl.lit('{"v":'), encoded, pl.lit("}")]).str.json_decode(
        pl.Struct({"v": pl.String})).struct.field("v")


def import_bfcl(records: pl.DataFrame, fmt: str = "rollout") -> ImportResult:
    frame = decode_required(records, STRUCTURE, ())[0]
    frame = frame.with_columns(pl.coalesce("task_id", "id").alias("task_id"),
                               _question_text(pl.col("question")).alias("question_text"))
    reason = missing_reason([("task_id", pl.col("task_id")), ("question", pl.col("question_text"))])
    frame = frame.with_columns(reason.alias("__r"))
    q = quarantine_rows(frame.filter(pl.col("__r").is_not_null()), pl.col("__r"))
    good = frame.filter(pl.col("__r").is_null())
    calls = explode(good, "calls")
    if calls.height:
        calls = calls.with_columns(tool_call_entry(pl.col("name"), pl.col("arguments")).alias("f"))
    good = per_row(good, calls, "f", "tool_calls")
    model = pl.col("model_id").fill_null("unknown")
    rate = pl.col("pass_rate")
    out = good.select(rollout_record(
        source="bfcl", rollout_id=pl.lit("bfcl/") + pl.col("task_id"), task=pl.col("question_text"),
        session_id=pl.concat_str([pl.lit("bfcl-"), pl.col("task_id"), pl.lit("-"), model]),
        final_answer=pl.col("raw_response"), tool_calls=pl.col("tool_calls"),
        score=(rate == 1.0).fill_null(False).cast(pl.Int64), status=status_of(rate), total_score=rate.fill_null(0.0),
        model_id=model,
        extra=[("category", jval(pl.col("category").fill_null("simple"))),
               ("difficulty", jval(pl.col("difficulty").fill_null("easy"))),
               ("latency_ms", jval(pl.col("latency_ms")))],
    ).alias("json"))
    return ImportResult(records=out, quarantine=q, read=records.height, imported=out.height, kind="rollout")
