"""Context compilation from rollouts (reference §4.4): long-context QA and router-critic records.

Branches with fewer than `min_tool_calls` resolved tool calls are skipped. Step k (0-based) renders as
`[Step k+1] Tool: <name>\n  Arguments: <arguments JSON>\n  Result: <result, first 512 characters>` or
`Result: [ERROR] <error>` when the call has no result (tool results are JSON text, never a Python repr).
- `long_context_qa` (passing branches only): context = "Task: <task>", the steps, "Final answer: <answer>"
  joined by blank lines; question = the task, answer = the final answer; record_id = sha16("<rollout_id>:<context>").
- `router_critic` (every branch): one record per step k of n: partial_context = "Task: <task>" and the steps
  before k joined by blank lines; evidence = step k; decision `stop` on the last step of a passing branch,
  `ask` on the last step of a failing one, else `continue`; n_remaining_steps = n - k - 1;
  record_id = sha16("<rollout_id>/<k>:<partial_context>").
"""

from __future__ import annotations

from typing import Literal

import polars as pl

from engine.products.calls import Rollouts
from engine.products.hashing import sha16

Mode = Literal["long_context_qa", "router_critic"]
RESULT_CHARS = 512
_SEP = "\n\n"


def _step_text() -> pl.Expr:
    result = (pl.when(pl.col("result").is_not_null()).then(pl.col("result").str.slice(0, RESULT_CHARS))
              .when(pl.col("error").is_not_null()).then(pl.concat_str([pl.lit("[ERROR] "), pl.col("error")]))
              .otherwise(pl.lit("")))
    return pl.format("[Step {}] Tool: {}\n  Arguments: {}\n  Result: {}", pl.col("k") + 1, pl.col("name"),
                     pl.col("arguments"), result)


def _eligible(rollouts: Rollouts, min_tool_calls: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    b = rollouts.branches.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("bo")).filter(
        pl.col("n_calls") >= min_tool_calls)
    c = rollouts.calls.join(b.select("rid", "bo"), on="rid", how="inner").sort("bo", "k")
    return b, c.with_columns(_step_text().alias("step"))


def _provenance() -> pl.Expr:
    return pl.struct("rollout_id", "branch_index", "objective_status")


def long_context_qa(rollouts: Rollouts, min_tool_calls: int = 1) -> pl.DataFrame:
    b, c = _eligible(rollouts, min_tool_calls)
    b = b.filter(pl.col("objective_status") == "pass")
    steps = c.group_by("bo", maintain_order=True).agg(pl.col("step").str.join(_SEP).alias("steps"))
    b = b.join(steps, on="bo", how="left", maintain_order="left")
    parts = [pl.format("Task: {}", pl.col("task")), pl.col("steps"), pl.format("Final answer: {}", pl.col("final_answer"))]
    b = b.with_columns(pl.concat_str(parts, separator=_SEP, ignore_nulls=True).alias("context"))
    ids = sha16(b.select(pl.format("{}:{}", pl.col("rollout_id"), pl.col("context"))).to_series())
    return b.with_columns(ids.alias("record_id")).select(
        pl.lit("context-qa/v1").alias("schema_version"), "record_id", "context",
        pl.col("task").alias("question"), pl.col("final_answer").alias("answer"),
        pl.col("n_calls").alias("n_tool_calls"), "objective_status", _provenance().alias("provenance"),
    )


def router_critic(rollouts: Rollouts, min_tool_calls: int = 1) -> pl.DataFrame:
    b, c = _eligible(rollouts, min_tool_calls)
    all_steps = c.group_by("bo", maintain_order=True).agg(pl.col("step").alias("all_steps"))
    rows = (c.join(b.select("bo", "rollout_id", "branch_index", "task", "objective_status", "n_calls"), on="bo")
            .join(all_steps, on="bo").sort("bo", "k"))
    before = pl.col("all_steps").list.head(pl.col("k")).list.join(_SEP)
    partial = pl.when(pl.col("k") > 0).then(pl.concat_str([pl.format("Task: {}", pl.col("task")), pl.lit(_SEP), before])) \
        .otherwise(pl.format("Task: {}", pl.col("task")))
    last = pl.col("k") == pl.col("n_calls") - 1
    decision = (pl.when(last & (pl.col("objective_status") == "pass")).then(pl.lit("stop"))
                .when(last & (pl.col("objective_status") == "fail")).then(pl.lit("ask"))
                .otherwise(pl.lit("continue")))
    rows = rows.with_columns(partial.alias("partial_context"))
    ids = sha16(rows.select(pl.format("{}/{}:{}", pl.col("rollout_id"), pl.col("k"), pl.col("partial_context")))
                .to_series())
    return rows.with_columns(ids.alias("record_id")).select(
        pl.lit("router-critic/v1").alias("schema_version"), "record_id", "partial_context",
        pl.col("k").alias("step_index"), decision.alias("decision"), pl.col("step").alias("evidence"),
        (pl.col("n_calls") - pl.col("k") - 1).alias("n_remaining_steps"), _provenance().alias("provenance"),
    )


def compile_context(rollouts: Rollouts, mode: Mode, min_tool_calls: int = 1) -> pl.DataFrame:
    if mode == "long_context_qa":
        return long_context_qa(rollouts, min_tool_calls)
    return router_critic(rollouts, min_tool_calls)
