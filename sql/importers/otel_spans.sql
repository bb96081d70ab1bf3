-- Purpose: one row per OpenTelemetry span with the fields the OTel importer maps: ids, name, kind,
--   times in ms, status, and the gen_ai.* / OpenInference attributes. Attributes arrive either as
--   an OTLP key/value list ({key, value: {stringValue|intValue|doubleValue|boolValue|arrayValue}})
--   or as a flat object (span-per-line exporters); both become one flat JSON object first, and all
--   wanted keys are read from it in one parse (list of paths). Wrong types become NULL.
-- Input table: spans(row_nr BIGINT, span VARCHAR)
-- Parameters: $known (object of the span keys the importer maps -> null)
-- Output columns: row_nr, trace_id, span_id, parent_id, name, kind, start_ms, end_ms, status_code,
--   status_message, attrs (flat JSON object text), a (VARCHAR[] of the wanted attributes, in the
--   order of the list below), content (VARCHAR[]: JSON of tool arguments, tool result, input.value,
--   output.value), finish_reasons VARCHAR[], ext (JSON object of unmapped span keys)
with base as (
    select
        row_nr,
        span,
        from_json(span, '{"traceId": "VARCHAR", "trace_id": "VARCHAR", "spanId": "VARCHAR",
            "span_id": "VARCHAR", "parentSpanId": "VARCHAR", "parent_span_id": "VARCHAR",
            "parent_id": "VARCHAR", "name": "VARCHAR", "operationName": "VARCHAR", "kind": "VARCHAR",
            "spanKind": "VARCHAR", "startTimeUnixNano": "VARCHAR", "endTimeUnixNano": "VARCHAR",
            "start_time_unix_nano": "VARCHAR", "end_time_unix_nano": "VARCHAR",
            "start_time": "VARCHAR", "end_time": "VARCHAR", "status": "JSON",
            "attributes": "JSON", "tags": "JSON"}') as s
    from spans
),
flat as (
    select
        row_nr, span, s,
        coalesce(s.attributes, s.tags) as a0
    from base
),
norm as (
    select
        row_nr, span, s,
        case
            when json_type(a0) = 'OBJECT' then a0::VARCHAR
            when json_type(a0) = 'ARRAY' then '{' || array_to_string(list_transform(
                list_filter(coalesce(from_json(a0, '[{"key": "VARCHAR", "value": {"stringValue": "VARCHAR",
                    "intValue": "VARCHAR", "doubleValue": "DOUBLE", "boolValue": "BOOLEAN",
                    "arrayValue": {"values": [{"stringValue": "VARCHAR", "intValue": "VARCHAR",
                                               "doubleValue": "DOUBLE", "boolValue": "BOOLEAN"}]}}}]'), []),
                            lambda kv: kv.key is not null),
                -- typed once, re-encoded with to_json (no per-value JSON parse); OTLP int64s are strings
                lambda kv: to_json(kv.key)::VARCHAR || ':' || coalesce(
                    to_json(kv.value.stringValue)::VARCHAR,
                    to_json(try_cast(kv.value.intValue as HUGEINT))::VARCHAR,
                    to_json(kv.value.doubleValue)::VARCHAR,
                    to_json(kv.value.boolValue)::VARCHAR,
                    to_json(list_transform(kv.value.arrayValue."values", lambda e: coalesce(
                        to_json(e.stringValue), to_json(try_cast(e.intValue as HUGEINT)),
                        to_json(e.doubleValue), to_json(e.boolValue))))::VARCHAR,
                    'null')), ',') || '}'
            else '{}'
        end as attrs
    from flat
),
picked as (
    -- one parse of the flat attributes for every wanted key (order matters: see the list)
    select *, json_extract(attrs, [
        '$."gen_ai.operation.name"', '$."gen_ai.provider.name"', '$."gen_ai.system"',
        '$."gen_ai.request.model"', '$."gen_ai.response.model"', '$."gen_ai.request.max_tokens"',
        '$."gen_ai.usage.input_tokens"', '$."gen_ai.usage.output_tokens"',
        '$."gen_ai.tool.call.id"', '$."gen_ai.tool.name"', '$."gen_ai.tool.call.arguments"',
        '$."gen_ai.tool.call.result"', '$."gen_ai.agent.name"', '$."openinference.span.kind"',
        '$."tool.name"', '$."input.value"', '$."output.value"', '$."llm.model_name"',
        '$."llm.token_count.prompt"', '$."llm.token_count.completion"', '$."llm.provider"',
        '$."agent.name"', '$."state_changing"', '$."triggered"', '$."tool_name"', '$."model"',
        '$."llm.model"', '$."gen_ai.response.id"', '$."gen_ai.tool.type"', '$."rpc.method"',
        '$."gen_ai.tool.call.arguments"', '$."gen_ai.tool.call.result"', '$."input.value"', '$."output.value"',
        '$."gen_ai.response.finish_reasons"'
    ]) as vals
    from norm
)
select
    row_nr,
    coalesce(s.traceId, s.trace_id) as trace_id,
    coalesce(s.spanId, s.span_id) as span_id,
    nullif(coalesce(s.parentSpanId, s.parent_span_id, s.parent_id), '') as parent_id,
    coalesce(s.name, s.operationName) as name,
    coalesce(s.kind, s.spanKind) as kind,
    coalesce(
        try_cast(coalesce(s.startTimeUnixNano, s.start_time_unix_nano) as DOUBLE) / 1e6,
        try_cast(s.start_time as DOUBLE) / 1e6,
        epoch_ms(try_cast(s.start_time as TIMESTAMPTZ))::DOUBLE) as start_ms,
    coalesce(
        try_cast(coalesce(s.endTimeUnixNano, s.end_time_unix_nano) as DOUBLE) / 1e6,
        try_cast(s.end_time as DOUBLE) / 1e6,
        epoch_ms(try_cast(s.end_time as TIMESTAMPTZ))::DOUBLE) as end_ms,
    coalesce(json_extract_string(s.status, '$.code'), json_extract_string(s.status, '$.status_code')) as status_code,
    json_extract_string(s.status, '$.message') as status_message,
    attrs,
    list_transform(vals[1:30], lambda v: json_extract_string(v, '$')) as a,
    vals[31:34]::VARCHAR[] as content,
    case json_type(vals[35])
        when 'ARRAY' then from_json(vals[35], '["VARCHAR"]')
        when 'VARCHAR' then [json_extract_string(vals[35], '$')]
        else null
    end as finish_reasons,
    json_merge_patch(span, $known)::VARCHAR as ext
from picked
