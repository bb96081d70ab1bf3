"""Helpers for sources with one task per line and nested step lists (the benchmark importers,
MS Agent Framework workflow runs, A2A tasks): decode, quarantine missing keys, explode a step
list, aggregate step fragments back into one JSON array per record, and assemble rollout-wire
and AEP records. Every step is a Polars expression over whole columns.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import polars as pl

from engine.importers.common import (
    decode,
    ext_or_null,
    finite,
    jarray_agg,
    jobj,
    jobj_or_null,
    jraw,
    jval,
    lit_str,
    missing_reason,
    nonempty_array,
    quarantine_rows,
    ts_ms,
)


def decode_required(records: pl.DataFrame, structure: dict[str, Any],
                    required: Sequence[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Decoded rows that have every required key (with `row_nr`), and the quarantine of the rest."""
    frame = decode(records, structure).with_row_index("row_nr").with_columns(pl.col("row_nr").cast(pl.Int64))
    reason = missing_reason([(k, pl.col(k)) for k in required])
    frame = frame.with_columns(reason.alias("__reason"))
    bad = frame.filter(pl.col("__reason").is_not_null())
    return frame.filter(pl.col("__reason").is_null()).drop("__reason"), quarantine_rows(bad, pl.col("__reason"))


def explode(frame: pl.DataFrame, column: str, keep: Sequence[str] = ()) -> pl.DataFrame:
    """One row per element of list-of-struct `column`: row_nr, idx (0-based), kept columns, fields."""
    items = (frame.select("row_nr", *keep, pl.col(column))
             .filter(pl.col(column).list.len().fill_null(0) > 0)
             .explode(column)
             .with_columns(pl.int_range(pl.len(), dtype=pl.Int64).over("row_nr").alias("idx")))
    return items.with_columns(pl.col(column).struct.unnest()).drop(column)


def per_row(frame: pl.DataFrame, items: pl.DataFrame, fragment: str, name: str) -> pl.DataFrame:
    """`frame` + column `name`: the JSON array of `items[fragment]` per row_nr, in idx order ("[]" if none)."""
    if name in frame.columns:
        frame = frame.drop(name)
    if items.height == 0:
        return frame.with_columns(pl.lit("[]").alias(name))
    agg = items.sort("row_nr", "idx").group_by("row_nr", maintain_order=True).agg(jarray_agg(fragment).alias(name))
    return frame.join(agg, on="row_nr", how="left").with_columns(pl.col(name).fill_null("[]"))


def args_object(expr: pl.Expr) -> pl.Expr:
    """Tool arguments as a JSON object text: objects as is, absent → {}, anything else wrapped."""
    text = expr.cast(pl.String)
    return (pl.when(text.is_null() | (text == "null")).then(pl.lit("{}"))
            .when(text.str.starts_with("{")).then(text)
            .otherwise(pl.lit('{"_raw":') + text + pl.lit("}")))


def tool_call_entry(tool_name: pl.Expr, arguments: pl.Expr, result: pl.Expr | None = None,
                    error: pl.Expr | None = None) -> pl.Expr:
    """A ToolCallEntry `{tool_name, arguments, result, error}` (the exporter's own shape)."""
    return pl.when(tool_name.is_not_null() & (tool_name != "")).then(jobj(
        ("tool_name", jval(tool_name)), ("arguments", args_object(arguments)),
        ("result", jraw(result) if result is not None else pl.lit(None, dtype=pl.String)),
        ("error", jval(error) if error is not None else pl.lit(None, dtype=pl.String)),
    ))


def status_of(score: pl.Expr) -> pl.Expr:
    """pass at 1.0, fail at 0.0, unknown otherwise (reference §4.5)."""
    return (pl.when(score == 1.0).then(pl.lit("pass")).when(score == 0.0).then(pl.lit("fail"))
            .otherwise(pl.lit("unknown")))


def rollout_record(*, source: str, rollout_id: pl.Expr, task: pl.Expr, session_id: pl.Expr, final_answer: pl.Expr,
                   tool_calls: pl.Expr, score: pl.Expr, status: pl.Expr, total_score: pl.Expr,
                   model_id: pl.Expr, build_result: pl.Expr | None = None,
                   extra: Sequence[tuple[str, pl.Expr]] = ()) -> pl.Expr:
    """A rollout-wire/v1 branch record; `task` falls back to the rollout id (schema: minLength 1)."""
    provenance = jobj(
        ("source", lit_str(source)), ("evidence_source", lit_str("benchmark_graded")),
        ("redaction_version", lit_str("none")), ("model_id", jval(model_id)),
        *[(k, v) for k, v in extra],
    )
    return jobj(
        ("schema_version", lit_str("rollout-wire/v1")),
        ("rollout_id", jval(rollout_id)), ("branch_index", pl.lit("0")), ("task", jval(
            pl.when(task.is_null() | (task == "")).then(rollout_id).otherwise(task))),
        ("temperature", pl.lit("0.0")), ("session_id", jval(session_id)),
        ("tool_call_sequence", tool_calls), ("final_answer", jval(final_answer.fill_null(""))),
        ("build_result", build_result if build_result is not None else pl.lit(None, dtype=pl.String)),
        ("objective_score", jval(score.cast(pl.Int64))), ("objective_status", jval(status)),
        ("rank", pl.lit("0")), ("total_score", jval(finite(total_score).fill_null(0.0))),
        ("provenance", provenance), ("extensions", ext_or_null()),
    )


