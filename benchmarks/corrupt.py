"""Ways to damage records: targeted breakers that are always invalid, and random `mutate()`.

`break_structure(kind, record, rng)` returns a copy that the canonical JSON Schema rejects and
so does the project's own contract in schemas/ (which makes fields with pydantic defaults
optional and has no minimums), so labels stay ground truth for both. `break_semantics` returns a copy
that the schema still accepts but that violates a derived invariant of SPEC §4 (AEP only).
`mutate(record, rng)` applies one random structural mutation anywhere in the record; it may or
may not make the record invalid, which is what a differential test against jsonschema wants.
"""

from __future__ import annotations

import copy
import math
import random
from collections.abc import Callable
from typing import Any

Record = dict[str, Any]


def _pick(rng: random.Random, items: list[Any]) -> Any:
    return items[rng.randrange(len(items))]


# ---------------------------------------------------------------------------------------------
# targeted structural breakers: each returns True when it applied (and so broke the record)
# ---------------------------------------------------------------------------------------------

def _del(key: str) -> Callable[[Record, random.Random], bool]:
    def f(rec: Record, rng: random.Random) -> bool:
        if key not in rec:
            return False
        del rec[key]
        return True

    return f


def _set(key: str, *values: Any) -> Callable[[Record, random.Random], bool]:
    def f(rec: Record, rng: random.Random) -> bool:
        rec[key] = copy.deepcopy(_pick(rng, list(values)))
        return True

    return f


def _in_list(key: str, field: str, *values: Any) -> Callable[[Record, random.Random], bool]:
    """Set `field` of a random item of the list `key` (not applicable when the list is empty)."""

    def f(rec: Record, rng: random.Random) -> bool:
        items = rec.get(key)
        if not isinstance(items, list) or not items:
            return False
        _pick(rng, items)[field] = copy.deepcopy(_pick(rng, list(values)))
        return True

    return f


def _aep_budget_missing_spent(rec: Record, rng: random.Random) -> bool:
    ledger = rec.get("budget_ledger")
    if not isinstance(ledger, dict) or "token_budget" not in ledger:
        return False
    ledger["token_budget"] = {"limit": ledger["token_budget"].get("limit", 4096)}
    return True


def _aep_dup_observed(rec: Record, rng: random.Random) -> bool:
    observed = rec.get("run_attribution_backing_observed")
    if not observed:
        return False
    observed.append(observed[0])
    return True


def _nested_list(key: str, field: str, value: Any) -> Callable[[Record, random.Random], bool]:
    """Set `field` inside the first item of a nested list `key` (e.g. repair_trace[0])."""

    def f(rec: Record, rng: random.Random) -> bool:
        items = rec.get(key)
        if not isinstance(items, list) or not items:
            return False
        items[0][field] = copy.deepcopy(value)
        return True

    return f


def _tool_calls_object(rec: Record, rng: random.Random) -> bool:
    rec["tool_call_sequence"] = {"tool_name": "read_file", "arguments": {"path": "README.md"}}
    return True


def _tool_calls_string_item(rec: Record, rng: random.Random) -> bool:
    rec["tool_call_sequence"] = [*rec.get("tool_call_sequence", []), "read_file(README.md)"]
    return True


BREAKERS: dict[str, list[Callable[[Record, random.Random], bool]]] = {
    "aep": [
        _del("run_id"),
        _del("created_at_ms"),
        _del("schema_version"),
        _set("schema_version", "aep/v0.6", "aep/v1", "AEP/v0.2"),
        _set("created_at_ms", "1750900000000", None, [1750900000000]),
        _set("run_id", 12345, None),
        _set("input_refs", "task://implement-fibonacci", {"uri": "task://x"}),
        _in_list("actions", "result_digest", None),  # the original importers' null digests
        _in_list("actions", "state_changing", "true", 1, None),
        _in_list("actions", "timestamp_ms", "2025-06-26T01:46:40Z"),
        _in_list("capability_decisions", "decision", "allow_once", "DENY", ""),
        _in_list("verifier_results", "passed", "yes", 1, None),
        _in_list("output_refs", "redaction_profile", None),
        _aep_budget_missing_spent,
        _aep_dup_observed,
        _set("recording_mode", "partial", "FULL"),
        _set("authorization_evidence_count", -1, 1.5),
    ],
    "rollout": [
        _set("objective_score", 0.5, "1", 2, True),
        _del("task"),
        _del("final_answer"),
        _del("branch_index"),
        _set("branch_index", "0", 1.5),
        _set("objective_status", "passed", "PASS", "error"),
        _set("temperature", "0.7", None),
        _set("task", None, ["fix the bug"]),
        _set("rollout_id", 17, None),
        _set("build_result", "pass", ["pass"]),
        _set("rank", "1", 1.5),
        _tool_calls_object,
        _tool_calls_string_item,
    ],
    "compliance": [
        _set("mode", "fast", "pcl", "DIRECT"),
        _del("artifact"),
        _del("task_spec_hash"),
        _set("final_pass", "true", 1, None),
        _set("latency_ms", "504ms", None),
        _set("task_id", 42, None),
        _set("token_cost", {"prompt": "5"}, "12 tokens"),
        _in_list("violations", "level", "critical", "HARD"),
        _in_list("violations", "detected_at", "post_hoc"),
        _nested_list("repair_trace", "violation_ids", "c_title"),
        _nested_list("repair_trace", "round", "1"),
        _set("error", {"kind": "oom", "message": "CUDA out of memory", "stage": "generate"}),
    ],
}


