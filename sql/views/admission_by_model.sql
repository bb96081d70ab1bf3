-- admission_by_model: admission categories per model.
-- Inputs: admission, runs (model_id).
-- Columns: model_id, category, records, share (records / all admitted-or-not records of the
--   model), mean_score, min_score, max_score.
SELECT
    r.model_id,
    a.category,
    count(*) AS records,
    count(*) / sum(count(*)) OVER (PARTITION BY r.model_id) AS share,
    avg(a.score) AS mean_score,
    min(a.score) AS min_score,
    max(a.score) AS max_score
FROM admission a
JOIN runs r ON r.record_key = a.record_key
GROUP BY r.model_id, a.category
