-- Purpose: the scalar fields of decoded rollout branches (everything but the tool-call list).
-- Inputs: table `decoded`, the output of export/rollout_branches.sql.
-- Output columns: those of export/rollout_branches.sql except tool_calls, one row per record, in order.
select * exclude (tool_calls) from decoded
