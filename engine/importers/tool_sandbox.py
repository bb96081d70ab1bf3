"""ToolSandbox (Apple) task results → rollout-wire (default) or AEP.

Required: `task_id`. Optional: `user_request`, `available_tools`, `expected_calls`, `category`,
`model_id`, `tool_calls[{tool_name, arguments, result, error, latency_ms}]`, `final_response`,
`success`, `session_id`.

rollout: tool calls as ToolCallEntry; final = final_response; objective_score = success.
AEP: actions `call-<i>` (state_changing = no error, timestamp = cumulative latency, digests of
arguments/result when present); a deny decision (reason `tool_error`) per errored call; verifier
`tool-sandbox-success`.
"""

from __future__ import annotations

import polars as pl

from engine.importers.common import ImportResult, digest_json, jobj, jval
from engine.importers.tabular import (
    aep_record,
    clock,
    decision,
    decode_required,
    explode,
    one_array,
    per_row,
    rollout_record,
    tool_call_entry,
    verifier,
)

STRUCTURE = {
    "task_id": "VARCHAR", "user_request": "VARCHAR", "available_tools": "JSON", "expected_calls": "JSON",
    "category": "VARCHAR", "model_id": "VARCHAR",
    "tool_calls": [{"tool_name": "VARCHAR", "arguments": "JSON", "result": "JSON", "error": "VARCHAR",
                    "latency_ms": "DOUBLE"}],
    "final_response": "VARCHAR", "success": "BOOLEAN", "session_id": "VARCHAR",
}


def import_tool_sandbox(records: pl.DataFrame, fmt: str = "rollout") -> ImportResult:
    good, q = decode_required(records, STRUCTURE, ("task_id",))
    model = pl.col("model_id").fill_null("unknown")
    ok = pl.col("success").fill_null(False)
    session = pl.coalesce("session_id", pl.concat_str([pl.lit("tool-sandbox-"), pl.col("task_id")]))
    run_id = pl.concat_str([pl.lit("tool-sandbox/"), pl.col("task_id"), pl.lit("/"), model])
    calls = explode(good, "tool_calls", keep=("model_id",))
    if fmt == "rollout":
        if calls.height:
            calls = calls.with_columns(tool_call_entry(pl.col("tool_name"), pl.col("arguments"), pl.col("result"),
                                                       pl.col("error")).alias("f"))
        good = per_row(good, calls, "f", "tool_calls")
        out = good.select(rollout_record(
            source="tool-sandbox", rollout_id=run_id, task=pl.col("user_request"), session_id=session,
            final_answer=pl.col("final_response"), tool_calls=pl.col("tool_calls"), score=ok.cast(pl.Int64),
            status=pl.when(pl.col("success").is_null()).then(pl.lit("unknown")).when(ok).then(pl.lit("pass"))
            .otherwise(pl.lit("fail")),
            total_score=ok.cast(pl.Float64), model_id=model,
            extra=[("category", jval(pl.col("category")))]).alias("json"))
        return ImportResult(records=out, quarantine=q, read=records.height, imported=out.height, kind="rollout")
    if calls.height:
        calls = calls.with_columns(digest_json(calls["result"]).alias("rd"), digest_json(calls["arguments"]).alias("pd"))
        name = pl.col("tool_name").fill_null("unknown")
        calls = calls.with_columns(jobj(
            ("action_id", jval(pl.format("call-{}", pl.col("idx")))), ("tool_name", jval(name)),
            ("state_changing", jval(pl.col("error").is_null())),
            ("timestamp_ms", jval(clock("latency_ms"))),
            ("precondition_digest", jval(pl.col("pd"))), ("result_digest", jval(pl.col("rd"))),
            ("error", jval(pl.col("error"))),
        ).alias("f"), pl.when(pl.col("error").is_not_null()).then(decision(
            pl.lit("tool:") + name, pl.col("model_id").fill_null("agent"), name, pl.lit("tool_error"))).alias("d"))
    good = per_row(per_row(good, calls, "f", "actions"), calls, "d", "decisions")
    out = good.select(aep_record(
        run_id=run_id, provider="benchmark", model_id=model, created_at_ms=pl.lit(0.0), trace_id=session,
        input_refs=one_array(jobj(("uri", jval(pl.lit("tool-sandbox/task/") + pl.col("task_id"))))),
        actions=pl.col("actions"), decisions=pl.col("decisions"),
        verifiers=one_array(verifier(pl.lit("tool-sandbox-success"), ok, ok.cast(pl.Float64))),
    ).alias("json"))
    return ImportResult(records=out, quarantine=q, read=records.height, imported=out.height, kind="aep")
