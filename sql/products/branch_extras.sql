-- Purpose: the rollout-wire/v1 fields the agent-training products need beyond the export decode
--   (episode metadata and the build result, including the open `visual_score` extra).
-- Inputs: table `records(rid BIGINT, raw VARCHAR)`: `raw` is the JSON text of one object.
-- Output columns: rid, session_id, temperature (DOUBLE), build_status, visual_score (DOUBLE).
select
    rid,
    j.session_id,
    j.temperature,
    j.build_result.status as build_status,
    j.build_result.visual_score as visual_score
from (
    select
        rid,
        try(json_transform(raw, '{
            "session_id": "VARCHAR", "temperature": "DOUBLE",
            "build_result": {"status": "VARCHAR", "visual_score": "DOUBLE"}
        }')) as j
    from records
)
