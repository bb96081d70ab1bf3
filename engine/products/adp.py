"""Agent Data Protocol (ADP) episodes from rollouts (reference §4.4), in two layouts.

`steps` (the original's layout, one JSON line per step) for an episode `<rollout_id>/<branch_index>` with n
resolved tool calls (either tool-call shape): for call k an agent step (index 2k; content = JSON text
`{"name", "arguments"}`, tool_name, tool_args = the arguments object, reward null, done false) and an
environment step (index 2k+1; content = the result text (a JSON string result as itself, anything else as
JSON), else the error, else ""; metadata.is_error = an error was recorded), then a terminal agent step
(index 2n; content = final_answer, done true, metadata.is_terminal true) whose reward is 0.0 when
objective_status is unknown, else min(1, objective_score + clamp(total_score / 1000, 0, 0.1)). Every
step's metadata carries rollout_id, branch_index, objective_score, objective_status, temperature,
session_id (plus tool_call_index on tool steps). So n calls give 2n + 1 steps.

`trajectory`: one ADP `Trajectory` per episode, the shape this module validates against
(`TRAJECTORY_SCHEMA`, the ADP pydantic models written as JSON Schema):
    {"id": str,
     "content": [ item, ... ],           # in order: the task, then per call an action and its observation,
                                         # then the final answer
     "details": {str: str}}              # episode metadata, every value a string
    item = {"class_": "text_observation", "content": str, "source": "user" | "environment"}
         | {"class_": "api_action", "function": str, "kwargs": object, "description": str | null}
         | {"class_": "message_action", "content": str, "description": str | null}
The task is a user text observation; each tool call an api_action (function = tool name, kwargs = its
arguments; a non-object arguments value is wrapped as {"value": ...}) followed by an environment text
observation (as the environment step above); the final answer a message_action. details holds rollout_id,
branch_index, objective_status, objective_score, total_score, reward, session_id, temperature.
Lines are built as JSON text (arguments are spliced in as recorded, never re-serialised).
"""

from __future__ import annotations

from typing import Any, Literal

import polars as pl

from engine.products.calls import Rollouts, episode_id

Layout = Literal["steps", "trajectory"]

TRAJECTORY_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "ADP Trajectory",
    "type": "object",
    "required": ["id", "content", "details"],
    "properties": {
        "id": {"type": "string"},
        "details": {"type": "object", "additionalProperties": {"type": "string"}},
        "content": {"type": "array", "items": {"oneOf": [
            {"type": "object", "required": ["class_", "content", "source"],
             "properties": {"class_": {"const": "text_observation"}, "content": {"type": "string"},
                            "source": {"type": "string"}}},
            {"type": "object", "required": ["class_", "function", "kwargs"],
             "properties": {"class_": {"const": "api_action"}, "function": {"type": "string"},
                            "kwargs": {"type": "object"}, "description": {"type": ["string", "null"]}}},
            {"type": "object", "required": ["class_", "content"],
             "properties": {"class_": {"const": "message_action"}, "content": {"type": "string"},
                            "description": {"type": ["string", "null"]}}},
        ]}},
    },
}

_ORDER_BITS = 24


def terminal_reward() -> pl.Expr:
    bonus = (pl.col("total_score") / 1000.0).clip(0.0, 0.1)
    return (pl.when(pl.col("objective_status") == "unknown").then(pl.lit(0.0))
            .otherwise(pl.min_horizontal(pl.lit(1.0), pl.col("objective_score") + bonus)))


def _splice(obj_json: pl.Expr, key: str, raw_json: pl.Expr) -> pl.Expr:
    """Insert `"key": <raw JSON text>` as the last member of the JSON object text `obj_json`."""
    return pl.concat_str([obj_json.str.strip_suffix("}"), pl.lit(f',"{key}":'), raw_json, pl.lit("}")])


def _observation() -> pl.Expr:
    return pl.coalesce("result", "error", pl.lit(""))


def _joined(b: pl.DataFrame, calls: pl.DataFrame) -> pl.DataFrame:
    keys = b.select("rid", "bo", "rollout_id", "branch_index", "objective_score", "objective_status",
                    "temperature", "session_id")
    return calls.join(keys, on="rid", how="inner")


def _base_meta(extra: list[pl.Expr]) -> pl.Expr:
    return pl.struct("rollout_id", "branch_index", "objective_score", "objective_status", "temperature",
                     "session_id", *extra)


