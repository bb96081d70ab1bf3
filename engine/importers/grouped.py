"""Sources whose items (spans, runs, events) are grouped into one AEP run each: OpenAI Agents SDK
spans, LangSmith runs, Google ADK events.

Each importer first maps its items onto one common item table (column names below); `build_runs`
then groups by `group`, orders items by (`ts`, `order`), and assembles the AEP record with
Polars expressions:

  group, item_id, order, ts (ms, may be null), role ("tool" | "llm" | "guardrail" | "agent" |
  "chain" | "other"), name, tool_name, args_json, result_json, error, model, agent,
  in_tok, out_tok, finish (str), state_changing (bool), triggered (bool), ext (JSON or null)
"""

from __future__ import annotations

import polars as pl

from engine.importers.common import (
    digest_json,
    jarray_agg,
    jobj,
    jobj_or_null,
    jval,
    lit_str,
    nonempty_array,
    ts_ms,
    unique_ids,
)
from engine.importers.tabular import concat_arrays, decision

ITEM_COLUMNS: dict[str, pl.DataType] = {
    "group": pl.String(), "item_id": pl.String(), "order": pl.Int64(), "ts": pl.Float64(), "end_ts": pl.Float64(),
    "role": pl.String(), "name": pl.String(), "tool_name": pl.String(), "args_json": pl.String(),
    "result_json": pl.String(), "error": pl.String(), "model": pl.String(), "agent": pl.String(),
    "in_tok": pl.Int64(), "out_tok": pl.Int64(), "finish": pl.String(), "state_changing": pl.Boolean(),
    "triggered": pl.Boolean(), "ext": pl.String(),
}


def iso_ms(expr: pl.Expr) -> pl.Expr:
    """Milliseconds since the epoch of an ISO-8601 string, a number of seconds, or null."""
    text = expr.cast(pl.String)
    as_number = text.cast(pl.Float64, strict=False)
    as_seconds = pl.when(as_number < 1e11).then(as_number * 1000.0).otherwise(as_number)
    # one explicit format for every ISO spelling: Z or offset or none (UTC), 'T' or space, any fraction
    iso = text.str.replace(r"Z$", "+00:00").str.replace(r"^(\d{4}-\d\d-\d\d) ", "${1}T")
    iso = pl.when(iso.str.contains(r"[+-]\d\d:\d\d$")).then(iso).otherwise(iso + pl.lit("+00:00"))
    parsed = iso.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%:z", strict=False, time_unit="us")
    return ts_ms(pl.coalesce(as_seconds, parsed.dt.epoch("us").cast(pl.Float64) / 1000.0))


