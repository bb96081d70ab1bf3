-- Purpose: Python truthiness of the extra top-level `_dpo_pair_id` field of raw AEP records
--   (reference §3.3: a truthy `_dpo_pair_id` routes an admitted record to train_dpo). Typed by
--   DuckDB's JSON reader, so "0" (truthy string) and 0 (falsy number) stay apart, as do NaN and
--   Infinity literals (truthy numbers).
-- Input table: candidates(row_nr BIGINT, raw VARCHAR)
-- Output columns: row_nr BIGINT, dpo_pair BOOLEAN
select
    row_nr,
    coalesce(case json_type(raw, '$._dpo_pair_id')
        when 'VARCHAR' then length(json_extract_string(raw, '$._dpo_pair_id')) > 0
        when 'BOOLEAN' then json_extract_string(raw, '$._dpo_pair_id') = 'true'
        when 'ARRAY' then json_array_length(raw, '$._dpo_pair_id') > 0
        when 'OBJECT' then len(json_keys(raw, '$._dpo_pair_id')) > 0
        when 'NULL' then false
        else try_cast(json_extract_string(raw, '$._dpo_pair_id') as double) <> 0
    end, false) as dpo_pair
from candidates
