-- admission_categories: how many scored AEP records landed in each training category.
-- Inputs: admission.
-- Columns: category, records, share (of all scored records), mean_score.
SELECT
    category,
    count(*) AS records,
    count(*) / sum(count(*)) OVER () AS share,
    avg(score) AS mean_score
FROM admission
GROUP BY category
ORDER BY records DESC, category