def steps(rollouts: Rollouts) -> pl.Series:
    """ADP step lines (JSON text), ordered by input branch then step index."""
    b = rollouts.branches.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("bo"))
    c = _joined(b, rollouts.calls)
    null_s, null_f, null_b = (pl.lit(None, dtype=t) for t in (pl.String, pl.Float64, pl.Boolean))
    call_text = _splice(pl.struct("name").struct.json_encode(), "arguments", pl.col("arguments"))
    agent = c.select(
        (pl.col("bo") * (1 << _ORDER_BITS) + 2 * pl.col("k")).alias("o"),
        _splice(pl.struct(
            episode_id().alias("episode_id"), (2 * pl.col("k")).alias("step_index"), pl.lit("agent").alias("role"),
            call_text.alias("content"), pl.col("name").alias("tool_name"), null_f.alias("reward"),
            pl.lit(False).alias("done"),
            _base_meta([pl.col("k").alias("tool_call_index"), null_b.alias("is_error"),
                        null_b.alias("is_terminal")]).alias("metadata"),
        ).struct.json_encode(), "tool_args", pl.col("arguments")).alias("line"),
    )
    env = c.select(
        (pl.col("bo") * (1 << _ORDER_BITS) + 2 * pl.col("k") + 1).alias("o"),
        _splice(pl.struct(
            episode_id().alias("episode_id"), (2 * pl.col("k") + 1).alias("step_index"),
            pl.lit("environment").alias("role"), _observation().alias("content"), pl.col("name").alias("tool_name"),
            null_f.alias("reward"), pl.lit(False).alias("done"),
            _base_meta([pl.col("k").alias("tool_call_index"), pl.col("error").is_not_null().alias("is_error"),
                        null_b.alias("is_terminal")]).alias("metadata"),
        ).struct.json_encode(), "tool_args", pl.lit("null")).alias("line"),
    )
    term = b.select(
        (pl.col("bo") * (1 << _ORDER_BITS) + 2 * pl.col("n_calls")).alias("o"),
        _splice(pl.struct(
            episode_id().alias("episode_id"), (2 * pl.col("n_calls")).alias("step_index"), pl.lit("agent").alias("role"),
            pl.col("final_answer").alias("content"), null_s.alias("tool_name"), terminal_reward().alias("reward"),
            pl.lit(True).alias("done"),
            _base_meta([pl.lit(None, dtype=pl.Int64).alias("tool_call_index"), null_b.alias("is_error"),
                        pl.lit(True).alias("is_terminal")]).alias("metadata"),
        ).struct.json_encode(), "tool_args", pl.lit("null")).alias("line"),
    )
    return pl.concat([agent, env, term]).sort("o").get_column("line")


def _kwargs() -> pl.Expr:
    a = pl.col("arguments")
    return pl.when(a.str.starts_with("{")).then(a).otherwise(pl.concat_str([pl.lit('{"value":'), a, pl.lit("}")]))


def trajectories(rollouts: Rollouts) -> pl.Series:
    """One ADP Trajectory (JSON text) per branch, in input order."""
    b = rollouts.branches.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("bo"))
    c = _joined(b, rollouts.calls)
    key = pl.col("bo") * (1 << _ORDER_BITS)
    items = pl.concat([
        b.select("bo", key.alias("o"), pl.struct(
            pl.lit("text_observation").alias("class_"), pl.col("task").alias("content"),
            pl.lit("user").alias("source")).struct.json_encode().alias("item")),
        c.select("bo", (key + 2 * pl.col("k") + 1).alias("o"), _splice(pl.struct(
            pl.lit("api_action").alias("class_"), pl.col("name").alias("function"),
            pl.lit(None, dtype=pl.String).alias("description")).struct.json_encode(), "kwargs", _kwargs())
            .alias("item")),
        c.select("bo", (key + 2 * pl.col("k") + 2).alias("o"), pl.struct(
            pl.lit("text_observation").alias("class_"), _observation().alias("content"),
            pl.lit("environment").alias("source")).struct.json_encode().alias("item")),
        b.select("bo", (key + (1 << _ORDER_BITS) - 1).alias("o"), pl.struct(
            pl.lit("message_action").alias("class_"), pl.col("final_answer").alias("content"),
            pl.lit(None, dtype=pl.String).alias("description")).struct.json_encode().alias("item")),
    ]).sort("o")
    content = items.group_by("bo", maintain_order=True).agg(pl.col("item").str.join(",").alias("content"))
    s = pl.String
    details = pl.struct(
        "rollout_id", pl.col("branch_index").cast(s), "objective_status", pl.col("objective_score").cast(s),
        pl.col("total_score").cast(s), terminal_reward().cast(s).alias("reward"),
        pl.col("session_id").fill_null(""), pl.col("temperature").cast(s).fill_null(""),
    ).struct.json_encode()
    head = b.select("bo", pl.struct(episode_id().alias("id")).struct.json_encode().alias("head"),
                    details.alias("details"))
    out = head.join(content, on="bo", how="left", maintain_order="left")
    return out.select(pl.concat_str([
        pl.col("head").str.strip_suffix("}"), pl.lit(',"content":['), pl.col("content"), pl.lit('],"details":'),
        pl.col("details"), pl.lit("}")]).alias("line")).get_column("line")


def export_adp(rollouts: Rollouts, layout: Layout = "steps") -> pl.Series:
    return steps(rollouts) if layout == "steps" else trajectories(rollouts)
