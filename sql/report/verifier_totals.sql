-- verifier_totals: one row: verifiers audited and their findings by severity.
-- Inputs: audit_verifiers, audit_verifier_findings (written by engine audit).
-- Columns: verifiers, results, critical, high, medium, low, min_strength.
SELECT
    (SELECT count(*) FROM audit_verifiers) AS verifiers,
    (SELECT coalesce(sum(total_results), 0) FROM audit_verifiers) AS results,
    count(*) FILTER (WHERE severity = 'critical') AS critical,
    count(*) FILTER (WHERE severity = 'high') AS high,
    count(*) FILTER (WHERE severity = 'medium') AS medium,
    count(*) FILTER (WHERE severity = 'low') AS low,
    (SELECT min(strength_score) FROM audit_verifiers) AS min_strength
FROM audit_verifier_findings
