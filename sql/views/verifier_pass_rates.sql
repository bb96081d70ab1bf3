-- verifier_pass_rates: how often each verifier passes, per model.
-- Inputs: verifiers, runs (model_id).
-- Columns: verifier_id, model_id, results, passed, pass_rate (passed / results; a missing
--   `passed` counts as not passed), n_scored (results with a score), mean_score (over scored results).
SELECT
    v.verifier_id,
    r.model_id,
    count(*) AS results,
    count(*) FILTER (WHERE v.passed) AS passed,
    count(*) FILTER (WHERE v.passed) / count(*) AS pass_rate,
    count(v.score) AS n_scored,
    avg(v.score) AS mean_score
FROM verifiers v
JOIN runs r ON r.record_key = v.record_key
GROUP BY ALL
