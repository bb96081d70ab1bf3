-- Purpose: McNemar discordant counts for every pair of models, over the items both scored (SPEC §7).
-- Input: table long_clean (from sql/stats/long_clean.sql): model, item_id, correct, status;
--   parameter $n_items = count(DISTINCT item_id) over its rows with status 'ok' (bitstring width).
-- Output columns: model_a VARCHAR, model_b VARCHAR (model_a < model_b), n BIGINT (items scored by both),
--   b BIGINT (model_a right, model_b wrong), c BIGINT (model_a wrong, model_b right); ordered by model_a, model_b;
--   pairs that share no item are left out.
-- Each model becomes two bitstrings over the item positions (right, wrong), so a pair costs three
-- AND + popcounts over n_items bits instead of a row-level self-join (about 2x faster at 46 x 10,000).
WITH scored AS (
    SELECT model, item_id, correct
    FROM long_clean
    WHERE status = 'ok'
),
items AS (
    SELECT item_id, row_number() OVER (ORDER BY item_id) AS k
    FROM (SELECT DISTINCT item_id FROM scored) AS d
),
bits AS (
    SELECT
        s.model,
        coalesce(bitstring_agg(i.k, 1, $n_items) FILTER (WHERE s.correct), bitstring('0'::BIT, $n_items)) AS r,
        coalesce(bitstring_agg(i.k, 1, $n_items) FILTER (WHERE NOT s.correct), bitstring('0'::BIT, $n_items)) AS w
    FROM scored AS s
    JOIN items AS i USING (item_id)
    GROUP BY s.model
),
counts AS (
    SELECT
        x.model AS model_a,
        y.model AS model_b,
        bit_count((x.r | x.w) & (y.r | y.w)) AS n,
        bit_count(x.r & y.w) AS b,
        bit_count(x.w & y.r) AS c
    FROM bits AS x
    JOIN bits AS y ON x.model < y.model
)
SELECT model_a, model_b, n, b, c
FROM counts
WHERE n > 0
ORDER BY model_a, model_b
