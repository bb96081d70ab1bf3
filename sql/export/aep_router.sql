-- Purpose: the AEP fields the router bridge needs (reference §3.14), one JSON parse per record.
-- Inputs: table `records(rid BIGINT, raw VARCHAR)`.
-- Output columns: rid, run_id, n_actions, n_valid (state-changing actions without `error`),
--   n_failed_verifiers, n_deny (capability decisions with decision = 'deny').
select
    rid,
    j.run_id,
    len(coalesce(j.actions, [])) as n_actions,
    len(list_filter(coalesce(j.actions, []), lambda a: coalesce(a.state_changing, false) and a.error is null))
        as n_valid,
    len(list_filter(coalesce(j.verifier_results, []), lambda v: v.passed = false)) as n_failed_verifiers,
    len(list_filter(coalesce(j.capability_decisions, []), lambda d: d.decision = 'deny')) as n_deny
from (
    select
        rid,
        try(json_transform(raw, '{
            "run_id": "VARCHAR",
            "actions": [{"state_changing": "BOOLEAN", "error": "JSON"}],
            "verifier_results": [{"passed": "BOOLEAN"}],
            "capability_decisions": [{"decision": "VARCHAR"}]
        }')) as j
    from records
)
