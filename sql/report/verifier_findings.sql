-- verifier_findings: the verifier audit's findings, most severe first.
-- Inputs: audit_verifier_findings (written by engine audit).
-- Parameters: $top (rows returned).
-- Columns: verifier_id, severity, check_id, description, total (all findings).
SELECT
    verifier_id, severity, check_id, description,
    count(*) OVER () AS total
FROM audit_verifier_findings
ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END,
         verifier_id, check_id
LIMIT $top
