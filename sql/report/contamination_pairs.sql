-- contamination_pairs: the flagged training texts with the closest matching eval item.
-- Inputs: audit_contamination (flagged rows written by engine audit --eval-items).
-- Parameters: $top (rows returned).
-- Columns: train_id, best_eval_id, containment, token_jaccard, char_jaccard, shared_ngrams, total.
SELECT
    train_id, best_eval_id, containment, token_jaccard, char_jaccard, shared_ngrams,
    count(*) OVER () AS total
FROM audit_contamination
ORDER BY containment DESC, token_jaccard DESC, train_id
LIMIT $top
