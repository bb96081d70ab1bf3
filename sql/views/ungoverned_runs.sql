-- ungoverned_runs: AEP records that changed state without any capability decision
-- ("which runs wrote files without a capability decision?").
-- Inputs: runs, actions.
-- Columns: record_key, source, line, run_id, model_id, n_state_changing, state_changing_tools
--   (sorted distinct tool names of the state-changing actions).
SELECT
    r.record_key,
    r.source,
    r.line,
    r.run_id,
    r.model_id,
    r.n_state_changing,
    list_sort(list_distinct(list(a.tool_name))) AS state_changing_tools
FROM runs r
JOIN actions a ON a.record_key = r.record_key AND a.state_changing
WHERE r.n_decisions = 0
GROUP BY ALL
