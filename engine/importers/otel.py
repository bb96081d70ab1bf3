"""OpenTelemetry GenAI spans → one AEP record per trace.

Inputs: OTLP/JSON export records (`{"resourceSpans": [...]}`, one per file or per line) and
span-per-line JSONL (OTLP span shape or flat exporters: `trace_id`/`traceId`, `span_id`/`spanId`,
`name`/`operationName`, `attributes` as an object or as an OTLP key/value list).

Mapping (per trace, runs in order of their first span in the input):
- tool spans (`gen_ai.operation.name = execute_tool`, OpenInference `TOOL`, or a name starting
  with `execute_tool`/`tool`) → `actions`, in start-time order: action_id = span id, tool_name =
  `gen_ai.tool.name` / `tool.name` / `tool_name` / span name, timestamp_ms = start, state_changing
  = attribute `state_changing` (default false), `result_digest` / `precondition_digest` = SHA-256
  of the canonical JSON of the tool result / arguments when the span carries them (omitted
  otherwise), plus a `gen_ai` object (operation_name, tool_call_id, tool_type, token usage,
  finish_reasons, max_tokens, request_model) and an `otel` object (span name, parent span id,
  status, duration).
- model spans (`chat`, `text_completion`, `generate_content`, OpenInference `LLM`, or any span with
  token usage that is not a tool) → `gen_ai_calls` entries (time order) with the same fields, so
  truncation (`finish_reasons` containing `length` under `max_tokens`) can be audited per call.
- guardrail spans (OpenInference `GUARDRAIL`, name `guardrail` or containing `policy`) →
  `verifier_results` (`guardrail/<name>`, passed = attribute `triggered` is not true).
- run level: `model_provider` (gen_ai.provider.name, else gen_ai.system, else `otel`), `model_id`
  (first request/response model), `run_context.agent_id` (gen_ai.agent.name of invoke_agent),
  `created_at_ms` (earliest start), `gen_ai_usage` {input_tokens, output_tokens} summed over every
  span, `gen_ai_finish_reasons` (all, time order), `budget_ledger.token_budget.spent` and
  `latency_budget.actual_ms`, `extensions` {span_id: unmapped span keys}.
"""

from __future__ import annotations

import json

import polars as pl

from engine.importers.common import (
    ImportResult,
    decode,
    digest_json,
    empty_quarantine,
    ext_or_null,
    jarray_agg,
    jobj,
    jobj_or_null,
    jval,
    lit_str,
    missing_reason,
    nonempty_array,
    quarantine_rows,
    run_sql,
    ts_ms,
    unique_ids,
)

ATTRS = (
    "op", "provider", "system", "req_model", "resp_model", "max_tokens", "in_tokens", "out_tokens",
    "tool_call_id", "gen_tool_name", "tool_args", "tool_result", "agent_name", "oi_kind", "oi_tool_name",
    "input_value", "output_value", "llm_model", "oi_in", "oi_out", "llm_provider", "oi_agent_name",
    "state_changing", "triggered", "plain_tool_name", "plain_model", "plain_llm_model", "response_id",
    "tool_type", "rpc_method",
)
SPAN_KEYS = ("traceId", "trace_id", "spanId", "span_id", "parentSpanId", "parent_span_id", "parent_id", "name",
             "operationName", "kind", "spanKind", "startTimeUnixNano", "endTimeUnixNano", "start_time_unix_nano",
             "end_time_unix_nano", "start_time", "end_time", "status", "attributes", "tags")
_MODEL_OPS = ("chat", "text_completion", "generate_content", "embeddings")
_TRUE = ("true", "1", "yes")
_KINDS = {"0": "UNSPECIFIED", "1": "INTERNAL", "2": "SERVER", "3": "CLIENT", "4": "PRODUCER", "5": "CONSUMER"}


