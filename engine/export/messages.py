"""Chat messages from rollout branches (reference §4.1), as frame operations.

Both tool-call shapes become one ordered call list per branch:
- ToolCallEntry items are used in their list order;
- AgentEvent items are paired by `data.callId` (one call per distinct id, placed at its first appearance;
  repeated calls with one id collapse to the last, as in the original). Events without a callId (what the
  original's benchmark importers emit) pair positionally: the k-th id-less call with the k-th id-less
  result, so their tool calls survive instead of vanishing.
Each call gives an assistant message carrying the call and a tool message carrying the result, serialised
as JSON text (a string result stays the string), else the error, else "". Calls without a tool name are
skipped, as in the original. Call ids are `call_<k>`, k counting the branch's calls from 0, so both shapes
yield identical messages.
"""

from __future__ import annotations

import polars as pl

FUNCTION_DTYPE = pl.Struct({"name": pl.String, "arguments": pl.String})
TOOL_CALL_DTYPE = pl.Struct({"id": pl.String, "type": pl.String, "function": FUNCTION_DTYPE})
MESSAGE_DTYPE = pl.Struct({
    "role": pl.String,
    "content": pl.String,
    "tool_calls": pl.List(TOOL_CALL_DTYPE),
    "tool_call_id": pl.String,
})
MESSAGES_DTYPE = pl.List(MESSAGE_DTYPE)
CALL_SCHEMA = {"rid": pl.Int64, "k": pl.Int64, "name": pl.String, "arguments": pl.String, "content": pl.String}


def normalize_tool_calls(items: pl.DataFrame) -> pl.DataFrame:
    """Tool items (rid, pos, tool_name, arguments, result, error, event, call_id) → ordered calls
    (rid, k, name, arguments, content)."""
    entries = items.filter(pl.col("event").is_null()).select(
        "rid", pl.col("pos").alias("order"), pl.col("tool_name").alias("name"), "arguments", "result", "error")
    events = items.filter(pl.col("event").is_in(["tool_call", "tool_result"]))
    is_call = pl.col("event") == "tool_call"
    anon = pl.col("call_id").is_null()
    # k-th id-less call pairs with the k-th id-less result of the same branch
    events = events.with_columns(
        pl.when(anon)
        .then(pl.format("#{}", pl.int_range(pl.len(), dtype=pl.Int64).over(["rid", "event", anon])))
        .otherwise(pl.col("call_id"))
        .alias("key")
    )
    paired = events.group_by("rid", "key").agg(
        pl.col("pos").min().alias("order"),
        pl.coalesce(pl.col("tool_name").filter(is_call).drop_nulls().last(),
                    pl.col("tool_name").filter(~is_call).drop_nulls().last()).alias("name"),
        pl.col("arguments").filter(is_call).last().alias("arguments"),
        pl.col("result").filter(~is_call).last().alias("result"),
        pl.col("error").filter(~is_call).last().alias("error"),
    ).drop("key")
    calls = pl.concat([entries, paired.select(entries.columns)], how="vertical_relaxed")
    row = pl.int_range(pl.len(), dtype=pl.Int64)
    first_of_rid = (pl.col("rid") != pl.col("rid").shift(1)).fill_null(True)
    return (
        calls.filter(pl.col("name").is_not_null() & (pl.col("name") != ""))
        .sort("rid", "order")
        .select(
            "rid",
            # k counts the branch's calls: rows of one rid are adjacent after the sort, so k is the distance
            # to the rid's first row (a window over rid did the same at several times the cost)
            (row - pl.when(first_of_rid).then(row).forward_fill()).alias("k"),
            "name",
            pl.col("arguments").fill_null("{}"),
            pl.coalesce("result", "error", pl.lit("")).alias("content"),
        )
        .cast(CALL_SCHEMA)  # type: ignore[arg-type]
    )


def message(role: str, content: pl.Expr, tool_calls: pl.Expr | None = None,
            tool_call_id: pl.Expr | None = None) -> pl.Expr:
    """One chat message as a MESSAGE_DTYPE struct."""
    return pl.struct(
        pl.lit(role, dtype=pl.String).alias("role"),
        content.cast(pl.String).alias("content"),
        (tool_calls if tool_calls is not None else pl.lit(None, dtype=pl.List(TOOL_CALL_DTYPE))).alias("tool_calls"),
        (tool_call_id if tool_call_id is not None else pl.lit(None, dtype=pl.String)).alias("tool_call_id"),
    )
