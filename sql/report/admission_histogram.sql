-- admission_histogram: Evidence Admission Scores in 20 bins of width 0.05 (a score of 1.0 falls
-- in the last bin).
-- Inputs: admission.
-- Columns: bin (0..19), lo, hi, records.
WITH bins AS (SELECT range AS bin FROM range(20)),
scored AS (
    SELECT least(CAST(floor(score * 20) AS BIGINT), 19) AS bin FROM admission WHERE score IS NOT NULL
)
SELECT
    b.bin,
    b.bin / 20 AS lo,
    (b.bin + 1) / 20 AS hi,
    count(s.bin) AS records
FROM bins b
LEFT JOIN scored s ON s.bin = b.bin
GROUP BY b.bin
ORDER BY b.bin
