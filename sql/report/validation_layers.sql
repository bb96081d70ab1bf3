-- validation_layers: verdicts per validation layer (structural, semantic, authenticity, chain).
-- Layers whose verdicts are all not-checked are left out (ingest fills structural and semantic;
-- engine audit reports authenticity and chain from its own pass, see authenticity.sql).
-- Inputs: validation.
-- Columns: layer, valid (verdict valid / intact / dsse-valid / ...: anything not failing or
--   unchecked), invalid (verdict invalid or broken), not_checked, records.
WITH long AS (
    UNPIVOT (SELECT structural, semantic, authenticity, chain FROM validation)
    ON structural, semantic, authenticity, chain INTO NAME layer VALUE verdict
)
SELECT
    layer,
    count(*) FILTER (WHERE verdict NOT IN ('invalid', 'broken', 'not-checked')) AS valid,
    count(*) FILTER (WHERE verdict IN ('invalid', 'broken')) AS invalid,
    count(*) FILTER (WHERE verdict = 'not-checked') AS not_checked,
    count(*) AS records
FROM long
GROUP BY layer
HAVING count(*) FILTER (WHERE verdict <> 'not-checked') > 0  -- layers that ran
ORDER BY CASE layer WHEN 'structural' THEN 1 WHEN 'semantic' THEN 2 WHEN 'authenticity' THEN 3 ELSE 4 END
