-- provenance_sources: every input file with its content digest (xxh3-128) and record counts.
-- Inputs: sources.
-- Parameters: $top (rows returned).
-- Columns: source, digest, ingested_at, n_records, n_stored, n_quarantined, files (all).
SELECT source, digest, ingested_at, n_records, n_stored, n_quarantined, count(*) OVER () AS files
FROM sources
ORDER BY source
LIMIT $top
