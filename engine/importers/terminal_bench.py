"""Terminal-Bench task results → rollout-wire (default) or AEP.

Required: `task_id`. Optional: `description`, `category`, `setup_script`, `solution_tests`,
`model_id`, `trajectory[{command, output, exit_code, timestamp_ms}]`, `passed`, `latency_ms`,
`session_id`, `final_answer` (the agent's closing message, when the harness logged one; else "").

rollout: each command is a `bash` ToolCallEntry (arguments {command}, result {output, exit_code});
build_result {status pass/fail, exit_code 0/1, stderr ""}; objective_score = passed.
AEP: actions `cmd-<i>` (tool `bash`, state_changing = exit code 0, timestamp = the step's
timestamp_ms else its index, result_digest of {output, exit_code}, evidence `tb-cmd/<i>`),
verifier `terminal-bench-tests` (claim_ids [task_id]).
"""

from __future__ import annotations

import polars as pl

from engine.importers.common import ImportResult, digest_json, jobj, jval, lit_str, ts_ms
from engine.importers.tabular import (
    aep_record,
    decode_required,
    explode,
    one_array,
    per_row,
    rollout_record,
    verifier,
)

STRUCTURE = {
    "task_id": "VARCHAR", "description": "VARCHAR", "category": "VARCHAR", "setup_script": "VARCHAR",
    "solution_tests": "JSON", "model_id": "VARCHAR",
    "trajectory": [{"command": "VARCHAR", "output": "VARCHAR", "exit_code": "BIGINT", "timestamp_ms": "DOUBLE"}],
    "passed": "BOOLEAN", "latency_ms": "DOUBLE", "session_id": "VARCHAR", "final_answer": "VARCHAR",
}


def import_terminal_bench(records: pl.DataFrame, fmt: str = "rollout") -> ImportResult:
    good, q = decode_required(records, STRUCTURE, ("task_id",))
    model = pl.col("model_id").fill_null("unknown")
    passed = pl.col("passed").fill_null(False)
    session = pl.coalesce("session_id", pl.concat_str([pl.lit("terminal-bench-"), pl.col("task_id")]))
    run_id = pl.concat_str([pl.lit("terminal-bench/"), pl.col("task_id"), pl.lit("/"), model])
    steps = explode(good, "trajectory")
    if steps.height:
        steps = steps.with_columns(jobj(("output", jval(pl.col("output"))),
                                        ("exit_code", jval(pl.col("exit_code")))).alias("res"))
    if fmt == "rollout":
        if steps.height:
            steps = steps.with_columns(pl.when(pl.col("command").is_not_null()).then(jobj(
                ("tool_name", lit_str("bash")), ("arguments", jobj(("command", jval(pl.col("command"))))),
                ("result", pl.col("res")))).alias("f"))
        good = per_row(good, steps, "f", "tool_calls")
        build = jobj(("status", jval(pl.when(passed).then(pl.lit("pass")).otherwise(pl.lit("fail")))),
                     ("exit_code", jval(pl.when(passed).then(0).otherwise(1))), ("stderr", lit_str("")))
        out = good.select(rollout_record(
            source="terminal-bench", rollout_id=run_id, task=pl.col("description"), session_id=session,
            final_answer=pl.col("final_answer"), tool_calls=pl.col("tool_calls"), score=passed.cast(pl.Int64),
            status=pl.when(pl.col("passed").is_null()).then(pl.lit("unknown")).when(passed).then(pl.lit("pass"))
            .otherwise(pl.lit("fail")),
            total_score=passed.cast(pl.Float64), model_id=model, build_result=build,
            extra=[("category", jval(pl.col("category").fill_null("general")))]).alias("json"))
        return ImportResult(records=out, quarantine=q, read=records.height, imported=out.height, kind="rollout")
    if steps.height:
        steps = steps.with_columns(digest_json(steps["res"]).alias("rd"))
        steps = steps.with_columns(jobj(
            ("action_id", jval(pl.format("cmd-{}", pl.col("idx")))), ("tool_name", lit_str("bash")),
            ("state_changing", jval((pl.col("exit_code") == 0).fill_null(False))),
            ("timestamp_ms", jval(pl.coalesce(ts_ms(pl.col("timestamp_ms")), pl.col("idx").cast(pl.Float64)))),
            ("result_digest", jval(pl.col("rd"))),
            ("evidence_refs", jval(pl.concat_list([pl.format("tb-cmd/{}", pl.col("idx"))]))),
        ).alias("f"))
    good = per_row(good, steps, "f", "actions")
    out = good.select(aep_record(
        run_id=run_id, provider="benchmark", model_id=model, created_at_ms=pl.lit(0.0), trace_id=session,
        input_refs=one_array(jobj(("uri", jval(pl.lit("terminal-bench/task/") + pl.col("task_id"))))),
        actions=pl.col("actions"),
        verifiers=one_array(verifier(pl.lit("terminal-bench-tests"), passed, passed.cast(pl.Float64),
                                     pl.concat_list([pl.col("task_id")]))),
        extra=[("budget_ledger", pl.when(pl.col("latency_ms").is_not_null()).then(
            jobj(("latency_budget", jobj(("actual_ms", jval(ts_ms(pl.col("latency_ms")).fill_null(0.0))))))))],
    ).alias("json"))
    return ImportResult(records=out, quarantine=q, read=records.height, imported=out.height, kind="aep")
