-- Purpose: one row per (model, item_id) of a long correctness table, with why a row does not count.
-- Input: view long_input(model VARCHAR, item_id VARCHAR, correct_raw VARCHAR) (built by engine.stats.many_pairs
--   from the user's table and column names).
-- Output columns: model VARCHAR, item_id VARCHAR, correct BOOLEAN (NULL unless status = 'ok'),
--   status VARCHAR in ('ok', 'missing_id', 'missing_correct', 'non_boolean_correct', 'duplicate_id'),
--   n_rows BIGINT. Rows without a model or item id are kept (grouped under NULL) so they are counted.
-- Rules match the two-file reader: only true/false/1/0 count as booleans (DuckDB's own cast would read
-- 'yes' or 2 as true); a (model, item_id) seen more than once is ambiguous and excluded.
SELECT
    model,
    item_id,
    CASE WHEN count(*) = 1 AND model IS NOT NULL AND item_id IS NOT NULL THEN any_value(flag) END AS correct,
    CASE
        WHEN model IS NULL OR item_id IS NULL THEN 'missing_id'
        WHEN count(*) > 1 THEN 'duplicate_id'
        WHEN any_value(raw) IS NULL THEN 'missing_correct'
        WHEN any_value(flag) IS NULL THEN 'non_boolean_correct'
        ELSE 'ok'
    END AS status,
    count(*) AS n_rows
FROM (
    SELECT
        model,
        item_id,
        correct_raw AS raw,
        CASE
            WHEN lower(trim(correct_raw)) IN ('true', '1', '1.0') THEN TRUE
            WHEN lower(trim(correct_raw)) IN ('false', '0', '0.0') THEN FALSE
        END AS flag
    FROM long_input
) AS typed
GROUP BY model, item_id
