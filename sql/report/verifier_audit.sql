-- verifier_audit: one row per verifier audited by `engine audit` (reference §3.13 checks).
-- Inputs: audit_verifiers (written by engine audit from engine.verifier_audit).
-- Parameters: $top (rows returned).
-- Columns: verifier_id, total_results, pass_rate, strength_score, critical_count, high_count,
--   findings (number of findings), verifiers (all audited verifiers).
SELECT
    verifier_id, total_results, pass_rate, strength_score, critical_count, high_count, findings,
    count(*) OVER () AS verifiers
FROM audit_verifiers
ORDER BY strength_score, total_results DESC, verifier_id
LIMIT $top
