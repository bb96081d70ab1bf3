-- coverage: standards coverage matrix (reference §3.19) over the valid AEP records: the share of
-- records carrying the evidence field each control needs. Covered >= 50%, Partial > 0, else Gap.
-- Inputs: runs, actions, input_refs.
-- Columns: control_id, control, field, records_with, records, share, status.
WITH r AS (
    SELECT
        count(*) AS n,
        count(*) FILTER (WHERE coalesce(tool_manifest_digest, '') <> '') AS manifest,
        count(*) FILTER (WHERE n_decisions > 0) AS decisions,
        count(*) FILTER (WHERE coalesce(repo_commit, '') <> '') AS commit,
        count(*) FILTER (WHERE coalesce(trace_id, '') <> '') AS trace
    FROM runs
), taint AS (
    SELECT count(DISTINCT record_key) AS k FROM input_refs WHERE len(taint_labels) > 0
), digest AS (
    SELECT count(DISTINCT record_key) AS k FROM actions WHERE coalesce(result_digest, '') <> ''
), controls AS (
    SELECT 1 AS ord, 'OWASP-MCP-01' AS control_id, 'Tool Poisoning' AS control, 'tool_manifest_digest' AS field, manifest AS k FROM r
    UNION ALL SELECT 2, 'OWASP-MCP-02', 'Scope Creep', 'capability_decisions', decisions FROM r
    UNION ALL SELECT 3, 'OWASP-MCP-03', 'Rug Pull', 'tool_manifest_digest', manifest FROM r
    UNION ALL SELECT 4, 'OWASP-MCP-05', 'Taint Passthrough', 'input_refs[*].taint_labels', k FROM taint
    UNION ALL SELECT 5, 'OWASP-MCP-07', 'Supply Chain', 'repo_commit', commit FROM r
    UNION ALL SELECT 6, 'OTel-GenAI', 'Observability Export', 'trace_id', trace FROM r
    UNION ALL SELECT 7, 'AEP-Provenance', 'Action Provenance', 'actions[*].result_digest', k FROM digest
)
SELECT
    c.control_id,
    c.control,
    c.field,
    c.k AS records_with,
    r.n AS records,
    CASE WHEN r.n = 0 THEN 0.0 ELSE c.k / r.n END AS share,
    CASE WHEN r.n > 0 AND c.k / r.n >= 0.5 THEN 'covered'
         WHEN c.k > 0 THEN 'partial'
         ELSE 'gap' END AS status
FROM controls c, r
ORDER BY c.ord
