-- Purpose: decode compliance-eval-record/v1 records for training-data export (reference §4.2).
-- Inputs: table `records(rid BIGINT, raw VARCHAR)`: `raw` is the JSON text of one object.
-- Output columns: rid, invalid_json, schema_version, task_id, mode, final_pass, artifact,
--   violations: list of struct {constraint_id, level, category, hint},
--   repair_trace: list of struct {round, violation_ids (list of VARCHAR), ok}.
select
    rid,
    (j is null) as invalid_json,
    j.schema_version,
    j.task_id,
    j.mode,
    j.final_pass,
    j.artifact,
    coalesce(j.violations, []) as violations,
    coalesce(j.repair_trace, []) as repair_trace
from (
    select
        rid,
        try(json_transform(raw, '{
            "schema_version": "VARCHAR", "task_id": "VARCHAR", "mode": "VARCHAR", "final_pass": "BOOLEAN",
            "artifact": "VARCHAR",
            "violations": [{"constraint_id": "VARCHAR", "level": "VARCHAR", "category": "VARCHAR",
                            "hint": "VARCHAR"}],
            "repair_trace": [{"round": "BIGINT", "violation_ids": ["VARCHAR"], "ok": "BOOLEAN"}]
        }')) as j
    from records
)
