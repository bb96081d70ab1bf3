-- Purpose: decode the JSON text of the records the typed Arrow parse could not read (the slow
--          rows of a batch) into one struct per record, shaped as the record kind's contract
--          declares, so they join the fast rows with the same columns and types.
-- Inputs:  batch_raw(raw VARCHAR), one record's JSON text per row; $structure, the DuckDB
--          json_transform structure of the kind (normalize.decode.duckdb_structure).
-- Columns: r, the decoded struct (fields absent from a record are NULL).
SELECT json_transform(raw, $structure) AS r FROM batch_raw
