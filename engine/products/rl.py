"""RL transitions from rollouts (reference §4.4), one row per tool call plus a terminal row per branch.

For branch b with n resolved tool calls (either tool-call shape) step i < n has
`state_ref = trace://<rollout_id>/<branch_index>/step/<i>/pre`, `observation_ref = …/post`, action
`{type: "tool_call", tool, args_hash}`, reward null, done false, metadata `{tool_name, has_error}`; step n is
the terminal transition: action `{type: "final_answer", tool: null, args_hash}`, done true, metadata
`{objective_status, objective_score}` and the reward `{build, visual, policy, cost_penalty}`:
- build: 1.0 when objective_status is "pass", else 0.0;
- visual: `build_result.visual_score` when present, else 0.0 (the original crashed reading it);
- policy: 1.0 (the original's placeholder: no firewall decisions ride on rollouts);
- cost_penalty: max(-0.1, -0.01 * max(0, n - 1)), n counting resolved calls (an AgentEvent call/result
  pair is one call, where the original counted raw list items).
Dimensions not requested keep their defaults (build 0, visual 0, policy 1, cost 0).
`args_hash` = first 16 hex of SHA-256 of `{"args": <arguments as recorded>, "tool": <name>}`; the
final-answer hash is that of tool "final_answer" with `{}` arguments. Deviation: the action is one struct
shape for every row (a `type` plus a nullable `tool`) so the output has a single schema (Parquet-ready).
Every branch yields n + 1 rows; output is ordered by input branch, then step.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import polars as pl

from engine.errors import UsageError
from engine.paths import load_sql
from engine.products.calls import Rollouts, episode_id

REWARD_DIMS = ("build", "visual", "policy", "cost")
DEFAULT_DIMS = ("build", "policy", "cost")
FINAL_ANSWER_HASH = hashlib.sha256(b'{"args": {}, "tool": "final_answer"}').hexdigest()[:16]
_STEP_BITS = 24


def parse_dims(text: str) -> tuple[str, ...]:
    dims = tuple(d.strip() for d in text.split(",") if d.strip())
    bad = [d for d in dims if d not in REWARD_DIMS]
    if bad:
        raise UsageError(f"unknown reward dimension(s) {', '.join(bad)}; choose from {', '.join(REWARD_DIMS)}")
    return dims


def _args_hashes(calls: pl.DataFrame) -> pl.DataFrame:
    import duckdb

    con = duckdb.connect()
    try:
        con.register("calls", calls.select("rid", "k", "name", "arguments").to_arrow())
        out = pl.from_arrow(con.sql(load_sql("products/args_hash")).to_arrow_table())
    finally:
        con.close()
    assert isinstance(out, pl.DataFrame)
    return out


def _ref(step: pl.Expr, suffix: str) -> pl.Expr:
    return pl.format("trace://{}/{}/step/{}/" + suffix, pl.col("rollout_id"), pl.col("branch_index"), step)


def reward_expr(dims: Sequence[str]) -> pl.Expr:
    build = (pl.col("objective_status") == "pass").cast(pl.Float64) if "build" in dims else pl.lit(0.0)
    visual = pl.col("visual_score").fill_null(0.0) if "visual" in dims else pl.lit(0.0)
    cost = ((pl.col("n_calls") - 1).clip(lower_bound=0) * -0.01).clip(lower_bound=-0.1) if "cost" in dims \
        else pl.lit(0.0)
    return pl.struct(build.cast(pl.Float64).alias("build"), visual.cast(pl.Float64).alias("visual"),
                     pl.lit(1.0).alias("policy"), cost.cast(pl.Float64).alias("cost_penalty"))


_ACTION = pl.Struct({"type": pl.String, "tool": pl.String, "args_hash": pl.String})
_META = pl.Struct({"tool_name": pl.String, "has_error": pl.Boolean,
                   "objective_status": pl.String, "objective_score": pl.Float64})


def transitions(rollouts: Rollouts, dims: Sequence[str] = DEFAULT_DIMS) -> pl.DataFrame:
    """One row per tool call and one terminal row per branch, ordered by (input branch, step)."""
    b = rollouts.branches.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("bo"))
    keys = b.select("rid", "bo", "rollout_id", "branch_index")
    calls = rollouts.calls.join(keys, on="rid", how="inner")
    calls = calls.join(_args_hashes(calls), on=["rid", "k"], how="left")
    reward_t = pl.Struct({"build": pl.Float64, "visual": pl.Float64, "policy": pl.Float64, "cost_penalty": pl.Float64})
    steps = calls.select(
        "bo", pl.col("k").alias("step_index"), "rollout_id", "branch_index",
        pl.struct(pl.lit("tool_call").alias("type"), pl.col("name").alias("tool"), "args_hash").alias("action"),
        pl.lit(None, dtype=reward_t).alias("reward"),
        pl.lit(False).alias("done"),
        pl.struct(pl.col("name").alias("tool_name"), pl.col("error").is_not_null().alias("has_error"),
                  pl.lit(None, dtype=pl.String).alias("objective_status"),
                  pl.lit(None, dtype=pl.Float64).alias("objective_score")).alias("metadata"),
    )
    terminal = b.select(
        "bo", pl.col("n_calls").alias("step_index"), "rollout_id", "branch_index",
        pl.struct(pl.lit("final_answer").alias("type"), pl.lit(None, dtype=pl.String).alias("tool"),
                  pl.lit(FINAL_ANSWER_HASH).alias("args_hash")).alias("action"),
        reward_expr(dims).alias("reward"),
        pl.lit(True).alias("done"),
        pl.struct(pl.lit(None, dtype=pl.String).alias("tool_name"), pl.lit(None, dtype=pl.Boolean).alias("has_error"),
                  "objective_status", "objective_score").alias("metadata"),
    )
    rows = pl.concat([steps.cast({"action": _ACTION, "metadata": _META}),  # type: ignore[dict-item]
                      terminal.cast({"action": _ACTION, "metadata": _META})])  # type: ignore[dict-item]
    rows = rows.sort(pl.col("bo") * (1 << _STEP_BITS) + pl.col("step_index"))
    return rows.select(
        episode_id().alias("episode_id"), "step_index",
        _ref(pl.col("step_index"), "pre").alias("state_ref"), "action",
        _ref(pl.col("step_index"), "post").alias("observation_ref"), "reward", "done",
        pl.lit([], dtype=pl.List(pl.String)).alias("capability_tags"), "rollout_id", "branch_index", "metadata",
    )


def reward_total(reward: pl.Expr) -> pl.Expr:
    """build + visual + policy + cost_penalty (the original's RewardSignal.total(), not serialised)."""
    f = reward.struct.field
    return f("build") + f("visual") + f("policy") + f("cost_penalty")
