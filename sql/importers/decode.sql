-- Purpose: decode source records for an importer in one lenient JSON parse each (from_json turns a
--   value of the wrong type into NULL instead of failing the batch), and keep the keys the
--   importer does not name: json_merge_patch with {known_key: null, ...} deletes the known keys.
-- Input table: records(row_nr BIGINT, raw VARCHAR)
-- Parameters: $structure (from_json structure, JSON text), $known (object of known keys -> null)
-- Output columns: row_nr BIGINT, rec STRUCT(per $structure), ext VARCHAR (JSON object)
select
    row_nr,
    from_json(raw, $structure) as rec,
    json_merge_patch(raw, $known)::VARCHAR as ext
from records
