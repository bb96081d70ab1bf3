-- Purpose: decode, in one JSON parse per record, the AEP fields that admission, trust score and
--   verifier audit read, plus the Python truthiness of the extra top-level `_dpo_pair_id` field
--   (reference §3.3: a truthy `_dpo_pair_id` routes an admitted record to train_dpo).
--   from_json is lenient (a value of the wrong type becomes NULL or is cast); that only affects
--   structurally invalid records, which are never scored.
-- Input table: records(row_nr BIGINT, raw VARCHAR)
-- Output columns: row_nr BIGINT, aep STRUCT(schema_version, run_id, trace_id, repo_commit, model_id,
--   tool_manifest_digest, recording_mode, created_at_ms, actions[], capability_decisions[],
--   verifier_results[], budget_ledger), dpo_pair BOOLEAN
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
    }') as aep,
    case
        when not contains(raw, '"_dpo_pair_id"') then false
        else coalesce(case json_type(raw, '$._dpo_pair_id')
            when 'VARCHAR' then length(json_extract_string(raw, '$._dpo_pair_id')) > 0
            when 'BOOLEAN' then json_extract_string(raw, '$._dpo_pair_id') = 'true'
            when 'ARRAY' then json_array_length(raw, '$._dpo_pair_id') > 0
            when 'OBJECT' then len(json_keys(raw, '$._dpo_pair_id')) > 0
            when 'NULL' then false
            else try_cast(json_extract_string(raw, '$._dpo_pair_id') as double) <> 0
        end, false)
    end as dpo_pair
from records
