-- Purpose: decode, in one JSON parse per record, the AEP fields that admission, trust score and
--   verifier audit read (used for records the typed reader could not read and for in-memory
--   frames). from_json is lenient (a value of the wrong type becomes NULL or is cast); that only
--   affects structurally invalid records, which are never scored.
-- Input table: records(row_nr BIGINT, raw VARCHAR)
-- Output columns: row_nr BIGINT, aep STRUCT(schema_version, run_id, trace_id, repo_commit, model_id,
--   tool_manifest_digest, recording_mode, created_at_ms, actions[], capability_decisions[],
--   verifier_results[], budget_ledger)
select
    row_nr,
    from_json(raw, '{
        "schema_version": "VARCHAR", "run_id": "VARCHAR", "trace_id": "VARCHAR",
        "repo_commit": "VARCHAR", "model_id": "VARCHAR", "tool_manifest_digest": "VARCHAR",
        "recording_mode": "VARCHAR", "created_at_ms": "DOUBLE",
        "actions": [{"state_changing": "BOOLEAN", "result_digest": "VARCHAR",
                     "precondition_digest": "VARCHAR", "evidence_refs": ["VARCHAR"]}],
        "capability_decisions": [{"decision": "VARCHAR"}],
        "verifier_results": [{"verifier_id": "VARCHAR", "passed": "BOOLEAN", "score": "DOUBLE",
                              "claim_ids": ["VARCHAR"]}],
        "budget_ledger": {"token_budget": {"limit": "DOUBLE", "spent": "DOUBLE"},
                          "tool_budget": {"limit": "DOUBLE", "spent": "DOUBLE"},
                          "retry_budget": {"limit": "DOUBLE", "spent": "DOUBLE"}}
    }') as aep
from records
