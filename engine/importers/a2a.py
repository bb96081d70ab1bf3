"""A2A (Agent2Agent protocol) tasks → AEP (one record per task).

Accepts the protocol's Task object (`id`, `contextId`, `status{state, timestamp}`, `history[
Message{messageId, role user|agent, parts[{kind: text, text} | {kind: data, data} | {kind: file,
file}]}]`, `artifacts[{artifactId, name, parts}]`, `metadata`) and the flat shape of reference §4.5
(`task_id`, `session_id`, `messages[{message_id, role, content, agent_name, timestamp}]`,
`artifacts[{artifact_id, name, content_type, uri}]`, `status`, `model_id`). Required: a task id.

run_id `a2a/<task>`, trace_id = context / session, provider `a2a`. Agent messages → actions
(tool `a2a_message`, state_changing false, result_digest of the message parts / content);
artifacts → output_refs (uri, else `a2a-artifact/<id>`; digest of the parts when present; no
null redaction_profile); no artifacts → one output_ref for the session; verifier
`a2a-task-completion` (passed = state completed).
"""

from __future__ import annotations

import polars as pl

from engine.importers.common import ImportResult, digest_json, jobj, jval, missing_reason, quarantine_rows
from engine.importers.grouped import iso_ms
from engine.importers.tabular import (
    aep_record,
    decode_required,
    explode,
    one_array,
    per_row,
    ref,
    step_ids,
    verifier,
)

_MSG = {"message_id": "VARCHAR", "messageId": "VARCHAR", "role": "VARCHAR", "content": "JSON", "parts": "JSON",
        "agent_name": "VARCHAR", "timestamp": "VARCHAR"}
STRUCTURE = {
    "task_id": "VARCHAR", "id": "VARCHAR", "session_id": "VARCHAR", "contextId": "VARCHAR", "kind": "VARCHAR",
    "status": "JSON", "model_id": "VARCHAR", "messages": [_MSG], "history": [_MSG],
    "artifacts": [{"artifact_id": "VARCHAR", "artifactId": "VARCHAR", "name": "VARCHAR", "content_type": "VARCHAR",
                   "uri": "VARCHAR", "parts": "JSON"}],
    "metadata": "JSON",
}


def import_a2a(records: pl.DataFrame, fmt: str = "aep") -> ImportResult:
    frame, _ = decode_required(records, STRUCTURE, ())
    frame = frame.with_columns(pl.coalesce("task_id", "id").alias("tid"))
    frame = frame.with_columns(missing_reason([("task_id", pl.col("tid"))]).alias("__r"))
    q = quarantine_rows(frame.filter(pl.col("__r").is_not_null()), pl.col("__r"))
    good = frame.filter(pl.col("__r").is_null())
    status = pl.col("status")
    state = pl.coalesce(pl.when(status.str.starts_with('"')).then(status.str.strip_chars('"')),
                        status.str.json_path_match("$.state")).fill_null("completed").str.to_lowercase()
    session = pl.coalesce("session_id", "contextId", "tid")
    good = good.with_columns(state.alias("state"), session.alias("sess"),
                             pl.when(pl.col("messages").list.len().fill_null(0) > 0).then(pl.col("messages"))
                             .otherwise(pl.col("history")).alias("msgs"))
    msgs = explode(good, "msgs")
    if msgs.height:
        msgs = msgs.with_columns(pl.coalesce("parts", "content").alias("body"), iso_ms(pl.col("timestamp")).alias("ts"))
        msgs = msgs.with_columns(digest_json(msgs["body"]).alias("rd"))
        is_agent = pl.col("role").str.to_lowercase().is_in(["agent", "assistant"]).fill_null(False)
        msgs = msgs.with_columns(pl.when(is_agent).then(jobj(
            ("action_id", jval(step_ids(pl.coalesce("message_id", "messageId", pl.format("msg-{}", pl.col("idx")))))),
            ("tool_name", pl.lit('"a2a_message"')), ("state_changing", pl.lit("false")),
            ("timestamp_ms", jval(pl.coalesce(pl.col("ts"), pl.col("idx").cast(pl.Float64)))),
            ("result_digest", jval(pl.col("rd"))), ("agent_name", jval(pl.col("agent_name"))))).alias("f"))
        first = msgs.group_by("row_nr").agg(pl.col("ts").min().alias("created"))
        good = good.join(first, on="row_nr", how="left")
    else:
        good = good.with_columns(pl.lit(None, dtype=pl.Float64).alias("created"))
    arts = explode(good, "artifacts")
    if arts.height:
        arts = arts.with_columns(digest_json(arts["parts"]).alias("ad"))
        arts = arts.with_columns(ref(pl.coalesce("uri", pl.lit("a2a-artifact/") + pl.coalesce(
            "artifact_id", "artifactId", pl.col("idx").cast(pl.String))), pl.col("ad")).alias("f"))
    good = per_row(per_row(good, msgs, "f", "actions"), arts, "f", "outs")
    outs = pl.when(pl.col("outs") == "[]").then(one_array(jobj(("uri", jval(pl.lit("a2a-session/") + pl.col("sess"))))))
    out = good.select(aep_record(
        run_id=pl.lit("a2a/") + pl.col("tid"), provider="a2a", model_id=pl.col("model_id").fill_null("unknown"),
        created_at_ms=pl.col("created"), trace_id=pl.col("sess"),
        input_refs=one_array(jobj(("uri", jval(pl.lit("a2a/task/") + pl.col("tid"))))),
        output_refs=pl.coalesce(outs, pl.col("outs")), actions=pl.col("actions"),
        verifiers=one_array(verifier(pl.lit("a2a-task-completion"), pl.col("state") == "completed")),
        extra=[("a2a_state", jval(pl.col("state"))),
               ("a2a_metadata", pl.when(pl.col("metadata").str.starts_with("{")).then(pl.col("metadata")))],
    ).alias("json"))
    return ImportResult(records=out, quarantine=q, read=records.height, imported=out.height, kind="aep")
