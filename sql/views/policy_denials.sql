-- policy_denials: capability decisions per model and capability, with how many were denied.
-- Inputs: decisions, runs (model_id).
-- Columns: model_id, capability, decisions, denials, ask_user, deny_rate (denials / decisions),
--   runs_with_denial (distinct AEP records with at least one denial of this capability).
SELECT
    r.model_id,
    d.capability,
    count(*) AS decisions,
    count(*) FILTER (WHERE d.decision = 'deny') AS denials,
    count(*) FILTER (WHERE d.decision = 'ask_user') AS ask_user,
    count(*) FILTER (WHERE d.decision = 'deny') / count(*) AS deny_rate,
    count(DISTINCT d.record_key) FILTER (WHERE d.decision = 'deny') AS runs_with_denial
FROM decisions d
JOIN runs r ON r.record_key = d.record_key
GROUP BY ALL
