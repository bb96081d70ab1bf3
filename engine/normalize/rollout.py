"""rollout-wire/v1 branches → rollouts and tool_calls.

Tool calls arrive in two shapes (reference §2.2, §4.1): ToolCallEntry items
`{tool_name, arguments, result, error}` (producers also write `args`), and wasmagent-js
AgentEvent pairs `{channel, event: tool_call|tool_result, data: {toolName, args, callId,
output, error}}`. Both become one row per call: events are paired by `callId`, a callId seen
twice collapses to its last call and last result (as the original does), and each call sits
at the position where it first appeared. Unlike the original, the shape is decided per item,
not from the first item only, so a mixed sequence loses nothing.
"""

from __future__ import annotations

import polars as pl

from engine.normalize.common import KEYS, explode_items, json_error_text
from engine.normalize.decode import JSON, Spec
from engine.normalize.tables import conform, empty

S, F, INT = pl.String(), pl.Float64(), pl.Int64()

ROLLOUT_SPEC: dict[str, Spec] = {
    "rollout_id": S, "branch_index": INT, "task": S, "session_id": S, "temperature": F, "seed": INT,
    "final_answer": S, "objective_score": INT, "objective_status": S, "rank": INT, "total_score": F,
    "build_result": {"status": S, "exit_code": INT},
    "provenance": {"model_id": S, "source": S},
    "tool_call_sequence": [{
        "tool_name": S, "arguments": JSON, "args": JSON, "result": JSON, "error": JSON,
        "channel": S, "event": S,
        "data": {"toolName": S, "args": JSON, "callId": S, "output": JSON, "error": JSON},
    }],
}

_CARRY = [*KEYS, "rollout_id", "branch_index"]


def _entries(items: pl.DataFrame) -> pl.DataFrame:
    return items.filter(pl.col("tool_name").is_not_null()).select(
        *_CARRY,
        pl.col("idx").alias("pos"),
        pl.lit("entry").alias("shape"),
        pl.lit(None, pl.String).alias("call_id"),
        "tool_name",
        pl.coalesce("arguments", "args").alias("arguments"),
        "result",
        json_error_text("error").alias("error"),
    )


def _event_side(events: pl.DataFrame, which: str, fields: dict[str, str]) -> pl.DataFrame:
    side = events.filter(pl.col("event") == which)
    return side.group_by([*_CARRY, "call_id"]).agg(
        pl.col("idx").min().alias(f"pos_{which}"),
        *[pl.col(src).sort_by("idx").last().alias(dst) for src, dst in fields.items()],
    )


def _events(items: pl.DataFrame) -> pl.DataFrame:
    events = items.filter(
        pl.col("tool_name").is_null() & pl.col("event").is_in(["tool_call", "tool_result"])
    ).with_columns(
        pl.col("data").struct.field("callId").fill_null("").alias("call_id"),
        pl.col("data").struct.field("toolName").alias("d_tool"),
        pl.col("data").struct.field("args").alias("d_args"),
        pl.col("data").struct.field("output").alias("d_output"),
        pl.col("data").struct.field("error").alias("d_error"),
    )
    calls = _event_side(events, "tool_call", {"d_tool": "call_tool", "d_args": "arguments"})
    results = _event_side(
        events, "tool_result", {"d_tool": "result_tool", "d_output": "result", "d_error": "error_json"}
    )
    paired = calls.join(results, on=[*_CARRY, "call_id"], how="full", coalesce=True, nulls_equal=True)
    return paired.select(
        *_CARRY,
        pl.min_horizontal("pos_tool_call", "pos_tool_result").alias("pos"),
        pl.lit("event").alias("shape"),
        "call_id",
        pl.coalesce("call_tool", "result_tool").alias("tool_name"),
        "arguments",
        "result",
        json_error_text("error_json").alias("error"),
    )


def tool_calls_table(d: pl.DataFrame) -> pl.DataFrame:
    items = explode_items(d, "tool_call_sequence", _CARRY)
    if items.height == 0:
        return empty("tool_calls")
    calls = pl.concat([_entries(items), _events(items)], how="vertical_relaxed")
    calls = calls.sort(["record_key", "pos"]).with_columns(
        pl.int_range(pl.len()).over("record_key").cast(pl.Int64).alias("idx")
    )
    return conform(calls, "tool_calls")


def rollout_tables(d: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """`d`: the key columns plus the decoded ROLLOUT_SPEC fields, one row per branch record."""
    calls = tool_calls_table(d)
    per_record = calls.group_by("record_key").agg(
        pl.len().cast(pl.Int64).alias("n_tool_calls"),
        pl.col("error").is_not_null().sum().cast(pl.Int64).alias("n_tool_errors"),
    )
    rollouts = d.with_columns(
        pl.col("build_result").struct.field("status").alias("build_status"),
        pl.col("build_result").struct.field("exit_code").alias("build_exit_code"),
        pl.col("provenance").struct.field("model_id").alias("model_id"),
        pl.col("provenance").struct.field("source").alias("provenance_source"),
    ).join(per_record, on="record_key", how="left").with_columns(
        pl.col("n_tool_calls").fill_null(0), pl.col("n_tool_errors").fill_null(0)
    )
    return {"rollouts": conform(rollouts, "rollouts"), "tool_calls": calls}
