-- validation_errors: the most frequent first errors of invalid records (array indices folded to
-- [*] so one rule at one path counts once).
-- Inputs: validation (`error` = the record's first error, "layer path: message").
-- Parameters: $top (rows returned).
-- Columns: layer, error ("path: message"), records, distinct_errors (all distinct errors), invalid_records (all).
WITH e AS (
    SELECT regexp_replace(error, '\[\d+\]', '[*]', 'g') AS error
    FROM validation
    WHERE NOT valid AND error IS NOT NULL
)
SELECT
    split_part(error, ' ', 1) AS layer,
    substr(error, length(split_part(error, ' ', 1)) + 2) AS error,
    count(*) AS records,
    count(*) OVER () AS distinct_errors,
    sum(count(*)) OVER () AS invalid_records
FROM e
GROUP BY ALL
ORDER BY records DESC, error
LIMIT $top
