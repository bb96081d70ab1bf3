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
    return (
        calls.filter(pl.col("name").is_not_null() & (pl.col("name") != ""))
        .sort("rid", "order")
        .select(
            "rid",
            pl.int_range(pl.len(), dtype=pl.Int64).over("rid").alias("k"),
            "name",
            pl.col("arguments").fill_null("{}"),
            pl.coalesce("result", "error", pl.lit("")).alias("content"),
        )
        .cast(CALL_SCHEMA)  # type: ignore[arg-type]
    )


def _message(role: str, content: pl.Expr, tool_calls: pl.Expr | None = None,
             tool_call_id: pl.Expr | None = None) -> pl.Expr:
    return pl.struct(
        pl.lit(role, dtype=pl.String).alias("role"),
        content.cast(pl.String).alias("content"),
        (tool_calls if tool_calls is not None else pl.lit(None, dtype=pl.List(TOOL_CALL_DTYPE))).alias("tool_calls"),
        (tool_call_id if tool_call_id is not None else pl.lit(None, dtype=pl.String)).alias("tool_call_id"),
    )


_ORDER_BITS = 24  # message slots per branch: 2 per tool call, so up to ~8 million calls
_FINAL_ORDER = (1 << _ORDER_BITS) - 1  # after any tool message


def with_messages(branches: pl.DataFrame, calls: pl.DataFrame) -> pl.DataFrame:
    """Add `messages` (user task, tool turns, final answer), `prompt` ([user task]) and `completion`
    (the messages after the prompt) to branches.

    Messages are stacked as one long frame (branch, order, message) and gathered per branch in one
    group-by: concatenating list-of-struct columns row by row is far slower in Polars."""
    call_id = pl.format("call_{}", pl.col("k"))
    tool_call = pl.struct(
        call_id.alias("id"),
        pl.lit("function").alias("type"),
        pl.struct(pl.col("name"), pl.col("arguments")).alias("function"),
    )
    i64 = pl.Int64
    long = pl.concat([
        branches.select("rid", pl.lit(0, dtype=i64).alias("o"), _message("user", pl.col("task")).alias("m")),
        calls.select("rid", (2 * pl.col("k") + 1).alias("o"),
                     _message("assistant", pl.lit(""), tool_calls=pl.concat_list(tool_call)).alias("m")),
        calls.select("rid", (2 * pl.col("k") + 2).alias("o"),
                     _message("tool", pl.col("content"), tool_call_id=call_id).alias("m")),
        branches.select("rid", pl.lit(_FINAL_ORDER, dtype=i64).alias("o"),
                        _message("assistant", pl.col("final_answer")).alias("m")),
    ])
    # one integer sort key (rid, order) is much cheaper to sort by than two columns
    msgs = (long.with_columns((pl.col("rid") * (1 << _ORDER_BITS) + pl.col("o")).alias("key"))
            .sort("key").group_by("rid", maintain_order=True).agg(pl.col("m").alias("messages")))
    out = branches.join(msgs, on="rid", how="left", maintain_order="left")
    return out.with_columns(
        pl.concat_list(_message("user", pl.col("task"))).alias("prompt"),
        pl.col("messages").list.slice(1).alias("completion"),
    )
