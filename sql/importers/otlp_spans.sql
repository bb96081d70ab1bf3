-- Purpose: flatten OTLP/JSON export records (resourceSpans[].scopeSpans[].spans[]) into one span
--   per element, in document order, each with its resource's service.name and scope name.
-- Input table: records(row_nr BIGINT, raw VARCHAR)
-- Output columns: row_nr BIGINT, spans STRUCT(service VARCHAR, scope VARCHAR, span VARCHAR)[]
select
    row_nr,
    flatten(list_transform(
        coalesce(from_json(json_extract(raw, '$.resourceSpans'), '["JSON"]'), []),
        lambda rs: flatten(list_transform(
            coalesce(from_json(json_extract(rs, '$.scopeSpans'), '["JSON"]'), []),
            lambda ss: list_transform(
                coalesce(from_json(json_extract(ss, '$.spans'), '["JSON"]'), []),
                lambda sp: {
                    'service': list_filter(
                        coalesce(from_json(json_extract(rs, '$.resource.attributes'),
                                           '[{"key": "VARCHAR", "value": {"stringValue": "VARCHAR"}}]'), []),
                        lambda a: a.key = 'service.name')[1].value.stringValue,
                    'scope': json_extract_string(ss, '$.scope.name'),
                    'span': sp::VARCHAR
                }))))) as spans
from records
