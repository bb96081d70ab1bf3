-- claims: claim audits ("A beats B") run by engine audit --claim A B.
-- Inputs: audit_claims.
-- Columns: log_a, log_b, verdict, n (paired items), b (A right, B wrong), c (A wrong, B right),
--   p_value (paired test), acc_a, acc_b, delta, truncated_a, truncated_b, trunc_b, trunc_c,
--   trunc_p (McNemar on truncation), untrunc_n, untrunc_b, untrunc_c, untrunc_p, findings.
SELECT * FROM audit_claims ORDER BY log_a, log_b
