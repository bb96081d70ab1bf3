"""AEP records → runs, actions, decisions, verifiers, input_refs, output_refs."""

from __future__ import annotations

import polars as pl

from engine.normalize.common import KEYS, count_items, explode_items, list_len, truthy
from engine.normalize.decode import JSON, Spec
from engine.normalize.tables import conform

S, F, B = pl.String(), pl.Float64(), pl.Boolean()
LS = pl.List(pl.String())

_TOP_STRINGS = (
    "schema_version", "run_id", "trace_id", "parent_trace_id", "repo_commit", "runtime_version",
    "model_provider", "model_id", "policy_bundle_digest", "tool_manifest_digest", "mcp_server_card_digest",
    "recording_mode", "side_effect_class", "run_side_effect_class_max", "user_id", "subject_id",
    "prev_record_hash",
)

AEP_SPEC: dict[str, Spec] = {
    **{name: S for name in _TOP_STRINGS},
    "created_at_ms": F,
    "run_context": {"agent_id": S, "agent_version": S},
    "signature": JSON,
    "dsse_envelope": JSON,
    "input_refs": [{"uri": S, "digest": S, "taint_labels": LS}],
    "output_refs": [{"uri": S, "digest": S, "redaction_profile": S}],
    "capability_decisions": [
        {"capability": S, "subject": S, "resource": S, "decision": S, "reason_code": S}
    ],
    "actions": [{
        "action_id": S, "tool_name": S, "state_changing": B, "timestamp_ms": F, "result_digest": S,
        "precondition_digest": S, "parent_action_id": S, "causal_chain_id": S, "scope_lease_id": S,
        "evidence_refs": LS, "input_taint_labels": LS, "output_taint_labels": LS,
    }],
    "verifier_results": [{"verifier_id": S, "passed": B, "score": F, "claim_ids": LS}],
    "budget_ledger": {
        "token_budget": {"limit": F, "spent": F},
        "latency_budget": {"limit_ms": F, "actual_ms": F},
        "tool_budget": {"limit": F, "spent": F},
    },
}


def _evidenced(el: pl.Expr) -> pl.Expr:
    # Admission's definition of evidence (reference §3.3): a truthy result or precondition digest.
    def present(name: str) -> pl.Expr:
        v = el.struct.field(name)
        return v.is_not_null() & (v != "")

    return el.struct.field("state_changing").fill_null(False) & (present("result_digest") | present("precondition_digest"))


def runs_table(d: pl.DataFrame) -> pl.DataFrame:
    el = pl.element()
    ledger = pl.col("budget_ledger")
    return conform(d.with_columns(
        pl.col("run_context").struct.field("agent_id").alias("agent_id"),
        pl.col("run_context").struct.field("agent_version").alias("agent_version"),
        pl.col("signature").is_not_null().alias("has_signature"),
        pl.col("dsse_envelope").is_not_null().alias("has_dsse_envelope"),
        list_len("input_refs").alias("n_input_refs"),
        list_len("output_refs").alias("n_output_refs"),
        list_len("capability_decisions").alias("n_decisions"),
        count_items("capability_decisions", el.struct.field("decision") == "deny").alias("n_denials"),
        list_len("actions").alias("n_actions"),
        count_items("actions", el.struct.field("state_changing").fill_null(False)).alias("n_state_changing"),
        count_items("actions", _evidenced(el)).alias("n_state_changing_evidenced"),
        list_len("verifier_results").alias("n_verifiers"),
        count_items("verifier_results", el.struct.field("passed").fill_null(False)).alias("n_verifiers_passed"),
        ledger.struct.field("token_budget").struct.field("limit").alias("token_limit"),
        ledger.struct.field("token_budget").struct.field("spent").alias("token_spent"),
        ledger.struct.field("latency_budget").struct.field("limit_ms").alias("latency_limit_ms"),
        ledger.struct.field("latency_budget").struct.field("actual_ms").alias("latency_actual_ms"),
        ledger.struct.field("tool_budget").struct.field("limit").alias("tool_limit"),
        ledger.struct.field("tool_budget").struct.field("spent").alias("tool_spent"),
    ), "runs")


def aep_tables(d: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """`d`: the key columns plus the decoded AEP_SPEC fields, one row per AEP record."""
    carry = [*KEYS, "run_id"]
    actions = explode_items(d, "actions", carry).with_columns(
        (truthy("result_digest") | truthy("precondition_digest")).alias("has_evidence")
    )
    return {
        "runs": runs_table(d),
        "actions": conform(actions, "actions"),
        "decisions": conform(explode_items(d, "capability_decisions", carry), "decisions"),
        "verifiers": conform(explode_items(d, "verifier_results", carry), "verifiers"),
        "input_refs": conform(explode_items(d, "input_refs", carry), "input_refs"),
        "output_refs": conform(explode_items(d, "output_refs", carry), "output_refs"),
    }
