-- tool_models: tool calls and tool error rates per model (AEP actions record no errors, so
-- their error columns are NULL; rollout tool calls do).
-- Inputs: tool_usage view (actions + runs, tool_calls + rollouts).
-- Parameters: $top (rows returned).
-- Columns: origin, model_id, calls, tools (distinct tool names), errors, error_rate, rows_total.
SELECT
    origin,
    coalesce(model_id, '<unknown>') AS model_id,
    sum(calls) AS calls,
    count(DISTINCT tool_name) AS tools,
    sum(errors) AS errors,
    sum(errors) / sum(calls) AS error_rate,
    count(*) OVER () AS rows_total
FROM tool_usage
GROUP BY ALL
ORDER BY origin, calls DESC, model_id
LIMIT $top
