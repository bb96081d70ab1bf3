-- rollout_outcomes: per task, how many branches were sampled and how often they pass.
-- Inputs: rollouts.
-- Columns: task, rollouts (distinct rollout_id), branches (n), passed (c: objective_score = 1),
--   unknown (objective_status = 'unknown'), pass_at_1 (c / n), pass_at_5, pass_at_10.
-- pass@k is the unbiased estimator 1 - C(n-c, k) / C(n, k) (Chen et al. 2021), computed through
-- log-gamma so a large n cannot overflow; it is 1 when n - c < k and NULL when n < k.
WITH per_task AS (
    SELECT
        task,
        count(DISTINCT rollout_id) AS rollouts,
        count(*) AS n,
        count(*) FILTER (WHERE objective_score >= 1) AS c,
        count(*) FILTER (WHERE objective_status = 'unknown') AS unknown
    FROM rollouts
    GROUP BY task
)
SELECT
    task,
    rollouts,
    n AS branches,
    c AS passed,
    unknown,
    c / n AS pass_at_1,
    CASE WHEN n < 5 THEN NULL
         WHEN n - c < 5 THEN 1.0
         ELSE 1.0 - exp(lgamma(n - c + 1) - lgamma(n - c - 4) - lgamma(n + 1) + lgamma(n - 4))
    END AS pass_at_5,
    CASE WHEN n < 10 THEN NULL
         WHEN n - c < 10 THEN 1.0
         ELSE 1.0 - exp(lgamma(n - c + 1) - lgamma(n - c - 9) - lgamma(n + 1) + lgamma(n - 9))
    END AS pass_at_10
FROM per_task
