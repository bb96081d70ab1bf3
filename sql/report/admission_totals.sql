-- admission_totals: one row of admission figures over every scored AEP record.
-- Inputs: admission.
-- Columns: scored, admitted, rejected (category reject), mean_score, median_score.
SELECT
    count(*) AS scored,
    count(*) FILTER (WHERE admitted) AS admitted,
    count(*) FILTER (WHERE category = 'reject') AS rejected,
    avg(score) AS mean_score,
    median(score) AS median_score
FROM admission
