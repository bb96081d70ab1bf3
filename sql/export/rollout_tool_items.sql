-- Purpose: the tool-call items of decoded rollout branches, one row per item, both item shapes merged.
-- Inputs: table `decoded`, the output of export/rollout_branches.sql (rid, tool_calls, ...).
-- Output columns: rid, pos (the item's 0-based place in tool_call_sequence), tool_name, arguments, result,
--   error, event (only for AgentEvent items: null when the item has a top-level tool_name), call_id.
--   arguments / result / error are JSON text. Rows come in (rid, pos) order; branches without items give none.
select
    rid,
    pos,
    coalesce(tc.tool_name, tc.data.toolName, tc.data.name, tc.data.tool_name) as tool_name,
    coalesce(tc.arguments, tc.args, tc.data.args, tc.data.arguments) as arguments,
    coalesce(tc.result, tc.data.output, tc.data.result) as result,
    coalesce(tc.error, tc.data.error) as error,
    case when tc.tool_name is null then tc.event end as event,
    tc.data.callId as call_id
from (
    select rid, unnest(tool_calls) as tc, unnest(generate_series(0, len(tool_calls) - 1)) as pos
    from decoded
)
