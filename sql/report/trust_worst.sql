-- trust_worst: the lowest-scoring trust groups (no overall score sorts first: nothing to trust).
-- Inputs: audit_trust.
-- Parameters: $top (rows returned).
-- Columns: group_key, records, overall, grade, known_dimensions, evidence_completeness,
--   policy_compliance, verifier_agreement, budget_compliance, calibrated_label, groups (all).
SELECT
    group_key, records, overall, grade, known_dimensions, evidence_completeness, policy_compliance,
    verifier_agreement, budget_compliance, calibrated_label,
    count(*) OVER () AS groups
FROM audit_trust
ORDER BY overall ASC NULLS FIRST, group_key
LIMIT $top
