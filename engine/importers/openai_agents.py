"""OpenAI Agents SDK traces → one AEP run per trace.

Accepts the SDK's exported span objects (`{"object": "trace.span", "id", "trace_id", "parent_id",
"started_at", "ended_at", "span_data": {"type": "function"|"generation"|"response"|"agent"|
"guardrail"|"handoff"|"custom", "name", "input", "output", "model", "usage", "triggered"},
"error"}`), its trace objects (`{"object": "trace", "id", "workflow_name"}`), and the flat shape of
reference §4.5 (`trace_id`, `span_id`, `type` tool.call / llm.generate / guardrail / agent.run,
`name`, `attributes{tool_name, model, state_changing, triggered}`, `started_at`, `error`,
`agent_name`). Required: a trace id and a span id (`id`). Function / tool.call spans → actions
(digests of input/output when present; errored → deny `tool_error`); generation / llm.generate →
`gen_ai_calls` (model, usage); guardrail → verifier `guardrail/<name>` (passed = not triggered
and no error); the agent span names `run_context.agent_id`.
"""

from __future__ import annotations

import polars as pl

from engine.importers.common import ImportResult, decode, ext_or_null, missing_reason, quarantine_rows
from engine.importers.grouped import build_runs, iso_ms

STRUCTURE = {
    "object": "VARCHAR", "id": "VARCHAR", "trace_id": "VARCHAR", "span_id": "VARCHAR", "parent_id": "VARCHAR",
    "parent_span_id": "VARCHAR", "type": "VARCHAR", "name": "VARCHAR", "started_at": "VARCHAR",
    "ended_at": "VARCHAR", "workflow_name": "VARCHAR", "session_id": "VARCHAR", "agent_name": "VARCHAR",
    "error": "JSON", "group_id": "VARCHAR", "metadata": "JSON",
    "span_data": {"type": "VARCHAR", "name": "VARCHAR", "input": "JSON", "output": "JSON", "model": "VARCHAR",
                  "usage": {"input_tokens": "BIGINT", "output_tokens": "BIGINT"}, "triggered": "BOOLEAN",
                  "from_agent": "VARCHAR", "to_agent": "VARCHAR"},
    "attributes": {"tool_name": "VARCHAR", "model": "VARCHAR", "state_changing": "BOOLEAN", "triggered": "BOOLEAN",
                   "input": "JSON", "output": "JSON", "input_tokens": "BIGINT", "output_tokens": "BIGINT"},
}
_ROLES = {"function": "tool", "tool.call": "tool", "mcp_tools": "other", "generation": "llm", "response": "llm",
          "llm.generate": "llm", "guardrail": "guardrail", "agent": "agent", "agent.run": "agent", "trace": "other"}


def import_openai_agents(records: pl.DataFrame, fmt: str = "aep") -> ImportResult:
    d = decode(records, STRUCTURE)
    is_trace = pl.col("object") == "trace"
    d = d.with_columns(
        pl.when(is_trace).then(pl.col("id")).otherwise(pl.col("trace_id")).alias("g"),
        pl.coalesce("span_id", "id").alias("sid"),
    )
    reason = missing_reason([("trace_id", pl.col("g")), ("id", pl.col("sid"))])
    d = d.with_columns(reason.alias("__r"), pl.int_range(pl.len(), dtype=pl.Int64).alias("order"))
    q = quarantine_rows(d.filter(pl.col("__r").is_not_null()), pl.col("__r"))
    good = d.filter(pl.col("__r").is_null())
    sd, at = pl.col("span_data"), pl.col("attributes")
    kind = pl.when(is_trace).then(pl.lit("trace")).otherwise(pl.coalesce(sd.struct.field("type"), pl.col("type")))
    role = kind.replace_strict(_ROLES, default="other", return_dtype=pl.String)
    name = pl.coalesce(sd.struct.field("name"), pl.col("name"), pl.col("workflow_name"))
    error = pl.when(pl.col("error").str.starts_with("{")).then(
        pl.col("error").str.json_path_match("$.message")).otherwise(pl.col("error").str.strip_chars('"'))
    items = good.select(
        pl.col("g").alias("group"), pl.col("sid").alias("item_id"), "order",
        iso_ms(pl.col("started_at")).alias("ts"), iso_ms(pl.col("ended_at")).alias("end_ts"),
        role.alias("role"), name.alias("name"),
        pl.coalesce(at.struct.field("tool_name"), sd.struct.field("name"), pl.col("name")).alias("tool_name"),
        pl.coalesce(sd.struct.field("input"), at.struct.field("input")).alias("args_json"),
        pl.coalesce(sd.struct.field("output"), at.struct.field("output")).alias("result_json"),
        pl.when(pl.col("error").is_not_null() & (pl.col("error") != "null")).then(error.fill_null("error")).alias("error"),
        pl.coalesce(sd.struct.field("model"), at.struct.field("model")).alias("model"),
        pl.coalesce(pl.col("agent_name"), pl.when(role == "agent").then(name)).alias("agent"),
        pl.coalesce(sd.struct.field("usage").struct.field("input_tokens"), at.struct.field("input_tokens")).alias("in_tok"),
        pl.coalesce(sd.struct.field("usage").struct.field("output_tokens"), at.struct.field("output_tokens")).alias("out_tok"),
        at.struct.field("state_changing").alias("state_changing"),
        pl.coalesce(sd.struct.field("triggered"), at.struct.field("triggered")).alias("triggered"),
        ext_or_null().alias("ext"),
    )
    out = build_runs(items, prefix="oai-agents", provider="openai", deny_role={"tool": "tool_error"})
    return ImportResult(records=out, quarantine=q, read=records.height, imported=good.height, kind="aep")
