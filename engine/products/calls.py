"""Rollout files → one branch frame and one ordered tool-call frame (both tool-call shapes).

Reuses the export decoder (`engine.export.rollouts.decode_rollouts`: one typed JSON parse, tree records
skipped, unusable branches rejected with a reason) and its call resolver
(`engine.export.messages.normalize_tool_calls`: ToolCallEntry items in list order, AgentEvent pairs
joined by callId, id-less events paired positionally). That resolver folds result and error into one
`content` column; the products need both (ADP marks error observations, RL records `has_error`), so each
item's result and error are tagged before resolution and split again after it. A result and an error
always come from the same item (or the same tool_result event), so the tag travels with the pair.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl
import pyarrow as pa

from engine.paths import load_sql

BRANCH_SCHEMA = {
    "rid": pl.Int64, "source": pl.String, "line": pl.Int64, "rollout_id": pl.String, "branch_index": pl.Int64,
    "task": pl.String, "final_answer": pl.String, "objective_score": pl.Float64, "objective_status": pl.String,
    "total_score": pl.Float64, "session_id": pl.String, "temperature": pl.Float64, "build_status": pl.String,
    "visual_score": pl.Float64, "n_calls": pl.Int64,
}
CALL_SCHEMA = {"rid": pl.Int64, "k": pl.Int64, "name": pl.String, "arguments": pl.String,
               "result": pl.String, "error": pl.String}

# An item with a result is tagged `R<n>:<error><result>` (n = characters of its error, 0 without one),
# an item with only an error `E:<error>`.


@dataclass(frozen=True)
class Rollouts:
    branches: pl.DataFrame  # BRANCH_SCHEMA, input order
    calls: pl.DataFrame  # CALL_SCHEMA, sorted by (rid, k)
    rejected: pl.DataFrame  # source, line, reason, rollout_id, branch_index
    quarantine: pl.DataFrame  # source, line, excerpt, reason (lines that are not JSON objects)
    n_tree_records: int


def resolve_calls(tool_items: pl.DataFrame) -> pl.DataFrame:
    """Export tool items (rid, pos, tool_name, arguments, result, error, event, call_id) → CALL_SCHEMA."""
    from engine.export.messages import normalize_tool_calls

    err = pl.col("error").fill_null("")
    tagged = tool_items.with_columns(
        pl.when(pl.col("result").is_not_null())
        .then(pl.concat_str([pl.lit("R"), err.str.len_chars().cast(pl.String), pl.lit(":"), err, pl.col("result")]))
        .alias("result"),
        pl.when(pl.col("error").is_not_null()).then(pl.concat_str([pl.lit("E:"), pl.col("error")])).alias("error"),
    )
    calls = normalize_tool_calls(tagged)
    c = pl.col("content")
    head = c.str.extract(r"^R(\d+):", 1)
    n_err = head.cast(pl.Int64)
    body_at = head.str.len_chars() + 2
    return calls.select(
        "rid", "k", "name", "arguments",
        pl.when(head.is_not_null()).then(c.str.slice(body_at + n_err)).alias("result"),
        pl.when(head.is_not_null() & (n_err > 0)).then(c.str.slice(body_at, n_err))
        .when(c.str.starts_with("E:")).then(c.str.slice(2)).alias("error"),
    ).cast(CALL_SCHEMA)  # type: ignore[arg-type]


def _extras(records: pa.Table) -> pl.DataFrame:
    import duckdb

    con = duckdb.connect()
    try:
        con.register("records", records.select(["rid", "raw"]))
        out = pl.from_arrow(con.sql(load_sql("products/branch_extras")).to_arrow_table())
    finally:
        con.close()
    assert isinstance(out, pl.DataFrame)
    return out


def from_records(records: pa.Table, quarantine: pl.DataFrame | None = None) -> Rollouts:
    """`records` (rid, source, line, raw) → Rollouts."""
    from engine.export.rollouts import decode_rollouts

    dec = decode_rollouts(records)
    calls = resolve_calls(dec.tool_items)
    n_calls = calls.group_by("rid").agg(pl.len().cast(pl.Int64).alias("n_calls"))
    branches = (
        dec.branches.join(_extras(records), on="rid", how="left", maintain_order="left")
        .join(n_calls, on="rid", how="left", maintain_order="left")
        .with_columns(pl.col("n_calls").fill_null(0))
        .select(list(BRANCH_SCHEMA)).cast(BRANCH_SCHEMA)  # type: ignore[arg-type]
    )
    q = quarantine if quarantine is not None else pl.DataFrame(
        schema={"source": pl.String, "line": pl.Int64, "excerpt": pl.String, "reason": pl.String})
    return Rollouts(branches, calls.sort("rid", "k"), dec.rejected, q, dec.n_tree_records)


def load_rollouts(paths: Sequence[str]) -> Rollouts:
    """Read rollout files (any container the engine reads) and resolve their tool calls."""
    from engine.export.source import read_inputs

    inputs = read_inputs(paths, kind="rollout")
    return from_records(inputs.records, inputs.quarantine)


def episode_id() -> pl.Expr:
    return pl.format("{}/{}", pl.col("rollout_id"), pl.col("branch_index"))


def dropped(rollouts: Rollouts) -> pl.DataFrame:
    """Every input line that produced no branch: unreadable lines and unusable records (source, line, reason)."""
    return pl.concat([
        rollouts.quarantine.select("source", "line", "reason"),
        rollouts.rejected.select("source", "line", "reason"),
    ]).sort("source", "line")
