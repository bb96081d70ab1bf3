-- authenticity: signature and hash-chain verdict counts (engine audit runs them when records are
-- signed or chained, or keys are given), next to what the valid AEP records carry.
-- Inputs: audit_layers (layer, verdict, records), runs.
-- Columns: layer, verdict, records.
SELECT layer, verdict, records FROM audit_layers
UNION ALL
SELECT 'carried', 'dsse_envelope', count(*) FILTER (WHERE has_dsse_envelope) FROM runs
UNION ALL
SELECT 'carried', 'legacy_signature', count(*) FILTER (WHERE has_signature) FROM runs
UNION ALL
SELECT 'carried', 'prev_record_hash', count(*) FILTER (WHERE coalesce(prev_record_hash, '') <> '') FROM runs
ORDER BY layer, verdict
