"""Microsoft Agent Framework workflow runs → AEP (one record per workflow run).

One WorkflowRun per line: `run_id` (required), `workflow_name`, `model_id`, `agent_name`,
`status` (completed / failed / ...), `session_id`, `steps[{id, name, type (llm / tool / human /
condition / agent), status, started_at, ended_at, inputs, outputs, error, usage{input_tokens,
output_tokens}}]`.

run_id `ms-agent/<run_id>`, trace_id = run_id, provider `microsoft`, created_at = first step
start. tool steps → actions (state_changing = completed with no error; digests of inputs /
outputs when present; evidence `ms-step/<id>`); a failed or errored tool step → deny
`step_failed`; human steps → verifier `human-approval/<id>` (passed = completed, no error); llm
steps → `gen_ai_calls` with token usage; the run status → verifier `ms-workflow-completion`.
"""

from __future__ import annotations

import polars as pl

from engine.importers.common import ImportResult, digest_json, jobj, jval, ts_ms
from engine.importers.grouped import iso_ms
from engine.importers.tabular import (
    aep_record,
    concat_arrays,
    decision,
    decode_required,
    explode,
    one_array,
    per_row,
    run_context,
    step_ids,
    verifier,
)

STRUCTURE = {
    "run_id": "VARCHAR", "workflow_name": "VARCHAR", "model_id": "VARCHAR", "agent_name": "VARCHAR",
    "status": "VARCHAR", "session_id": "VARCHAR",
    "steps": [{"id": "VARCHAR", "name": "VARCHAR", "type": "VARCHAR", "status": "VARCHAR", "started_at": "VARCHAR",
               "ended_at": "VARCHAR", "inputs": "JSON", "outputs": "JSON", "error": "VARCHAR",
               "usage": {"input_tokens": "BIGINT", "output_tokens": "BIGINT"}}],
}


def import_ms_agent(records: pl.DataFrame, fmt: str = "aep") -> ImportResult:
    good, q = decode_required(records, STRUCTURE, ("run_id",))
    steps = explode(good, "steps", keep=("agent_name", "model_id"))
    if steps.height:
        steps = steps.with_columns(
            pl.col("type").str.to_lowercase().alias("kind"), iso_ms(pl.col("started_at")).alias("ts"),
            iso_ms(pl.col("ended_at")).alias("end_ts"),
            step_ids(pl.coalesce("id", pl.format("step-{}", pl.col("idx")))).alias("sid"),
            (pl.col("status").str.to_lowercase() == "completed").fill_null(False).alias("done"))
        steps = steps.with_columns(digest_json(steps["outputs"]).alias("rd"), digest_json(steps["inputs"]).alias("pd"))
        tool = pl.col("kind") == "tool"
        failed = pl.col("error").is_not_null() | (pl.col("status").str.to_lowercase() == "failed").fill_null(False)
        name = pl.coalesce("name", "sid")
        usage = pl.col("usage")
        steps = steps.with_columns(
            pl.when(tool).then(jobj(
                ("action_id", jval(pl.col("sid"))), ("tool_name", jval(name)),
                ("state_changing", jval(pl.col("done") & pl.col("error").is_null())),
                ("timestamp_ms", jval(pl.col("ts").fill_null(0.0))),
                ("precondition_digest", jval(pl.col("pd"))), ("result_digest", jval(pl.col("rd"))),
                ("evidence_refs", jval(pl.concat_list([pl.lit("ms-step/") + pl.col("sid")]))),
                ("status", jval(pl.col("status"))), ("error", jval(pl.col("error"))))).alias("f_action"),
            pl.when(tool & failed).then(decision(pl.lit("tool:") + name, pl.coalesce("agent_name", pl.lit("agent")),
                                                 pl.col("sid"), pl.lit("step_failed"))).alias("f_deny"),
            pl.when(pl.col("kind") == "human").then(verifier(
                pl.lit("human-approval/") + pl.col("sid"), pl.col("done") & pl.col("error").is_null())).alias("f_human"),
            pl.when(pl.col("kind") == "llm").then(jobj(
                ("step_id", jval(pl.col("sid"))), ("timestamp_ms", jval(pl.col("ts"))), ("name", jval(pl.col("name"))),
                ("input_tokens", jval(usage.struct.field("input_tokens"))),
                ("output_tokens", jval(usage.struct.field("output_tokens"))))).alias("f_call"))
        first = steps.group_by("row_nr").agg(pl.col("ts").min().alias("created"), pl.col("end_ts").max().alias("ended"))
        good = good.join(first, on="row_nr", how="left")
    else:
        good = good.with_columns(pl.lit(None, dtype=pl.Float64).alias("created"), pl.lit(None, dtype=pl.Float64)
                                 .alias("ended"))
    for frag, column in (("f_action", "actions"), ("f_deny", "denies"), ("f_human", "humans"), ("f_call", "calls")):
        good = per_row(good, steps, frag, column)
    status = pl.col("status").fill_null("completed").str.to_lowercase()
    completion = pl.when(status.is_in(["completed", "failed"])).then(
        verifier(pl.lit("ms-workflow-completion"), status == "completed"))
    out = good.select(aep_record(
        run_id=pl.lit("ms-agent/") + pl.col("run_id"), provider="microsoft",
        model_id=pl.col("model_id").fill_null("unknown"), created_at_ms=pl.col("created"), trace_id=pl.col("run_id"),
        input_refs=one_array(jobj(("uri", jval(pl.lit("ms-agent/workflow/") + pl.col("workflow_name")
                                                   .fill_null(pl.col("run_id")))))),
        actions=pl.col("actions"), decisions=pl.col("denies"),
        verifiers=concat_arrays(pl.col("humans"), one_array(completion)),
        run_context=run_context(pl.col("agent_name")),
        extra=[("workflow_name", jval(pl.col("workflow_name"))), ("session_id", jval(pl.col("session_id"))),
               ("gen_ai_calls", pl.when(pl.col("calls") != "[]").then(pl.col("calls"))),
               ("budget_ledger", pl.when(pl.col("ended").is_not_null() & pl.col("created").is_not_null()).then(
                   jobj(("latency_budget", jobj(("actual_ms", jval(ts_ms(pl.col("ended") - pl.col("created")).fill_null(0.0))))))))],
    ).alias("json"))
    return ImportResult(records=out, quarantine=q, read=records.height, imported=out.height, kind="aep")