def _containers(records: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Split records into span lines and OTLP containers; flatten containers to spans.

    Returns (spans: source, line, item, span), empty containers (quarantine), and the number read.
    """
    maybe = records.get_column("raw").str.contains('"resourceSpans"', literal=True)
    is_otlp = maybe.clone()
    if maybe.any():  # only rows that mention the key pay for a parse
        probe = decode(records.filter(maybe), {"resourceSpans": "JSON"})
        is_otlp = is_otlp.scatter(maybe.arg_true(), probe.get_column("resourceSpans").is_not_null())
    lines = records.filter(~is_otlp).select("source", "line", pl.lit(None, dtype=pl.Int64).alias("item"),
                                            pl.col("raw").alias("span"), pl.lit(None, dtype=pl.String).alias("service"))
    otlp = records.filter(is_otlp).with_row_index("row_nr").with_columns(pl.col("row_nr").cast(pl.Int64))
    if otlp.height == 0:
        return lines, empty_quarantine(), lines
    flat = run_sql("otlp_spans", "records", otlp.select("row_nr", "raw"))
    joined = otlp.join(flat, on="row_nr", how="left")
    empty = joined.filter(pl.col("spans").list.len().fill_null(0) == 0)
    q = quarantine_rows(empty, pl.lit("no spans in resourceSpans"))
    spans = (joined.filter(pl.col("spans").list.len().fill_null(0) > 0)
             .select("source", "line", "spans").explode("spans")
             .with_columns((pl.int_range(pl.len()).over("source", "line") + 1).cast(pl.Int64).alias("item"))
             .select("source", "line", "item", pl.col("spans").struct.field("span"),
                     pl.col("spans").struct.field("service")))
    return pl.concat([lines, spans]), q, spans


def _span_table(spans: pl.DataFrame) -> pl.DataFrame:
    numbered = spans.with_row_index("row_nr").with_columns(pl.col("row_nr").cast(pl.Int64))
    known = json.dumps({k: None for k in SPAN_KEYS})
    out = run_sql("otel_spans", "spans", numbered.select("row_nr", "span"), {"known": known}, text_column="span")
    a = pl.col("a")
    out = out.with_columns([a.list.get(i, null_on_oob=True).alias(name) for i, name in enumerate(ATTRS)]).drop("a")
    out = out.with_columns([pl.col("content").list.get(i, null_on_oob=True).alias(name)
                            for i, name in enumerate(("args_json", "result_json", "input_json", "output_json"))])
    return numbered.rename({"span": "raw"}).join(out.drop("content"), on="row_nr", how="left")


def _int(name: str) -> pl.Expr:
    return pl.col(name).cast(pl.Float64, strict=False).cast(pl.Int64, strict=False)


def _classify(t: pl.DataFrame) -> pl.DataFrame:
    op = pl.col("op").str.to_lowercase().fill_null("")
    oik = pl.col("oi_kind").str.to_uppercase().fill_null("")
    name = pl.col("name").str.to_lowercase().fill_null("")
    is_tool = (op == "execute_tool") | (oik == "TOOL") | (
        (op == "") & (oik == "") & (name.str.starts_with("execute_tool") | name.str.starts_with("tool")))
    is_guard = ~is_tool & ((oik == "GUARDRAIL") | (name == "guardrail") | name.str.contains("policy", literal=True))
    in_tok = pl.coalesce(_int("in_tokens"), _int("oi_in"))
    out_tok = pl.coalesce(_int("out_tokens"), _int("oi_out"))
    is_model = ~is_tool & ~is_guard & (op.is_in(_MODEL_OPS) | (oik == "LLM") | in_tok.is_not_null()
                                       | out_tok.is_not_null())
    return t.with_columns(
        is_tool.fill_null(False).alias("is_tool"), is_guard.fill_null(False).alias("is_guard"),
        is_model.fill_null(False).alias("is_model"),
        in_tok.alias("in_tok"), out_tok.alias("out_tok"), _int("max_tokens").alias("max_tok"),
        pl.coalesce("req_model", "resp_model", "llm_model", "plain_model", "plain_llm_model").alias("model"),
        pl.coalesce("provider", "system", "llm_provider").alias("prov"),
        pl.coalesce("gen_tool_name", "oi_tool_name", "plain_tool_name", "rpc_method", "name").alias("tool_name"),
        pl.col("kind").replace(_KINDS).alias("kind"),
        pl.coalesce("args_json", pl.when(oik == "TOOL").then(pl.col("input_json"))).alias("args_c"),
        pl.coalesce("result_json", pl.when(oik == "TOOL").then(pl.col("output_json"))).alias("result_c"),
    )


def _gen_ai_obj() -> pl.Expr:
    return jobj_or_null(
        ("operation_name", jval(pl.col("op"))), ("provider", jval(pl.col("prov"))),
        ("request_model", jval(pl.col("model"))), ("response_id", jval(pl.col("response_id"))),
        ("tool_call_id", jval(pl.col("tool_call_id"))), ("tool_type", jval(pl.col("tool_type"))),
        ("max_tokens", jval(pl.col("max_tok"))), ("input_tokens", jval(pl.col("in_tok"))),
        ("output_tokens", jval(pl.col("out_tok"))), ("finish_reasons", jval(pl.col("finish_reasons"))),
    )


def _otel_obj() -> pl.Expr:
    return jobj_or_null(
        ("span_name", jval(pl.col("name"))), ("span_kind", jval(pl.col("kind"))),
        ("parent_span_id", jval(pl.col("parent_id"))), ("service_name", jval(pl.col("service"))),
        ("status_code", jval(pl.col("status_code"))), ("status_message", jval(pl.col("status_message"))),
        ("duration_ms", jval(pl.col("end_ms") - pl.col("start_ms"))),
    )


def _fragments(t: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, pl.DataFrame]]:
    t = t.with_columns(
        unique_ids(pl.col("span_id"), "trace_id").alias("action_id"),
        digest_json(t.get_column("result_c")).alias("result_digest"),
        digest_json(t.get_column("args_c")).alias("args_digest"),
    )
    state = pl.col("state_changing").str.to_lowercase().is_in(_TRUE).fill_null(False)
    action = jobj(
        ("action_id", jval(pl.col("action_id"))), ("tool_name", jval(pl.col("tool_name"))),
        ("state_changing", jval(state)), ("timestamp_ms", jval(pl.col("start_ms").fill_null(0.0))),
        ("precondition_digest", jval(pl.col("args_digest"))), ("result_digest", jval(pl.col("result_digest"))),
        ("evidence_refs", jval(pl.concat_list([pl.lit("otel-span/") + pl.col("span_id")]))),
        ("gen_ai", _gen_ai_obj()), ("otel", _otel_obj()),
    )
    call = jobj(
        ("span_id", jval(pl.col("span_id"))), ("timestamp_ms", jval(pl.col("start_ms"))),
        ("operation_name", jval(pl.col("op"))), ("provider", jval(pl.col("prov"))),
        ("request_model", jval(pl.col("model"))), ("max_tokens", jval(pl.col("max_tok"))),
        ("input_tokens", jval(pl.col("in_tok"))), ("output_tokens", jval(pl.col("out_tok"))),
        ("finish_reasons", jval(pl.col("finish_reasons"))), ("span_name", jval(pl.col("name"))),
    )
    triggered = pl.col("triggered").str.to_lowercase().is_in(_TRUE).fill_null(False)
    verifier = jobj(
        ("verifier_id", jval(pl.lit("guardrail/") + pl.col("name"))), ("passed", jval(~triggered)),
        ("score", jval(pl.when(triggered).then(0.0).otherwise(1.0))),
    )
    ext = ext_or_null()
    keys = ("trace_id", "start_ms", "order")
    # each fragment is built only on the rows it describes (tools, model calls, guardrails, extras)
    parts = {
        "actions": t.filter(pl.col("is_tool")).select(*keys, action.alias("f")),
        "calls": t.filter(pl.col("is_model")).select(*keys, call.alias("f")),
        "verifiers": t.filter(pl.col("is_guard")).select(*keys, verifier.alias("f")),
        "exts": t.filter(ext.is_not_null()).select(*keys, (jval(pl.col("span_id")) + pl.lit(":") + ext).alias("f")),
    }
    return t.select(*keys, "agent_name", "oi_agent_name", "prov", "model", "in_tok", "out_tok", "end_ms",
                    "finish_reasons", "is_tool"), parts


def _arrays(parts: dict[str, pl.DataFrame]) -> list[pl.DataFrame]:
    out = []
    for name, part in parts.items():
        ordered = part.sort("trace_id", pl.col("start_ms").fill_null(0.0), "order")
        if name == "exts":
            agg = pl.concat_str([pl.lit("{"), pl.col("f").str.join(","), pl.lit("}")])
        else:
            agg = jarray_agg("f")
        out.append(ordered.group_by("trace_id", maintain_order=True).agg(agg.alias(name)))
    return out


def _runs(fragments: tuple[pl.DataFrame, dict[str, pl.DataFrame]]) -> pl.DataFrame:
    t, parts = fragments
    ordered = t.sort("trace_id", pl.col("start_ms").fill_null(0.0), "order")
    agent = pl.coalesce("agent_name", "oi_agent_name")
    runs = ordered.group_by("trace_id", maintain_order=True).agg(
        pl.col("order").min().alias("first"),
        pl.col("start_ms").min().alias("created"), pl.col("end_ms").max().alias("ended"),
        pl.col("prov").drop_nulls().first().alias("prov"), pl.col("model").drop_nulls().first().alias("model"),
        agent.drop_nulls().first().alias("agent"),
        pl.col("in_tok").sum().alias("in_sum"), pl.col("out_tok").sum().alias("out_sum"),
        (pl.col("in_tok").is_not_null() | pl.col("out_tok").is_not_null()).any().alias("has_usage"),
        pl.col("finish_reasons").drop_nulls().list.explode(keep_nulls=False, empty_as_null=False).alias("reasons"),
        pl.col("is_tool").sum().alias("n_tools"),
    ).sort("first")
    for arrays in _arrays(parts):
        runs = runs.join(arrays, on="trace_id", how="left", maintain_order="left")
    runs = runs.with_columns(pl.col("actions", "calls", "verifiers").fill_null("[]"), pl.col("exts").fill_null("{}"))
    usage = jobj(("input_tokens", jval(pl.col("in_sum"))), ("output_tokens", jval(pl.col("out_sum"))))
    has_usage = pl.col("has_usage")
    record = jobj(
        ("schema_version", lit_str("aep/v0.5")),
        ("run_id", jval(pl.lit("otel/") + pl.col("trace_id"))),
        ("trace_id", jval(pl.col("trace_id"))),
        ("created_at_ms", jval(pl.col("created").fill_null(0.0))),
        ("model_provider", jval(pl.col("prov").fill_null("otel"))),
        ("model_id", jval(pl.col("model"))),
        ("run_context", pl.when(pl.col("agent").is_not_null()).then(jobj(("agent_id", jval(pl.col("agent")))))),
        ("input_refs", pl.concat_str([pl.lit('[{"uri":'), jval(pl.lit("otel/trace/") + pl.col("trace_id")),
                                      pl.lit("}]")])),
        ("actions", pl.col("actions")),
        ("verifier_results", nonempty_array(pl.col("verifiers"))),
        ("budget_ledger", jobj_or_null(
            ("token_budget", pl.when(has_usage).then(jobj(("spent", jval(pl.col("in_sum") + pl.col("out_sum")))))),
            ("latency_budget", jobj_or_null(("actual_ms", jval(ts_ms(pl.col("ended") - pl.col("created")))))),
            ("tool_budget", jobj(("spent", jval(pl.col("n_tools"))))),
        )),
        ("gen_ai_usage", pl.when(has_usage).then(usage)),
        ("gen_ai_finish_reasons", pl.when(pl.col("reasons").list.len() > 0).then(jval(pl.col("reasons")))),
        ("gen_ai_calls", nonempty_array(pl.col("calls"))),
        ("extensions", pl.when(pl.col("exts") != "{}").then(pl.col("exts"))),
    )
    return runs.select(record.alias("json"))


def import_otel(records: pl.DataFrame, fmt: str = "aep") -> ImportResult:
    """`records` (source, line, raw) → AEP runs, one per trace."""
    spans, q_containers, _ = _containers(records)
    t = _span_table(spans.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("order")))
    reason = missing_reason([("traceId", pl.col("trace_id")), ("spanId", pl.col("span_id")),
                             ("name", pl.col("name"))])
    t = t.with_columns(reason.alias("reason"), ts_ms(pl.col("start_ms")).alias("start_ms"),
                       ts_ms(pl.col("end_ms")).alias("end_ms"))
    bad = t.filter(pl.col("reason").is_not_null())
    good = t.filter(pl.col("reason").is_null())
    q = pl.concat([q_containers, quarantine_rows(bad, pl.col("reason"), item=pl.col("item"))])
    out = _runs(_fragments(_classify(good))) if good.height else pl.DataFrame(schema={"json": pl.String})
    return ImportResult(records=out, quarantine=q, read=spans.height + q_containers.height,
                        imported=good.height, kind="aep", notes={"spans": spans.height, "runs": out.height})
