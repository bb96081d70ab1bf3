-- tool_usage: calls per tool and model, from AEP actions and rollout tool calls together.
-- Inputs: actions + runs (model_id), tool_calls + rollouts (model_id from provenance).
-- Columns: origin ('aep' | 'rollout'), tool_name, model_id, calls, state_changing (AEP actions
--   flagged state-changing; NULL for rollouts), errors (rollout calls with an error; NULL for AEP,
--   whose actions record no error), error_rate (errors / calls; NULL for AEP).
SELECT
    'aep' AS origin,
    a.tool_name,
    r.model_id,
    count(*) AS calls,
    count(*) FILTER (WHERE a.state_changing) AS state_changing,
    CAST(NULL AS BIGINT) AS errors,
    CAST(NULL AS DOUBLE) AS error_rate
FROM actions a
JOIN runs r ON r.record_key = a.record_key
GROUP BY ALL
UNION ALL
SELECT
    'rollout' AS origin,
    t.tool_name,
    o.model_id,
    count(*) AS calls,
    CAST(NULL AS BIGINT) AS state_changing,
    count(t.error) AS errors,
    count(t.error) / count(*) AS error_rate
FROM tool_calls t
JOIN rollouts o ON o.record_key = t.record_key
GROUP BY ALL
