-- run_summary: one row per AEP record (a run) with its headline evidence figures.
-- Inputs: runs (admission score and category are copied into runs at ingest, so this is a scan).
-- Columns: record_key, source, line, run_id, schema_version, model_provider, model_id, created_at_ms,
--   n_actions, n_state_changing, evidence_completeness (state-changing actions with a result or
--   precondition digest / state-changing actions; 1.0 when there are none, as admission defines it),
--   n_decisions, n_denials, n_verifiers, n_verifiers_passed, verifier_pass_rate (NULL without
--   verifiers), admission_score, admission_category (NULL until admission ran).
SELECT
    r.record_key,
    r.source,
    r.line,
    r.run_id,
    r.schema_version,
    r.model_provider,
    r.model_id,
    r.created_at_ms,
    r.n_actions,
    r.n_state_changing,
    CASE WHEN r.n_state_changing = 0 THEN 1.0
         ELSE r.n_state_changing_evidenced / r.n_state_changing END AS evidence_completeness,
    r.n_decisions,
    r.n_denials,
    r.n_verifiers,
    r.n_verifiers_passed,
    CASE WHEN r.n_verifiers = 0 THEN NULL
         ELSE r.n_verifiers_passed / r.n_verifiers END AS verifier_pass_rate,
    r.admission_score,
    r.admission_category
FROM runs r