def break_structure(kind: str, record: Record, rng: random.Random) -> Record:
    """A copy of `record` that the canonical schema of `kind` rejects."""
    breakers = BREAKERS[kind]
    for _ in range(50):
        rec = copy.deepcopy(record)
        if _pick(rng, breakers)(rec, rng):
            return rec
    rec = copy.deepcopy(record)
    BREAKERS[kind][0](rec, rng)
    return rec


# ---------------------------------------------------------------------------------------------
# semantic breakers (AEP): structurally valid, but a SPEC §4 layer-2 invariant fails
# ---------------------------------------------------------------------------------------------

def _dup_action_id(rec: Record, rng: random.Random) -> bool:
    actions = rec.get("actions") or []
    if len(actions) < 2:
        return False
    actions[-1]["action_id"] = actions[0]["action_id"]
    return True


def _negative_created(rec: Record, rng: random.Random) -> bool:
    rec["created_at_ms"] = -rec["created_at_ms"]
    return True


def _floor_roundup(rec: Record, rng: random.Random) -> bool:
    observed = rec.get("run_attribution_backing_observed")
    if not observed or len(observed) < 2:
        return False
    order = ("unknown", "operator_asserted", "principal_key_signed", "qualified_signature")
    rec["run_attribution_backing_floor"] = max(observed, key=order.index)
    return True


def _observed_without_floor(rec: Record, rng: random.Random) -> bool:
    if "run_attribution_backing_observed" not in rec:
        return False
    del rec["run_attribution_backing_floor"]
    return True


SEMANTIC_BREAKERS = [_dup_action_id, _negative_created, _floor_roundup, _observed_without_floor]


def break_semantics(record: Record, rng: random.Random) -> Record:
    for _ in range(20):
        rec = copy.deepcopy(record)
        if _pick(rng, SEMANTIC_BREAKERS)(rec, rng):
            return rec
    rec = copy.deepcopy(record)
    _negative_created(rec, rng)
    return rec


# ---------------------------------------------------------------------------------------------
# mutate(): random structural mutation for differential testing
# ---------------------------------------------------------------------------------------------

_HUGE = (1e308, -1e308, 10**30, -(10**30), 2**63, -(2**63) - 1, 2**64, 1.7976931348623157e308)
_NONFINITE = (math.nan, math.inf, -math.inf)


def _slots(value: Any, path: tuple[Any, ...], out: list[tuple[Any, ...]]) -> None:
    """Every path (tuple of keys/indices) to a value inside `value`, the root excluded."""
    if isinstance(value, dict):
        for k, v in value.items():
            out.append((*path, k))
            _slots(v, (*path, k), out)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.append((*path, i))
            _slots(v, (*path, i), out)


def _containers(value: Any, path: tuple[Any, ...], out: list[tuple[tuple[Any, ...], Any]]) -> None:
    if isinstance(value, dict | list):
        out.append((path, value))
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for k, v in items:
            _containers(v, (*path, k), out)


def _other_type(value: Any, rng: random.Random) -> Any:
    options: list[Any] = ["1", 1, 1.5, True, None, [], {}, ["x"], {"a": 1}]
    if isinstance(value, str):
        options = [v for v in options if not isinstance(v, str)]
    elif isinstance(value, bool):
        options = [v for v in options if not isinstance(v, bool)]
    elif isinstance(value, int | float):
        options = [v for v in options if isinstance(v, bool) or not isinstance(v, int | float)]
    elif isinstance(value, list):
        options = [v for v in options if not isinstance(v, list)]
    elif isinstance(value, dict):
        options = [v for v in options if not isinstance(v, dict)]
    return copy.deepcopy(_pick(rng, options))


