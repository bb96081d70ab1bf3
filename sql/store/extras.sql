-- Purpose: keep the top-level fields of a record that the schema contract does not declare
--          (SPEC §3: unknown extra fields are allowed and kept), as one JSON object per record,
--          so they stay queryable in the store (e.g. an OTel import's gen_ai_finish_reasons).
-- Input:   table `records_raw` with column raw (the record's JSON text); parameter $declared =
--          a JSON object mapping every declared top-level property to null (a merge patch that
--          removes them, RFC 7396).
-- Output:  extras (VARCHAR JSON object, NULL when there is nothing extra or the text is not
--          strict JSON, e.g. carries NaN), one row per input row, in input order.
SELECT CASE
         WHEN json_valid(raw) THEN nullif(json_merge_patch(raw::JSON, $declared::JSON)::VARCHAR, '{}')
       END AS extras
FROM records_raw