def ref(uri: pl.Expr, digest: pl.Expr | None = None) -> pl.Expr:
    return jobj(("uri", jval(uri)), ("digest", jval(digest) if digest is not None else pl.lit(None, dtype=pl.String)))


def verifier(verifier_id: pl.Expr, passed: pl.Expr, score: pl.Expr | None = None,
             claim_ids: pl.Expr | None = None) -> pl.Expr:
    return jobj(("verifier_id", jval(verifier_id)), ("passed", jval(passed.fill_null(False))),
                ("score", jval(finite(score)) if score is not None else pl.lit(None, dtype=pl.String)),
                ("claim_ids", jval(claim_ids) if claim_ids is not None else pl.lit(None, dtype=pl.String)))


def decision(capability: pl.Expr, subject: pl.Expr, resource: pl.Expr, reason: pl.Expr) -> pl.Expr:
    return jobj(("capability", jval(capability)), ("subject", jval(subject)), ("resource", jval(resource)),
                ("decision", lit_str("deny")), ("reason_code", jval(reason)))


def aep_record(*, run_id: pl.Expr, provider: str, model_id: pl.Expr, created_at_ms: pl.Expr,
               trace_id: pl.Expr | None = None, input_refs: pl.Expr | None = None,
               output_refs: pl.Expr | None = None, actions: pl.Expr | None = None,
               decisions: pl.Expr | None = None, verifiers: pl.Expr | None = None,
               run_context: pl.Expr | None = None, extra: Sequence[tuple[str, pl.Expr]] = ()) -> pl.Expr:
    none = pl.lit(None, dtype=pl.String)
    return jobj(
        ("schema_version", lit_str("aep/v0.5")), ("run_id", jval(run_id)),
        ("trace_id", jval(trace_id) if trace_id is not None else none),
        ("created_at_ms", jval(ts_ms(created_at_ms).fill_null(0.0))),
        ("model_provider", lit_str(provider)), ("model_id", jval(model_id)),
        ("run_context", run_context if run_context is not None else none),
        ("input_refs", nonempty_array(input_refs) if input_refs is not None else none),
        ("output_refs", nonempty_array(output_refs) if output_refs is not None else none),
        ("capability_decisions", nonempty_array(decisions) if decisions is not None else none),
        ("actions", actions if actions is not None else pl.lit("[]")),
        ("verifier_results", nonempty_array(verifiers) if verifiers is not None else none),
        *extra,
        ("extensions", ext_or_null()),
    )


def one_array(*fragments: pl.Expr) -> pl.Expr:
    """A JSON array of the non-null fragments given as separate expressions."""
    return pl.concat_str([pl.lit("["), pl.concat_list(fragments).list.drop_nulls().list.join(","), pl.lit("]")])


def concat_arrays(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    """Concatenate two JSON array texts."""
    inner_a, inner_b = a.str.slice(1).str.head(-1), b.str.slice(1).str.head(-1)
    sep = pl.when((inner_a != "") & (inner_b != "")).then(pl.lit(",")).otherwise(pl.lit(""))
    return pl.concat_str([pl.lit("["), inner_a, sep, inner_b, pl.lit("]")])


def run_context(agent: pl.Expr) -> pl.Expr:
    return pl.when(agent.is_not_null()).then(jobj(("agent_id", jval(agent))))


def jobj_opt(*pairs: tuple[str, pl.Expr]) -> pl.Expr:
    return jobj_or_null(*pairs)


def known(structure: dict[str, Any]) -> str:
    return json.dumps({k: None for k in structure})


def clock(latency: str) -> pl.Expr:
    """A monotone per-record clock from step latencies (ms), for sources without timestamps."""
    return ts_ms(pl.col(latency)).fill_null(0.0).cum_sum().over("row_nr")


def step_ids(ids: pl.Expr) -> pl.Expr:
    """Step ids unique within their record (a repeated id gets `#<k>`)."""
    from engine.importers.common import unique_ids

    return unique_ids(ids, "row_nr")
