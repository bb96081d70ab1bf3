"""MCP-Atlas task results → rollout-wire (default) or AEP.

Required: `task_id`, `user_query`. Optional: `required_servers`, `claims[{claim_id, description,
passed, evidence}]`, `min_tool_calls`, `max_tool_calls`, `model_id`, `trajectory[{step_index,
server_id, tool_name, arguments, result, error, latency_ms}]`, `final_answer`, `claims_passed`,
`claims_total`, `session_id`.

rollout: tool `<server>/<tool>` with arguments, result, error; rate = claims_passed/claims_total
(0 when no claims), objective_score 1 only at rate 1, status pass / fail / unknown at 1 / 0 / other.
AEP: run_id `mcp-atlas/<task>/<model>`; input_ref `mcp-atlas/task/<task>` (digest of the query),
output_ref `mcp-atlas/result/<session>` (digest of the final answer when present); one action per
step `step-<i>` (timestamp = cumulative latency, state_changing = result present and no error,
precondition/result digests of arguments/result when present); one verifier per claim
`mcp-atlas-claim/<id>`, else `mcp-atlas-claims` over claims_passed/claims_total.
"""

from __future__ import annotations

import polars as pl

from engine.importers.common import ImportResult, digest_json, finite, jobj, jval, string_json
from engine.importers.tabular import (
    aep_record,
    clock,
    decode_required,
    explode,
    one_array,
    per_row,
    ref,
    rollout_record,
    status_of,
    step_ids,
    tool_call_entry,
    verifier,
)

STRUCTURE = {
    "task_id": "VARCHAR", "user_query": "VARCHAR", "required_servers": "JSON",
    "claims": [{"claim_id": "VARCHAR", "description": "VARCHAR", "passed": "BOOLEAN", "evidence": "JSON"}],
    "min_tool_calls": "BIGINT", "max_tool_calls": "BIGINT", "model_id": "VARCHAR",
    "trajectory": [{"step_index": "BIGINT", "server_id": "VARCHAR", "tool_name": "VARCHAR", "arguments": "JSON",
                    "result": "JSON", "error": "VARCHAR", "latency_ms": "DOUBLE"}],
    "final_answer": "VARCHAR", "claims_passed": "BIGINT", "claims_total": "BIGINT", "session_id": "VARCHAR",
}


def _tool(server: pl.Expr, tool: pl.Expr) -> pl.Expr:
    return pl.when(server.is_not_null() & (server != "")).then(server + pl.lit("/") + tool).otherwise(tool)


def import_mcp_atlas(records: pl.DataFrame, fmt: str = "rollout") -> ImportResult:
    good, q = decode_required(records, STRUCTURE, ("task_id", "user_query"))
    model = pl.col("model_id").fill_null("unknown")
    session = pl.coalesce("session_id", pl.concat_str([pl.lit("mcp-atlas-"), pl.col("task_id")]))
    total = pl.col("claims_total").fill_null(0)
    rate = finite(pl.when(total > 0).then(pl.col("claims_passed").fill_null(0) / total).otherwise(0.0)).fill_null(0.0)
    steps = explode(good, "trajectory")
    if fmt == "rollout":
        if steps.height:
            steps = steps.with_columns(tool_call_entry(_tool(pl.col("server_id"), pl.col("tool_name")),
                                                       pl.col("arguments"), pl.col("result"), pl.col("error")).alias("f"))
        good = per_row(good, steps, "f", "tool_calls")
        status = pl.when(total == 0).then(pl.lit("unknown")).otherwise(status_of(rate))
        out = good.select(rollout_record(
            source="mcp-atlas", rollout_id=pl.concat_str([pl.lit("mcp-atlas/"), pl.col("task_id"), pl.lit("/"), model]),
            task=pl.col("user_query"), session_id=session, final_answer=pl.col("final_answer"),
            tool_calls=pl.col("tool_calls"), score=(rate == 1.0).cast(pl.Int64), status=status, total_score=rate,
            model_id=model).alias("json"))
        return ImportResult(records=out, quarantine=q, read=records.height, imported=out.height, kind="rollout")
    if steps.height:
        steps = steps.with_columns(digest_json(steps["result"]).alias("rd"), digest_json(steps["arguments"]).alias("pd"))
        steps = steps.with_columns(step_ids(pl.format("step-{}", pl.coalesce("step_index", "idx"))).alias("aid"))
        steps = steps.with_columns(jobj(
            ("action_id", jval(pl.col("aid"))),
            ("tool_name", jval(_tool(pl.col("server_id"), pl.col("tool_name")).fill_null("unknown"))),
            ("state_changing", jval(pl.col("result").is_not_null() & pl.col("error").is_null())),
            ("timestamp_ms", jval(clock("latency_ms"))),
            ("precondition_digest", jval(pl.col("pd"))), ("result_digest", jval(pl.col("rd"))),
            ("evidence_refs", jval(pl.concat_list([pl.format("mcp-atlas-step/{}", pl.col("idx"))]))),
            ("error", jval(pl.col("error"))),
        ).alias("f"))
    claims = explode(good, "claims")
    if claims.height:
        claims = claims.with_columns(verifier(
            pl.lit("mcp-atlas-claim/") + pl.coalesce("claim_id", pl.col("idx").cast(pl.String)),
            pl.col("passed"), pl.col("passed").fill_null(False).cast(pl.Float64),
            pl.concat_list([pl.coalesce("claim_id", pl.col("idx").cast(pl.String))])).alias("f"))
    good = per_row(per_row(good, steps, "f", "actions"), claims, "f", "claims_v")
    good = good.with_columns(digest_json(good.select(string_json(pl.col("user_query"))).to_series()).alias("qd"),
                             digest_json(good.select(string_json(pl.col("final_answer"))).to_series()).alias("ad"))
    summary_v = pl.when((pl.col("claims_v") == "[]") & (total > 0)).then(one_array(
        verifier(pl.lit("mcp-atlas-claims"), rate == 1.0, rate))).otherwise(pl.col("claims_v"))
    out = good.select(aep_record(
        run_id=pl.concat_str([pl.lit("mcp-atlas/"), pl.col("task_id"), pl.lit("/"), model]), provider="benchmark",
        model_id=model, created_at_ms=pl.lit(0.0), trace_id=session,
        input_refs=one_array(ref(pl.lit("mcp-atlas/task/") + pl.col("task_id"), pl.col("qd"))),
        output_refs=one_array(ref(pl.lit("mcp-atlas/result/") + session, pl.col("ad"))),
        actions=pl.col("actions"), verifiers=summary_v,
    ).alias("json"))
    return ImportResult(records=out, quarantine=q, read=records.height, imported=out.height, kind="aep")
