"""The declared schema of every table in the evidence store.

One Polars schema per table, so the DuckDB store, the Parquet lake and empty tables all
agree column for column. Every table starts with `record_key, source, line`: `record_key`
identifies one input record (an AEP record is one run row) and joins all tables that derive
from it; `source` and `line` point back at the evidence.
"""

from __future__ import annotations

import polars as pl

S = pl.String()
INT = pl.Int64()
F = pl.Float64()
B = pl.Boolean()
LS = pl.List(pl.String())

KEY: dict[str, pl.DataType] = {"record_key": INT, "source": S, "line": INT}


def _t(**cols: pl.DataType) -> dict[str, pl.DataType]:
    return {**KEY, **cols}


TABLE_SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "runs": _t(
        schema_version=S, run_id=S, trace_id=S, parent_trace_id=S, repo_commit=S, runtime_version=S,
        model_provider=S, model_id=S, policy_bundle_digest=S, tool_manifest_digest=S,
        mcp_server_card_digest=S, created_at_ms=F, recording_mode=S, side_effect_class=S,
        run_side_effect_class_max=S, user_id=S, subject_id=S, agent_id=S, agent_version=S,
        prev_record_hash=S, has_signature=B, has_dsse_envelope=B,
        n_input_refs=INT, n_output_refs=INT, n_decisions=INT, n_denials=INT, n_actions=INT, n_state_changing=INT,
        n_state_changing_evidenced=INT, n_verifiers=INT, n_verifiers_passed=INT,
        token_limit=F, token_spent=F, latency_limit_ms=F, latency_actual_ms=F, tool_limit=F, tool_spent=F,
        extras=S,  # top-level fields the contract does not declare, as a JSON object (engine.normalize.extras)
        # copied from `admission` at ingest so that run_summary is a plain scan (no 1M x 1M join)
        admission_score=F, admission_category=S,
    ),
    "actions": _t(
        run_id=S, idx=INT, action_id=S, tool_name=S, state_changing=B, timestamp_ms=F, result_digest=S,
        precondition_digest=S, parent_action_id=S, causal_chain_id=S, scope_lease_id=S,
        has_evidence=B, evidence_refs=LS, input_taint_labels=LS, output_taint_labels=LS,
    ),
    "decisions": _t(run_id=S, idx=INT, capability=S, subject=S, resource=S, decision=S, reason_code=S),
    "verifiers": _t(run_id=S, idx=INT, verifier_id=S, passed=B, score=F, claim_ids=LS),
    "input_refs": _t(run_id=S, idx=INT, uri=S, digest=S, taint_labels=LS),
    "output_refs": _t(run_id=S, idx=INT, uri=S, digest=S, redaction_profile=S),
    "rollouts": _t(
        rollout_id=S, branch_index=INT, task=S, session_id=S, temperature=F, seed=INT, final_answer=S,
        objective_score=INT, objective_status=S, rank=INT, total_score=F, build_status=S, build_exit_code=INT,
        model_id=S, provenance_source=S, n_tool_calls=INT, n_tool_errors=INT,
    ),
    "tool_calls": _t(
        rollout_id=S, branch_index=INT, idx=INT, shape=S, call_id=S, tool_name=S, arguments=S, result=S, error=S,
    ),
    "compliance": _t(
        task_id=S, task_spec_hash=S, model=S, mode=S, final_pass=B, repair_rounds=INT, n_violations=INT,
        n_hard_violations=INT, latency_ms=F, prompt_tokens=INT, generation_tokens=INT, repair_tokens=INT,
        error_kind=S, error_stage=S, error_message=S, trace_uri=S, artifact=S,
    ),
    "violations": _t(
        task_id=S, model=S, mode=S, idx=INT, constraint_id=S, level=S, category=S, hint=S, detected_at=S,
    ),
    "repairs": _t(
        task_id=S, model=S, mode=S, idx=INT, round=INT, strategy=S, ok=B, rolled_back=B, target_region=S,
        violation_ids=LS, remaining_violation_ids=LS, latency_ms=F,
    ),
    "eval_items": _t(item_id=S, correct=B, expected=S, predicted=S, gen_text=S, error=S),
    "other_records": _t(kind=S, schema_version=S, raw=S),
    "quarantine": _t(kind=S, excerpt=S, reason=S),
}

# Which record kind feeds which tables (the lake partitions every table by kind).
KIND_TABLES: dict[str, tuple[str, ...]] = {
    "aep": ("runs", "actions", "decisions", "verifiers", "input_refs", "output_refs"),
    "rollout": ("rollouts", "tool_calls"),
    "compliance": ("compliance", "violations", "repairs"),
    "eval": ("eval_items",),
}


def empty(table: str) -> pl.DataFrame:
    return pl.DataFrame(schema=TABLE_SCHEMAS[table])


def conform(frame: pl.DataFrame, table: str) -> pl.DataFrame:
    """Exactly the declared columns, in order, with the declared types."""
    schema = TABLE_SCHEMAS[table]
    return frame.select(
        [(pl.col(c) if c in frame.columns else pl.lit(None)).cast(t).alias(c) for c, t in schema.items()]
    )
