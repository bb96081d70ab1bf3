-- admission_models: admission outcome per model.
-- Inputs: admission.
-- Parameters: $top (rows returned).
-- Columns: model_id, records, admitted, rejected (category reject), admit_rate, mean_score,
--   models (all distinct models).
SELECT
    coalesce(model_id, '<unknown>') AS model_id,
    count(*) AS records,
    count(*) FILTER (WHERE admitted) AS admitted,
    count(*) FILTER (WHERE category = 'reject') AS rejected,
    count(*) FILTER (WHERE admitted) / count(*) AS admit_rate,
    avg(score) AS mean_score,
    count(*) OVER () AS models
FROM admission
GROUP BY ALL
ORDER BY records DESC, model_id
LIMIT $top
