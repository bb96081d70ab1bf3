"""Slow, obviously-correct RL / ADP / compile-context builders: one rollout dict at a time.

Written from reference §4.4 with the engine's documented fixes (both tool-call shapes, JSON tool results,
calls counted after resolution), for differential tests of engine.products.
"""

from __future__ import annotations

import hashlib
from typing import Any

from tests.reference.export import _error_text, _json, _result_text


def calls(seq: list[dict[str, Any]]) -> list[tuple[str, str, str | None, str | None]]:
    """(name, arguments JSON, result text, error text) per resolved call, in order."""
    found: list[tuple[int, Any, Any, Any, Any]] = []
    slots: dict[str, dict[str, Any]] = {}
    anon = {"tool_call": 0, "tool_result": 0}
    for pos, item in enumerate(seq):
        if item.get("tool_name") is not None:
            found.append((pos, item["tool_name"], item.get("arguments", item.get("args")), item.get("result"),
                          item.get("error")))
            continue
        event = item.get("event")
        if event not in anon:
            continue
        data = item.get("data") or {}
        key = data.get("callId")
        if key is None:
            key = f"#{anon[event]}"
            anon[event] += 1
        s = slots.setdefault(key, {"pos": pos, "nc": None, "nr": None, "args": None, "res": None, "err": None})
        name = data.get("toolName") or data.get("name") or data.get("tool_name")
        if event == "tool_call":
            s["nc"] = name if name is not None else s["nc"]
            s["args"] = data.get("args", data.get("arguments"))
        else:
            s["nr"] = name if name is not None else s["nr"]
            s["res"] = data.get("output", data.get("result"))
            s["err"] = data.get("error")
    for s in slots.values():
        found.append((s["pos"], s["nc"] or s["nr"], s["args"], s["res"], s["err"]))
    found.sort(key=lambda c: c[0])
    return [(name, "{}" if args is None else _json(args), _result_text(res), _error_text(err))
            for _, name, args, res, err in found if name]


def rl(rec: dict[str, Any]) -> list[tuple[Any, ...]]:
    cs = calls(rec.get("tool_call_sequence") or [])
    ep = f"{rec['rollout_id']}/{rec['branch_index']}"
    rows: list[tuple[Any, ...]] = [(ep, i, f"trace://{ep}/step/{i}/pre", name, err is not None, None)
                                   for i, (name, _, _, err) in enumerate(cs)]
    n = len(cs)
    reward = {"build": 1.0 if rec.get("objective_status") == "pass" else 0.0, "visual": 0.0, "policy": 1.0,
              "cost_penalty": max(-0.1, -0.01 * max(0, n - 1))}
    rows.append((ep, n, f"trace://{ep}/step/{n}/pre", None, None, reward))
    return rows


def adp_steps(rec: dict[str, Any]) -> list[dict[str, Any]]:
    cs = calls(rec.get("tool_call_sequence") or [])
    ep = f"{rec['rollout_id']}/{rec['branch_index']}"
    out: list[dict[str, Any]] = []
    for k, (name, args, res, err) in enumerate(cs):
        out.append({"episode_id": ep, "step_index": 2 * k, "role": "agent", "tool_name": name, "done": False,
                    "content": {"name": name, "arguments": __import__("json").loads(args)}})
        content = res if res is not None else (err if err is not None else "")
        out.append({"episode_id": ep, "step_index": 2 * k + 1, "role": "environment", "tool_name": name,
                    "done": False, "content": content, "is_error": err is not None})
    status = rec.get("objective_status", "unknown")
    score = float(rec.get("objective_score", 0) or 0)
    bonus = min(0.1, max(0.0, float(rec.get("total_score", 0.0) or 0.0) / 1000.0))
    out.append({"episode_id": ep, "step_index": 2 * len(cs), "role": "agent", "tool_name": None, "done": True,
                "content": rec["final_answer"], "reward": 0.0 if status == "unknown" else min(1.0, score + bonus)})
    return out


def _step(k: int, name: str, args: str, res: str | None, err: str | None) -> str:
    result = res[:512] if res is not None else (f"[ERROR] {err}" if err is not None else "")
    return f"[Step {k + 1}] Tool: {name}\n  Arguments: {args}\n  Result: {result}"


def qa(rec: dict[str, Any], min_calls: int = 1) -> dict[str, Any] | None:
    cs = calls(rec.get("tool_call_sequence") or [])
    if len(cs) < min_calls or rec.get("objective_status") != "pass":
        return None
    parts = [f"Task: {rec['task']}", *(_step(k, *c) for k, c in enumerate(cs)), f"Final answer: {rec['final_answer']}"]
    context = "\n\n".join(parts)
    rid = hashlib.sha256(f"{rec['rollout_id']}:{context}".encode()).hexdigest()[:16]
    return {"record_id": rid, "context": context}
