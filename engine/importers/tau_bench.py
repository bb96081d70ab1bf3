"""τ-bench (tau-bench) conversations → rollout-wire (default) or AEP.

Required: `task_id`. Optional: `user_query`, `rules`, `expected_actions`, `category` (retail),
`model_id`, `turns[{role, content, tool_name, tool_args, tool_result}]`, `rule_violations` (0),
`task_completed` (false), `session_id`.

passed = task_completed and no rule violations. rollout: every agent/assistant turn with a
tool_name is a ToolCallEntry whose result is its tool_result, else the content of the next turn
when that turn has role `tool`; final answer = the last agent turn without a tool. AEP: one action
per agent turn `turn-<i>` (i = index among all turns; tool name or `chat`; state_changing = has a
tool; timestamp i·1000 as the source has no clock; result_digest when a result is known);
verifiers `tau-rule-compliance` (score max(0, 1 − 0.2·violations)) and `tau-task-completion`.
"""

from __future__ import annotations

import polars as pl

from engine.importers.common import ImportResult, digest_json, jobj, jval
from engine.importers.tabular import (
    aep_record,
    decode_required,
    explode,
    one_array,
    per_row,
    rollout_record,
    tool_call_entry,
    verifier,
)

STRUCTURE = {
    "task_id": "VARCHAR", "user_query": "VARCHAR", "rules": "JSON", "expected_actions": "JSON",
    "category": "VARCHAR", "model_id": "VARCHAR",
    "turns": [{"role": "VARCHAR", "content": "JSON", "tool_name": "VARCHAR", "tool_args": "JSON",
               "tool_result": "JSON"}],
    "rule_violations": "BIGINT", "task_completed": "BOOLEAN", "session_id": "VARCHAR",
}
_AGENT = ("agent", "assistant")


def import_tau_bench(records: pl.DataFrame, fmt: str = "rollout") -> ImportResult:
    good, q = decode_required(records, STRUCTURE, ("task_id",))
    model = pl.col("model_id").fill_null("unknown")
    violations = pl.col("rule_violations").fill_null(0)
    done = pl.col("task_completed").fill_null(False)
    passed = done & (violations == 0)
    session = pl.coalesce("session_id", pl.concat_str([pl.lit("tau-bench-"), pl.col("task_id")]))
    run_id = pl.concat_str([pl.lit("tau-bench/"), pl.col("task_id"), pl.lit("/"), model])
    turns = explode(good, "turns").sort("row_nr", "idx")
    if turns.height:
        nxt_role = pl.col("role").shift(-1).over("row_nr")
        nxt_content = pl.col("content").shift(-1).over("row_nr")
        is_agent = pl.col("role").str.to_lowercase().is_in(_AGENT).fill_null(False)
        has_tool = pl.col("tool_name").is_not_null() & (pl.col("tool_name") != "")
        turns = turns.with_columns(
            is_agent.alias("agent"), has_tool.alias("has_tool"),
            pl.coalesce("tool_result", pl.when(nxt_role == "tool").then(nxt_content)).alias("res"),
            pl.when(is_agent & ~has_tool & pl.col("content").str.starts_with('"')).then(pl.col("content"))
            .alias("answer_json"))
    if fmt == "rollout":
        if turns.height:
            turns = turns.with_columns(pl.when(pl.col("agent")).then(
                tool_call_entry(pl.col("tool_name"), pl.col("tool_args"), pl.col("res"))).alias("f"))
            last = (turns.filter(pl.col("answer_json").is_not_null()).group_by("row_nr")
                    .agg(pl.col("answer_json").sort_by("idx").last())
                    .with_columns(pl.concat_str([pl.lit('{"v":'), pl.col("answer_json"), pl.lit("}")])
                                  .str.json_decode(pl.Struct({"v": pl.String})).struct.field("v").alias("final")))
            good = good.join(last.select("row_nr", "final"), on="row_nr", how="left")
        else:
            good = good.with_columns(pl.lit(None, dtype=pl.String).alias("final"))
        good = per_row(good, turns, "f", "tool_calls")
        out = good.select(rollout_record(
            source="tau-bench", rollout_id=run_id, task=pl.col("user_query"), session_id=session,
            final_answer=pl.col("final"), tool_calls=pl.col("tool_calls"), score=passed.cast(pl.Int64),
            status=pl.when(passed).then(pl.lit("pass")).otherwise(pl.lit("fail")), total_score=passed.cast(pl.Float64),
            model_id=model, extra=[("category", jval(pl.col("category").fill_null("retail"))),
                                   ("rule_violations", jval(violations))]).alias("json"))
        return ImportResult(records=out, quarantine=q, read=records.height, imported=out.height, kind="rollout")
    if turns.height:
        turns = turns.with_columns(digest_json(turns["res"]).alias("rd"))
        turns = turns.with_columns(pl.when(pl.col("agent")).then(jobj(
            ("action_id", jval(pl.format("turn-{}", pl.col("idx")))),
            ("tool_name", jval(pl.when(pl.col("has_tool")).then(pl.col("tool_name")).otherwise(pl.lit("chat")))),
            ("state_changing", jval(pl.col("has_tool"))), ("timestamp_ms", jval(pl.col("idx").cast(pl.Float64) * 1000)),
            ("result_digest", jval(pl.when(pl.col("has_tool")).then(pl.col("rd")))),
        )).alias("f"))
    good = per_row(good, turns, "f", "actions")
    compliance = verifier(pl.lit("tau-rule-compliance"), violations == 0,
                          pl.max_horizontal(pl.lit(0.0), 1.0 - 0.2 * violations.cast(pl.Float64)))
    out = good.select(aep_record(
        run_id=run_id, provider="benchmark", model_id=model, created_at_ms=pl.lit(0.0), trace_id=session,
        input_refs=one_array(jobj(("uri", jval(pl.lit("tau-bench/task/") + pl.col("task_id"))))),
        actions=pl.col("actions"),
        verifiers=one_array(compliance, verifier(pl.lit("tau-task-completion"), done, done.cast(pl.Float64))),
        extra=[("category", jval(pl.col("category").fill_null("retail")))],
    ).alias("json"))
    return ImportResult(records=out, quarantine=q, read=records.height, imported=out.height, kind="aep")
