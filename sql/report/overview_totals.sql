-- overview_totals: the headline counts of an evidence store, one row.
-- Inputs: sources, validation, quarantine.
-- Columns: files (ingested sources), records (records read: verdicts + quarantined lines),
--   valid, invalid (records failing a validation layer), quarantined_lines (lines that were not
--   JSON objects: quarantine rows without a validation verdict), pass_rate (valid / records; 1.0
--   when there are no records, as `engine validate` defines it).
WITH v AS (
    SELECT count(*) AS verdicts, count(*) FILTER (WHERE valid) AS valid FROM validation
), q AS (
    SELECT count(*) AS lines FROM quarantine
    WHERE record_key NOT IN (SELECT record_key FROM validation)
)
SELECT
    (SELECT count(*) FROM sources) AS files,
    v.verdicts + q.lines AS records,
    v.valid,
    v.verdicts - v.valid AS invalid,
    q.lines AS quarantined_lines,
    CASE WHEN v.verdicts + q.lines = 0 THEN 1.0 ELSE v.valid / (v.verdicts + q.lines) END AS pass_rate
FROM v, q
