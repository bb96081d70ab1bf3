-- Purpose: per model, how many (model, item_id) rows of a long table count and why the others do not.
-- Input: table long_clean (from sql/stats/long_clean.sql).
-- Output columns: model VARCHAR, status VARCHAR, items BIGINT (distinct item ids), rows BIGINT; ordered.
SELECT model, status, count(*) AS items, sum(n_rows) AS rows
FROM long_clean
GROUP BY model, status
ORDER BY model, status
