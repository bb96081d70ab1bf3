"""Google ADK (Agent Development Kit) session events → one AEP run per invocation.

Accepts ADK `Event` objects as the session service stores them (`id`, `invocation_id` /
`invocationId`, `author`, `timestamp` in seconds, `content{role, parts[{text} | {function_call
{id, name, args}} | {function_response{id, name, response}}]}` (camelCase `functionCall` /
`functionResponse` too), `usage_metadata{prompt_token_count, candidates_token_count}`,
`finish_reason`, `error_code`, `error_message`) and the flat shape of reference §4.5 (`trace_id`,
`event_id`, `type` model_response / function_call / function_response / final_response,
`content{function_name, model, args, response}`, `agent_name`, `error`).

Required: a group key (`trace_id`, else `invocation_id`, else `session_id`) and an event id.
Each function call (one per part) → an action (tool = its name; precondition digest of args;
result digest of the matching function_response, joined on the call id); model events →
`gen_ai_calls` with token usage and finish_reason; a final_response (or a model event whose
parts are all text) → verifier `adk-completion`; errors on calls → deny `tool_error`.
"""

from __future__ import annotations

import polars as pl

from engine.importers.common import (
    ImportResult,
    decode,
    ext_or_null,
    jobj,
    jval,
    missing_reason,
    quarantine_rows,
)
from engine.importers.grouped import build_runs, iso_ms
from engine.importers.tabular import explode

_CALL = {"id": "VARCHAR", "name": "VARCHAR", "args": "JSON"}
_RESP = {"id": "VARCHAR", "name": "VARCHAR", "response": "JSON"}
STRUCTURE = {
    "id": "VARCHAR", "event_id": "VARCHAR", "trace_id": "VARCHAR", "invocation_id": "VARCHAR",
    "invocationId": "VARCHAR", "session_id": "VARCHAR", "author": "VARCHAR", "agent_name": "VARCHAR",
    "type": "VARCHAR", "timestamp": "VARCHAR", "error": "VARCHAR", "error_code": "VARCHAR",
    "error_message": "VARCHAR", "finish_reason": "VARCHAR", "model_version": "VARCHAR", "partial": "BOOLEAN",
    "content": {"role": "VARCHAR", "function_name": "VARCHAR", "model": "VARCHAR", "args": "JSON", "response": "JSON",
                "parts": [{"text": "VARCHAR", "function_call": _CALL, "functionCall": _CALL,
                           "function_response": _RESP, "functionResponse": _RESP}]},
    "usage_metadata": {"prompt_token_count": "BIGINT", "candidates_token_count": "BIGINT"},
    "usageMetadata": {"promptTokenCount": "BIGINT", "candidatesTokenCount": "BIGINT"},
    "actions": "JSON",
}


