"""LangSmith / LangGraph runs → one AEP run per trace.

One Run per line: `id` (required), `name`, `run_type` (tool / llm / chain / retriever / prompt /
parser / embedding), `start_time`, `end_time`, `inputs`, `outputs`, `error`, `parent_run_id`,
`trace_id`, `extra{invocation_params{model, model_name}, metadata{ls_model_name, ls_provider}}`,
`prompt_tokens`, `completion_tokens`, `tags`, `session_id`.

Runs are grouped by `trace_id` when present, else by their root: parent links are followed by
pointer jumping (log2(depth) self-joins over the whole table, not a walk per run); a parent that
is not in the input makes the run a root. Runs whose ancestry loops (a parent cycle) are
quarantined with reason `parent cycle`, never followed forever. tool runs → actions (digests of
inputs/outputs; errored → deny `tool_error`); llm runs → `gen_ai_calls` (model from
invocation_params / metadata / name; token counts); chain errors → deny `chain_error`.
"""

from __future__ import annotations

import polars as pl

from engine.importers.common import ImportResult, decode, ext_or_null, missing_reason, quarantine_rows
from engine.importers.grouped import build_runs, iso_ms

STRUCTURE = {
    "id": "VARCHAR", "name": "VARCHAR", "run_type": "VARCHAR", "start_time": "VARCHAR", "end_time": "VARCHAR",
    "inputs": "JSON", "outputs": "JSON", "error": "VARCHAR", "parent_run_id": "VARCHAR", "trace_id": "VARCHAR",
    "dotted_order": "VARCHAR", "session_id": "VARCHAR", "tags": "JSON", "status": "VARCHAR",
    "extra": {"invocation_params": {"model": "VARCHAR", "model_name": "VARCHAR"},
              "metadata": {"ls_model_name": "VARCHAR", "ls_provider": "VARCHAR"}},
    "prompt_tokens": "BIGINT", "completion_tokens": "BIGINT", "total_tokens": "BIGINT",
}
_ROLES = {"tool": "tool", "llm": "llm", "chat_model": "llm", "chain": "chain"}


def roots(ids: pl.Series, parents: pl.Series) -> pl.Series:
    """Root id of every node by pointer jumping; null for nodes whose ancestry is a cycle.

    A parent missing from `ids` counts as absent (the node is a root). Each round replaces a
    node's ancestor by its ancestor's ancestor, so ceil(log2(n)) + 1 rounds reach every root.
    """
    frame = pl.DataFrame({"id": ids, "parent": parents})
    known = frame.select("id").unique()
    frame = frame.with_columns(
        pl.when(pl.col("parent").is_in(known["id"].implode()) & (pl.col("parent") != pl.col("id")))
        .then(pl.col("parent")).alias("anc"),
        (pl.col("parent") == pl.col("id")).fill_null(False).alias("self_loop"))
    lookup = frame.select("id", "anc").unique("id", keep="first")
    rounds = max(1, ids.len()).bit_length() + 1
    for _ in range(rounds):  # a handful of whole-table joins, not a walk per node
        nxt = frame.join(lookup.rename({"id": "anc", "anc": "anc2"}), on="anc", how="left", maintain_order="left")
        frame = nxt.with_columns(pl.coalesce("anc2", "anc").alias("anc")).drop("anc2")
        lookup = frame.select("id", "anc").unique("id", keep="first")
    final = frame.join(lookup.rename({"id": "anc", "anc": "anc_of_root"}), on="anc", how="left", maintain_order="left")
    cyclic = pl.col("self_loop") | (pl.col("anc").is_not_null() & pl.col("anc_of_root").is_not_null())
    return final.select(pl.when(cyclic).then(None).otherwise(pl.coalesce("anc", "id")).alias("root")).to_series()


def import_langsmith(records: pl.DataFrame, fmt: str = "aep") -> ImportResult:
    d = decode(records, STRUCTURE).with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("order"))
    reason = missing_reason([("id", pl.col("id"))])
    d = d.with_columns(reason.alias("__r"))
    q = [quarantine_rows(d.filter(pl.col("__r").is_not_null()), pl.col("__r"))]
    good = d.filter(pl.col("__r").is_null())
    good = good.with_columns(roots(good["id"], good["parent_run_id"]).alias("root"))
    group = pl.when(pl.col("trace_id").is_not_null() & (pl.col("trace_id") != "")).then(pl.col("trace_id")).otherwise(
        pl.col("root"))
    good = good.with_columns(group.alias("g"))
    q.append(quarantine_rows(good.filter(pl.col("g").is_null()), pl.lit("parent cycle")))
    good = good.filter(pl.col("g").is_not_null())
    extra = pl.col("extra")
    params, meta = extra.struct.field("invocation_params"), extra.struct.field("metadata")
    role = pl.col("run_type").str.to_lowercase().replace_strict(_ROLES, default="other", return_dtype=pl.String)
    outputs = pl.col("outputs")
    items = good.select(
        pl.col("g").alias("group"), pl.col("id").alias("item_id"), "order",
        iso_ms(pl.col("start_time")).alias("ts"), iso_ms(pl.col("end_time")).alias("end_ts"),
        role.alias("role"), "name", pl.col("name").alias("tool_name"),
        pl.col("inputs").alias("args_json"),
        pl.when(outputs.is_not_null() & (outputs != "{}") & (outputs != "null")).then(outputs).alias("result_json"),
        pl.when(pl.col("error") != "").then(pl.col("error")).alias("error"),
        pl.when(role == "llm").then(pl.coalesce(params.struct.field("model"), params.struct.field("model_name"),
                                                meta.struct.field("ls_model_name"), pl.col("name"))).alias("model"),
        pl.col("prompt_tokens").alias("in_tok"), pl.col("completion_tokens").alias("out_tok"),
        (pl.col("error").is_null() & outputs.is_not_null() & (outputs != "{}") & (outputs != "null")).alias(
            "state_changing"),
        ext_or_null().alias("ext"),
    )
    out = build_runs(items, prefix="langsmith", provider="langsmith",
                     deny_role={"tool": "tool_error", "chain": "chain_error"})
    return ImportResult(records=out, quarantine=pl.concat(q), read=records.height, imported=good.height, kind="aep")
