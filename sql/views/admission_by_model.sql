-- admission_by_model: admission categories per model, every scored AEP record included
-- (records that failed validation are scored too, as `reject`, though they are not in `runs`).
-- Inputs: admission.
-- Columns: model_id, category, records, share (records / all scored records of the model),
--   mean_score, min_score, max_score.
SELECT
    model_id,
    category,
    count(*) AS records,
    count(*) / sum(count(*)) OVER (PARTITION BY model_id) AS share,
    avg(score) AS mean_score,
    min(score) AS min_score,
    max(score) AS max_score
FROM admission
GROUP BY model_id, category
