-- trust_grades: how many trust-score groups (trace_id, else run_id) got each grade.
-- Inputs: audit_trust (written by engine audit from engine.trust).
-- Columns: grade, groups, records (AEP records in those groups), mean_overall.
SELECT
    coalesce(grade, '<none>') AS grade,
    count(*) AS groups,
    sum(records) AS records,
    avg(overall) AS mean_overall
FROM audit_trust
GROUP BY ALL
ORDER BY grade
