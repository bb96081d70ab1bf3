-- verifier_models: verifier pass rate per model over every verifier result of valid AEP records.
-- Inputs: verifiers, runs (model_id).
-- Parameters: $top (rows returned).
-- Columns: model_id, results, passed, pass_rate (passed / results; a missing `passed` counts as
--   not passed), models (all distinct models).
SELECT
    coalesce(r.model_id, '<unknown>') AS model_id,
    count(*) AS results,
    count(*) FILTER (WHERE v.passed) AS passed,
    count(*) FILTER (WHERE v.passed) / count(*) AS pass_rate,
    count(*) OVER () AS models
FROM verifiers v
JOIN runs r ON r.record_key = v.record_key
GROUP BY ALL
ORDER BY results DESC, model_id
LIMIT $top
