"""AgentHarm / OS-Harm / CUAHarm safety-benchmark results → rollout-wire (default) or AEP.

Required: `task_id`. Optional: `harmful_instruction`, `harm_category`, `severity`, `benchmark`
(default `agent-harm`), `model_id`, `actions[{action_id, tool_name, arguments, is_harmful,
was_prevented, harm_category}]`, `refused`, `harmful_actions_taken`, `session_id`, `final_response`.

safe = refused or harmful_actions_taken == 0. rollout: each action a ToolCallEntry whose result
is {"status": "prevented"|"executed", "is_harmful": ...}; final answer = final_response, else "refused" or "";
objective_score = safe. AEP: run_id `<benchmark>/<task>/<model>`; actions (state_changing = not
prevented, timestamp = index); a deny decision per prevented action (reason
`harm_prevention:<category>`); verifier `<benchmark>-safety`.
"""

from __future__ import annotations

import polars as pl

from engine.importers.common import ImportResult, jobj, jval
from engine.importers.tabular import (
    aep_record,
    decision,
    decode_required,
    explode,
    one_array,
    per_row,
    rollout_record,
    step_ids,
    tool_call_entry,
    verifier,
)

STRUCTURE = {
    "task_id": "VARCHAR", "harmful_instruction": "VARCHAR", "harm_category": "VARCHAR", "severity": "VARCHAR",
    "benchmark": "VARCHAR", "model_id": "VARCHAR",
    "actions": [{"action_id": "VARCHAR", "tool_name": "VARCHAR", "arguments": "JSON", "is_harmful": "BOOLEAN",
                 "was_prevented": "BOOLEAN", "harm_category": "VARCHAR"}],
    "refused": "BOOLEAN", "harmful_actions_taken": "BIGINT", "session_id": "VARCHAR", "final_response": "VARCHAR",
}


def import_agent_harm(records: pl.DataFrame, fmt: str = "rollout") -> ImportResult:
    good, q = decode_required(records, STRUCTURE, ("task_id",))
    good = good.with_columns(pl.col("benchmark").fill_null("agent-harm").alias("bench"),
                             pl.col("harm_category").fill_null("other").alias("cat"))
    model = pl.col("model_id").fill_null("unknown")
    safe = pl.col("refused").fill_null(False) | (pl.col("harmful_actions_taken").fill_null(0) == 0)
    session = pl.coalesce("session_id", pl.concat_str([pl.col("bench"), pl.lit("-"), pl.col("task_id")]))
    run_id = pl.concat_str([pl.col("bench"), pl.lit("/"), pl.col("task_id"), pl.lit("/"), model])
    acts = explode(good.rename({"harm_category": "task_harm_category"}), "actions", keep=("cat", "model_id"))
    prevented = pl.col("was_prevented").fill_null(False)
    if fmt == "rollout":
        if acts.height:
            result = jobj(("status", jval(pl.when(prevented).then(pl.lit("prevented")).otherwise(pl.lit("executed")))),
                          ("is_harmful", jval(pl.col("is_harmful"))))
            acts = acts.with_columns(tool_call_entry(pl.col("tool_name"), pl.col("arguments"), result).alias("f"))
        good = per_row(good, acts, "f", "tool_calls")
        out = good.select(rollout_record(
            source="agent-harm", rollout_id=run_id, task=pl.col("harmful_instruction"), session_id=session,
            final_answer=pl.coalesce("final_response", pl.when(pl.col("refused").fill_null(False)).then(
                pl.lit("refused")).otherwise(pl.lit(""))),
            tool_calls=pl.col("tool_calls"), score=safe.cast(pl.Int64),
            status=pl.when(safe).then(pl.lit("pass")).otherwise(pl.lit("fail")), total_score=safe.cast(pl.Float64),
            model_id=model, extra=[("benchmark", jval(pl.col("bench"))), ("harm_category", jval(pl.col("cat"))),
                                   ("severity", jval(pl.col("severity").fill_null("medium")))]).alias("json"))
        return ImportResult(records=out, quarantine=q, read=records.height, imported=out.height, kind="rollout")
    if acts.height:
        name = pl.col("tool_name").fill_null("unknown")
        acts = acts.with_columns(jobj(
            ("action_id", jval(step_ids(pl.coalesce("action_id", pl.format("act-{}", pl.col("idx")))))),
            ("tool_name", jval(name)),
            ("state_changing", jval(~prevented)), ("timestamp_ms", jval(pl.col("idx").cast(pl.Float64))),
            ("harm", jobj(("is_harmful", jval(pl.col("is_harmful"))), ("was_prevented", jval(pl.col("was_prevented"))),
                          ("harm_category", jval(pl.col("harm_category"))))),
        ).alias("f"), pl.when(prevented).then(decision(
            pl.lit("tool:") + name, pl.col("model_id").fill_null("agent"), name,
            pl.lit("harm_prevention:") + pl.coalesce("harm_category", "cat"))).alias("d"))
    good = per_row(per_row(good, acts, "f", "actions"), acts, "d", "decisions")
    out = good.select(aep_record(
        run_id=run_id, provider="benchmark", model_id=model, created_at_ms=pl.lit(0.0), trace_id=session,
        input_refs=one_array(jobj(("uri", jval(pl.col("bench") + pl.lit("/task/") + pl.col("task_id"))))),
        actions=pl.col("actions"), decisions=pl.col("decisions"),
        verifiers=one_array(verifier(pl.col("bench") + pl.lit("-safety"), safe, safe.cast(pl.Float64))),
        extra=[("harm_category", jval(pl.col("cat"))), ("severity", jval(pl.col("severity")))],
    ).alias("json"))
    return ImportResult(records=out, quarantine=q, read=records.height, imported=out.height, kind="aep")
