-- overview_quarantine: the first lines that were not JSON objects (quarantined by the reader).
-- Inputs: quarantine, validation (records with a verdict were readable; they are not listed here).
-- Parameters: $top (rows returned).
-- Columns: source, line, reason, excerpt (first 120 characters), total (all such lines).
SELECT
    source,
    line,
    reason,
    left(excerpt, 120) AS excerpt,
    count(*) OVER () AS total
FROM quarantine
WHERE record_key NOT IN (SELECT record_key FROM validation)
ORDER BY source, line
LIMIT $top
