-- Purpose: decode rollout-wire/v1 branch records for training-data export, in one JSON parse per record.
-- Inputs: table `records(rid BIGINT, raw VARCHAR)`: `raw` is the JSON text of one object.
-- Output columns: rid, schema_version, rollout_id, branch_index, task, final_answer, session_id, run_id,
--   objective_score (DOUBLE), objective_status, total_score, invalid_json (the text does not parse),
--   is_tree (fork_map present, no branch_index),
--   tool_calls: list of struct {tool_name, arguments, args, result, error, event,
--   data{toolName, name, tool_name, callId, args, arguments, output, result, error}} covering both item
--   shapes (ToolCallEntry and AgentEvent); every free-form value is kept as JSON text. The shapes are
--   merged after the explode, on flat columns (cheaper than a per-list lambda here).
select
    rid,
    j.schema_version,
    j.rollout_id,
    j.branch_index,
    j.task,
    j.final_answer,
    j.session_id,
    coalesce(j.run_id, j.provenance.run_id, j.session_id) as run_id,
    j.objective_score,
    j.objective_status,
    j.total_score,
    (j is null) as invalid_json,
    coalesce(j.fork_map is not null and j.branch_index is null, false) as is_tree,
    coalesce(j.tool_call_sequence, []) as tool_calls
from (
    select
        rid,
        try(json_transform(raw, '{
            "schema_version": "VARCHAR", "rollout_id": "VARCHAR", "branch_index": "BIGINT",
            "task": "VARCHAR", "final_answer": "VARCHAR", "session_id": "VARCHAR", "run_id": "VARCHAR",
            "objective_score": "DOUBLE", "objective_status": "VARCHAR", "total_score": "DOUBLE",
            "fork_map": "JSON", "provenance": {"run_id": "VARCHAR"},
            "tool_call_sequence": [{
                "tool_name": "VARCHAR", "arguments": "JSON", "args": "JSON", "result": "JSON",
                "error": "JSON", "event": "VARCHAR",
                "data": {"toolName": "VARCHAR", "name": "VARCHAR", "tool_name": "VARCHAR", "callId": "VARCHAR",
                         "args": "JSON", "arguments": "JSON", "output": "JSON", "result": "JSON",
                         "error": "JSON"}
            }]
        }')) as j
    from records
)
