-- provenance_meta: how the audit was run (engine version, options, time), key/value rows.
-- Inputs: audit_meta (written by engine audit).
-- Columns: key, value.
SELECT key, value FROM audit_meta ORDER BY key
