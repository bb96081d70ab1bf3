"""Which record kind a record is: from `schema_version`, else from its shape."""

from __future__ import annotations

from typing import Any

from engine.contract.schemas import kind_of_version

UNKNOWN = "unknown"


def kind_of_record(record: dict[str, Any]) -> str:
    version = record.get("schema_version")
    if isinstance(version, str):
        kind = kind_of_version(version)
        if kind is not None:
            return kind
    keys = record.keys()
    if "rollout_id" in keys and "branch_index" in keys:
        return "rollout"
    if "task_id" in keys and "mode" in keys and "final_pass" in keys:
        return "compliance"
    if "run_id" in keys and ("created_at_ms" in keys or "actions" in keys):
        return "aep"
    if "messages" in keys:
        if "chosen" in keys and "rejected" in keys:
            return "dpo"
        if "reward" in keys:
            return "ppo"
        return "sft"
    if "id" in keys and ("correct" in keys or "gen_text" in keys or "error" in keys):
        return "eval"
    if isinstance(version, str) and version.startswith("aep"):
        return "aep"
    return UNKNOWN