def import_adk(records: pl.DataFrame, fmt: str = "aep") -> ImportResult:
    d = decode(records, STRUCTURE).with_row_index("row_nr").with_columns(
        pl.col("row_nr").cast(pl.Int64), pl.int_range(pl.len(), dtype=pl.Int64).alias("order"))
    d = d.with_columns(pl.coalesce("trace_id", "invocation_id", "invocationId", "session_id").alias("g"),
                       pl.coalesce("event_id", "id").alias("eid"))
    d = d.with_columns(missing_reason([("invocation_id", pl.col("g")), ("id", pl.col("eid"))]).alias("__r"))
    q = quarantine_rows(d.filter(pl.col("__r").is_not_null()), pl.col("__r"))
    good = d.filter(pl.col("__r").is_null())
    content = pl.col("content")
    good = good.with_columns(content.struct.field("parts").alias("parts"), iso_ms(pl.col("timestamp")).alias("ts"),
                             pl.coalesce("agent_name", pl.when(pl.col("author") != "user").then(pl.col("author")))
                             .alias("agent"),
                             pl.coalesce("error_message", "error", "error_code").alias("err"))
    parts = explode(good, "parts", keep=("g", "eid", "order", "ts", "agent", "err"))
    if parts.height:
        parts = parts.with_columns(pl.coalesce("function_call", "functionCall").alias("fc"),
                                   pl.coalesce("function_response", "functionResponse").alias("fr"))
        calls = parts.filter(pl.col("fc").struct.field("name").is_not_null()).select(
            "g", "eid", "order", "idx", "ts", "agent", "err", pl.col("fc").struct.field("id").alias("cid"),
            pl.col("fc").struct.field("name").alias("tool_name"), pl.col("fc").struct.field("args").alias("args_json"))
        responses = parts.filter(pl.col("fr").struct.field("response").is_not_null()).select(
            "g", pl.col("fr").struct.field("id").alias("cid"), pl.col("fr").struct.field("response").alias("result_json"))
        calls = calls.join(responses.filter(pl.col("cid").is_not_null()).unique(["g", "cid"], keep="first"),
                           on=["g", "cid"], how="left")
        text_only = parts.group_by("row_nr").agg(
            (pl.col("fc").struct.field("name").is_null() & pl.col("fr").struct.field("response").is_null()
             & pl.col("text").is_not_null()).all().alias("text_only"))
        good = good.join(text_only, on="row_nr", how="left")
    else:
        calls = pl.DataFrame(schema={"g": pl.String, "eid": pl.String, "order": pl.Int64, "idx": pl.Int64,
                                     "ts": pl.Float64, "agent": pl.String, "err": pl.String, "cid": pl.String,
                                     "tool_name": pl.String, "args_json": pl.String, "result_json": pl.String})
        good = good.with_columns(pl.lit(None, dtype=pl.Boolean).alias("text_only"))
    typ = pl.col("type").str.to_lowercase()
    flat_call = good.filter(typ == "function_call").select(
        "g", "eid", "order", pl.lit(0, dtype=pl.Int64).alias("idx"), "ts", "agent", "err", pl.lit(None, dtype=pl.String)
        .alias("cid"), pl.coalesce(content.struct.field("function_name"), pl.col("eid")).alias("tool_name"),
        content.struct.field("args").alias("args_json"), pl.lit(None, dtype=pl.String).alias("result_json"))
    tool_items = pl.concat([calls, flat_call], how="diagonal_relaxed").select(
        pl.col("g").alias("group"),
        pl.concat_str([pl.col("eid"), pl.when(pl.col("idx") > 0).then(pl.format("/call-{}", pl.col("idx")))
                       .otherwise(pl.lit(""))]).alias("item_id"),
        "order", "ts", pl.lit("tool").alias("role"), "tool_name", "args_json", "result_json",
        pl.col("err").alias("error"), "agent")
    usage, usage_c = pl.col("usage_metadata"), pl.col("usageMetadata")
    in_tok = pl.coalesce(usage.struct.field("prompt_token_count"), usage_c.struct.field("promptTokenCount"))
    out_tok = pl.coalesce(usage.struct.field("candidates_token_count"), usage_c.struct.field("candidatesTokenCount"))
    is_model = (typ == "model_response") | in_tok.is_not_null() | pl.col("finish_reason").is_not_null()
    is_final = (typ == "final_response") | (pl.col("type").is_null() & (content.struct.field("role") == "model")
                                            & pl.col("text_only").fill_null(False) & ~pl.col("partial").fill_null(False))
    event_items = good.select(
        pl.col("g").alias("group"), pl.col("eid").alias("item_id"), "order", "ts",
        pl.when(is_model).then(pl.lit("llm")).otherwise(pl.lit("other")).alias("role"),
        pl.col("author").alias("name"),
        pl.coalesce(content.struct.field("model"), pl.col("model_version")).alias("model"),
        "agent", in_tok.alias("in_tok"), out_tok.alias("out_tok"), pl.col("finish_reason").alias("finish"),
        ext_or_null().alias("ext"), is_final.alias("final"), pl.when(is_final).then(pl.col("err")).alias("final_err"))
    finals = event_items.group_by("group").agg(
        pl.col("final").any().alias("done"), pl.col("final_err").drop_nulls().first().alias("e"))
    verdicts = finals.select("group", jobj(("verifier_id", pl.lit('"adk-completion"')),
                                           ("passed", jval(pl.col("done") & pl.col("e").is_null()))).alias("v"))
    out = build_runs(pl.concat([event_items.drop("final", "final_err"), tool_items], how="diagonal_relaxed"),
                     prefix="google-adk", provider="google", deny_role={"tool": "tool_error"}, run_verifiers=verdicts)
    return ImportResult(records=out, quarantine=q, read=records.height, imported=good.height, kind="aep")
