-- overview_kinds: records per record kind with their validation outcome.
-- Inputs: validation.
-- Columns: kind, records, valid, invalid, pass_rate (valid / records).
SELECT
    kind,
    count(*) AS records,
    count(*) FILTER (WHERE valid) AS valid,
    count(*) FILTER (WHERE NOT valid) AS invalid,
    count(*) FILTER (WHERE valid) / count(*) AS pass_rate
FROM validation
GROUP BY kind
ORDER BY records DESC, kind