def _garbage(rng: random.Random) -> Any:
    return _pick(rng, [
        [{"a": [1, {"b": None}]}, [[[]]]],
        {"x": {"y": {"z": {"w": [1, 2, {"v": "deep"}]}}}},
        [None, True, "s", 1.0],
        {"": {"": ""}},
        "\u0000\ud7ff\ufeff zero-width\u200b text",
    ])


def _replace(value: Any, rng: random.Random, how: str) -> Any:
    if how == "wrong_type":
        return _other_type(value, rng)
    if how == "null":
        return None
    if how == "bad_enum":
        return _pick(rng, ["bogus", "", "ALLOW", "aep/v9", "pass ", 7])
    if how == "huge":
        return _pick(rng, list(_HUGE))
    if how == "nonfinite":
        return _pick(rng, list(_NONFINITE))
    if how == "garbage":
        return _garbage(rng)
    if how == "empty":
        return "" if isinstance(value, str) else [] if isinstance(value, list) else {} if isinstance(
            value, dict) else _pick(rng, ["", [], {}])
    if how == "bool":
        return _pick(rng, [True, False])
    if how == "float_int":
        if isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        return _pick(rng, [3.0, 0.0, 1.0, -1.0])
    if how == "negative":
        return -abs(value) - 1 if isinstance(value, int | float) and not isinstance(value, bool) else -1
    raise ValueError(how)


_VALUE_MUTATIONS = ("wrong_type", "null", "bad_enum", "huge", "nonfinite", "garbage", "empty", "bool",
                    "float_int", "negative")
MUTATIONS = (*_VALUE_MUTATIONS, "remove_key", "extra_field", "duplicate_item", "remove_required")
_REQUIRED = ("schema_version", "run_id", "created_at_ms", "rollout_id", "task", "branch_index",
             "temperature", "session_id", "tool_call_sequence", "final_answer", "task_id",
             "task_spec_hash", "model", "mode", "violations", "repair_trace", "final_pass", "artifact")


def _get(root: Any, path: tuple[Any, ...]) -> Any:
    for p in path:
        root = root[p]
    return root


def mutate(record: Record, rng: random.Random) -> Record:
    """A copy of `record` with one random structural mutation (the input is not modified).

    Mutations: wrong types at any depth, nulls, bad enum values, huge numbers (1e308, 10**30),
    NaN/Infinity, nested garbage, empty strings/lists/objects, booleans for numbers, integers as
    floats, negatives, removed keys (required ones often), extra fields (top level and nested),
    duplicated array items. Depending on the kind, 30-80 % of the results are schema-invalid.
    """
    rec = copy.deepcopy(record)
    how = _pick(rng, list(MUTATIONS))
    if how == "remove_required":
        present = [k for k in _REQUIRED if k in rec]
        if present:
            del rec[_pick(rng, present)]
            return rec
        how = "remove_key"
    if how in ("remove_key", "extra_field", "duplicate_item"):
        containers: list[tuple[tuple[Any, ...], Any]] = []
        _containers(rec, (), containers)
        if how == "duplicate_item":
            lists = [c for _, c in containers if isinstance(c, list) and c]
            observed = rec.get("run_attribution_backing_observed")
            if isinstance(observed, list) and observed and rng.random() < 0.5:
                lists = [observed]  # the one uniqueItems array of the AEP schema
            if lists:
                target = _pick(rng, lists)
                target.insert(rng.randrange(len(target) + 1), copy.deepcopy(_pick(rng, target)))
                return rec
            how = "extra_field"
        dicts = [c for _, c in containers if isinstance(c, dict)]
        target = rec if rng.random() < 0.4 else _pick(rng, dicts)
        if how == "remove_key" and target:
            del target[_pick(rng, list(target))]
        else:
            target[_pick(rng, ["x_extra", "unexpected", "", "run_id ", "_dpo_pair_id"])] = _garbage(rng)
        return rec
    slots: list[tuple[Any, ...]] = []
    _slots(rec, (), slots)
    if not slots:
        rec["schema_version"] = _replace(None, rng, how)
        return rec
    path = _pick(rng, slots)
    parent = _get(rec, path[:-1])
    parent[path[-1]] = _replace(parent[path[-1]], rng, how)
    return rec
