-- overview_versions: schema versions seen, per kind (AEP from every scored record, valid or not;
-- other kinds from the records the store keeps whole).
-- Inputs: admission, other_records.
-- Columns: kind, schema_version, records.
SELECT 'aep' AS kind, coalesce(schema_version, '<missing>') AS schema_version, count(*) AS records
FROM admission
GROUP BY ALL
UNION ALL
SELECT kind, coalesce(schema_version, '<missing>') AS schema_version, count(*) AS records
FROM other_records
GROUP BY ALL
ORDER BY kind, records DESC, schema_version
