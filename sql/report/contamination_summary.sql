-- contamination_summary: training texts scored against the eval items, one row.
-- Inputs: audit_contamination_summary (written by engine audit --eval-items).
-- Columns: n_training, n_eval, n_flagged, flag_rate, n_flagged_jaccard, n_flagged_containment,
--   n_any_13gram_hit, rule, threshold, char_threshold, containment_threshold.
SELECT
    n_training, n_eval, n_flagged, flag_rate, n_flagged_jaccard, n_flagged_containment,
    n_any_13gram_hit, rule, threshold, char_threshold, containment_threshold
FROM audit_contamination_summary
