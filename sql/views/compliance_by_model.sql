-- compliance_by_model: compliance outcomes per model and run mode.
-- Inputs: compliance.
-- Columns: model, mode, runs, passed (final_pass), pass_rate, mean_repair_rounds,
--   mean_violations (initial violations per run), errors (runs with an infrastructure error),
--   mean_latency_ms.
SELECT
    model,
    mode,
    count(*) AS runs,
    count(*) FILTER (WHERE final_pass) AS passed,
    count(*) FILTER (WHERE final_pass) / count(*) AS pass_rate,
    avg(repair_rounds) AS mean_repair_rounds,
    avg(n_violations) AS mean_violations,
    count(error_kind) AS errors,
    avg(latency_ms) AS mean_latency_ms
FROM compliance
GROUP BY ALL