def build_runs(items: pl.DataFrame, *, prefix: str, provider: str, deny_role: dict[str, str],
               run_verifiers: pl.DataFrame | None = None) -> pl.DataFrame:
    """Items (ITEM_COLUMNS) → one AEP record per group (column `json`), groups in input order.

    `deny_role` maps an item role to the reason_code of the deny decision its error produces
    (e.g. {"tool": "tool_error"}). `run_verifiers` (group, v): one more verifier fragment per run.
    """
    t = items.select([pl.col(c).cast(d) if c in items.columns else pl.lit(None, dtype=d).alias(c)
                      for c, d in ITEM_COLUMNS.items()])
    t = t.with_columns(digest_json(t["result_json"]).alias("rd"), digest_json(t["args_json"]).alias("pd"),
                       unique_ids(pl.col("item_id"), "group").alias("item_id"), ts_ms(pl.col("ts")).alias("ts"),
                       ts_ms(pl.col("end_ts")).alias("end_ts"), ts_ms(pl.col("in_tok")).cast(pl.Int64).alias("in_tok"),
                       ts_ms(pl.col("out_tok")).cast(pl.Int64).alias("out_tok"))
    is_tool = pl.col("role") == "tool"
    action = jobj(
        ("action_id", jval(pl.col("item_id"))), ("tool_name", jval(pl.coalesce("tool_name", "name", pl.lit("unknown")))),
        ("state_changing", jval(pl.col("state_changing").fill_null(False))),
        ("timestamp_ms", jval(pl.col("ts").fill_null(0.0))),
        ("precondition_digest", jval(pl.col("pd"))), ("result_digest", jval(pl.col("rd"))),
        ("evidence_refs", jval(pl.concat_list([pl.lit(prefix + "-item/") + pl.col("item_id")]))),
        ("error", jval(pl.col("error"))),
        ("usage", jobj_or_null(("input_tokens", jval(pl.col("in_tok"))), ("output_tokens", jval(pl.col("out_tok"))))),
    )
    call = jobj(
        ("item_id", jval(pl.col("item_id"))), ("timestamp_ms", jval(pl.col("ts"))), ("name", jval(pl.col("name"))),
        ("model", jval(pl.col("model"))), ("input_tokens", jval(pl.col("in_tok"))),
        ("output_tokens", jval(pl.col("out_tok"))), ("finish_reason", jval(pl.col("finish"))),
    )
    verifier = jobj(
        ("verifier_id", jval(pl.lit("guardrail/") + pl.coalesce("name", "item_id"))),
        ("passed", jval(~pl.col("triggered").fill_null(False) & pl.col("error").is_null())),
    )
    deny_reason: pl.Expr = pl.lit(None, dtype=pl.String)
    for role, reason in deny_role.items():
        deny_reason = pl.when(pl.col("role") == role).then(pl.lit(reason)).otherwise(deny_reason)
    deny = pl.when(pl.col("error").is_not_null() & deny_reason.is_not_null()).then(decision(
        pl.concat_str([pl.col("role"), pl.lit(":"), pl.coalesce("tool_name", "name", pl.lit("unknown"))]),
        pl.coalesce("agent", pl.lit("agent")), pl.col("item_id"), deny_reason))
    t = t.with_columns(
        pl.when(is_tool).then(action).alias("f_action"),
        pl.when(pl.col("role") == "llm").then(call).alias("f_call"),
        pl.when(pl.col("role") == "guardrail").then(verifier).alias("f_verifier"),
        deny.alias("f_deny"),
        pl.when(pl.col("ext").is_not_null()).then(jval(pl.col("item_id")) + pl.lit(":") + pl.col("ext")).alias("f_ext"),
    )
    ordered = t.sort("group", pl.col("ts").fill_null(0.0), "order")
    runs = ordered.group_by("group", maintain_order=True).agg(
        pl.col("order").min().alias("first"), pl.col("ts").min().alias("created"), pl.col("end_ts").max().alias("ended"),
        pl.col("model").filter(pl.col("role") == "llm").drop_nulls().last().alias("llm_model"),
        pl.col("model").drop_nulls().first().alias("any_model"), pl.col("agent").drop_nulls().first().alias("agent"),
        pl.col("in_tok").sum().alias("in_sum"), pl.col("out_tok").sum().alias("out_sum"),
        (pl.col("in_tok").is_not_null() | pl.col("out_tok").is_not_null()).any().alias("has_usage"),
        pl.col("finish").drop_nulls().alias("finishes"), is_tool.sum().alias("n_tools"),
        jarray_agg("f_action").alias("actions"), jarray_agg("f_call").alias("calls"),
        jarray_agg("f_verifier").alias("verifiers"), jarray_agg("f_deny").alias("denies"),
        pl.concat_str([pl.lit("{"), pl.col("f_ext").drop_nulls().str.join(","), pl.lit("}")]).alias("exts"),
    ).sort("first")
    if run_verifiers is not None:
        runs = runs.join(run_verifiers.select("group", pl.concat_str([pl.lit("["), pl.col("v"), pl.lit("]")])
                                              .alias("rv")), on="group", how="left", maintain_order="left")
        runs = runs.with_columns(concat_arrays(pl.col("verifiers"), pl.col("rv").fill_null("[]")).alias("verifiers"))
    has_usage = pl.col("has_usage")
    record = jobj(
        ("schema_version", lit_str("aep/v0.5")), ("run_id", jval(pl.lit(prefix + "/") + pl.col("group"))),
        ("trace_id", jval(pl.col("group"))), ("created_at_ms", jval(pl.col("created").fill_null(0.0))),
        ("model_provider", lit_str(provider)),
        ("model_id", jval(pl.coalesce("llm_model", "any_model", pl.lit("unknown")))),
        ("run_context", pl.when(pl.col("agent").is_not_null()).then(jobj(("agent_id", jval(pl.col("agent")))))),
        ("input_refs", pl.concat_str([pl.lit('[{"uri":'), jval(pl.lit(prefix + "/trace/") + pl.col("group")),
                                      pl.lit("}]")])),
        ("capability_decisions", nonempty_array(pl.col("denies"))),
        ("actions", pl.col("actions")),
        ("verifier_results", nonempty_array(pl.col("verifiers"))),
        ("budget_ledger", jobj(
            ("token_budget", pl.when(has_usage).then(jobj(("spent", jval(pl.col("in_sum") + pl.col("out_sum")))))),
            ("latency_budget", jobj_or_null(("actual_ms", jval(ts_ms(pl.col("ended") - pl.col("created")))))),
            ("tool_budget", jobj(("spent", jval(pl.col("n_tools"))))),
        )),
        ("gen_ai_usage", pl.when(has_usage).then(jobj(("input_tokens", jval(pl.col("in_sum"))),
                                                      ("output_tokens", jval(pl.col("out_sum")))))),
        ("gen_ai_finish_reasons", pl.when(pl.col("finishes").list.len() > 0).then(jval(pl.col("finishes")))),
        ("gen_ai_calls", nonempty_array(pl.col("calls"))),
        ("extensions", pl.when(pl.col("exts") != "{}").then(pl.col("exts"))),
    )
    return runs.select(record.alias("json"))

