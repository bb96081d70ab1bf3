-- tool_top: the most called tools over every model.
-- Inputs: tool_usage view.
-- Parameters: $top (rows returned).
-- Columns: origin, tool_name, calls, models, errors, error_rate, tools (all distinct tools).
SELECT
    origin,
    coalesce(tool_name, '<unnamed>') AS tool_name,
    sum(calls) AS calls,
    count(DISTINCT model_id) AS models,
    sum(errors) AS errors,
    sum(errors) / sum(calls) AS error_rate,
    count(*) OVER () AS tools
FROM tool_usage
GROUP BY ALL
ORDER BY calls DESC, origin, tool_name
LIMIT $top
