"""Slow, obviously-correct rollout → SFT / DPO / PPO converters: one Python dict at a time.

Written straight from reference §4.1 (with the SPEC §8 fixes: tool results as JSON text, every
tool-call shape kept, call ids `call_<k>`), for differential tests of engine.export. No redaction.
"""

from __future__ import annotations

import json
from typing import Any


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _error_text(err: Any) -> str | None:
    if isinstance(err, dict):
        msg = err.get("message")
        return msg if isinstance(msg, str) else (None if msg is None else _json(msg))
    if isinstance(err, str):
        return err or None
    if err in (None, False, 0, [], {}):
        return None
    return _json(err)


def _result_text(res: Any) -> str | None:
    if res is None:
        return None
    return res if isinstance(res, str) else _json(res)


def tool_calls(seq: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(name, arguments JSON, content) per call, in order."""
    calls: list[tuple[int, str | None, Any, Any, Any]] = []
    pending: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    anon = {"tool_call": 0, "tool_result": 0}
    for pos, item in enumerate(seq):
        if item.get("tool_name") is not None:
            args = item.get("arguments", item.get("args"))
            calls.append((pos, item["tool_name"], args, item.get("result"), item.get("error")))
            continue
        event = item.get("event")
        if event not in ("tool_call", "tool_result"):
            continue
        data = item.get("data") or {}
        key = data.get("callId")
        if key is None:
            key = f"#{anon[event]}"
            anon[event] += 1
        slot = pending.setdefault(key, {"pos": pos, "name_call": None, "name_result": None, "args": None,
                                        "result": None, "error": None})
        if key not in order:
            order.append(key)
        name = data.get("toolName") or data.get("name") or data.get("tool_name")
        if event == "tool_call":
            slot["name_call"] = name if name is not None else slot["name_call"]
            slot["args"] = data.get("args", data.get("arguments"))
        else:
            slot["name_result"] = name if name is not None else slot["name_result"]
            res = data.get("output", data.get("result"))
            slot["result"] = res
            slot["error"] = data.get("error")
    for key in order:
        s = pending[key]
        calls.append((s["pos"], s["name_call"] or s["name_result"], s["args"], s["result"], s["error"]))
    calls.sort(key=lambda c: c[0])
    out = []
    for _, name, args, res, err in calls:
        if not name:
            continue
        content = _result_text(res)
        if content is None:
            content = _error_text(err) or ""
        out.append((name, "{}" if args is None else _json(args), content))
    return out


def messages(rec: dict[str, Any]) -> list[dict[str, Any]]:
    msgs: list[dict[str, Any]] = [{"role": "user", "content": rec["task"], "tool_calls": None, "tool_call_id": None}]
    for k, (name, args, content) in enumerate(tool_calls(rec.get("tool_call_sequence") or [])):
        cid = f"call_{k}"
        msgs.append({"role": "assistant", "content": "", "tool_call_id": None,
                     "tool_calls": [{"id": cid, "type": "function", "function": {"name": name, "arguments": args}}]})
        msgs.append({"role": "tool", "content": content, "tool_calls": None, "tool_call_id": cid})
    msgs.append({"role": "assistant", "content": rec["final_answer"], "tool_calls": None, "tool_call_id": None})
    return msgs


def sft(records: list[dict[str, Any]], include_failing: bool = False) -> list[dict[str, Any]]:
    return [{"line": i, "messages": messages(r)} for i, r in records
            if include_failing or r.get("objective_score", 0) == 1]


def ppo(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"line": i, "prompt": messages(r)[:1], "reward": float(r.get("objective_score", 0))} for i, r in records]


def dpo(records: list[dict[str, Any]], max_pairs: int = 1) -> list[dict[str, Any]]:
    groups: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for i, r in records:
        if r.get("objective_status", "unknown") != "unknown":
            groups.setdefault(r["rollout_id"], []).append((i, r))
    out = []
    for branches in groups.values():
        def key(b: tuple[int, dict[str, Any]]) -> tuple[float, float]:
            return (float(b[1].get("objective_score", 0)), float(b[1].get("total_score", 0.0)))
        pairs = [(c, r) for c in branches for r in branches if key(c) > key(r)]
        pairs.sort(key=lambda p: (-key(p[0])[0], -key(p[0])[1], p[0][0], key(p[1])[0], key(p[1])[1], p[1][0]))
        for c, r in pairs[:max_pairs]:
            cm, rm = messages(c[1]), messages(r[1])
            out.append({"line": c[0], "prompt": cm[:1], "chosen": cm[1:], "rejected": rm[1:]})
    out.sort(key=lambda row: row["line"])
    return out
