"""The replay engine (reference §3.21): re-execute recorded AEP runs against a simulated state store.

A run is replayed action by action. The state store is a dict (initially `{"_seed": seed}`) whose digest is
SHA-256 of its canonical JSON (sorted keys, compact, non-ASCII kept); it is snapshotted before each action.
The cassette holds the run's state-changing actions in order, each identified by (tool_name, digest of
`args` or "" when absent, action_id). For every action:
1. causal: a recorded `pre_state_digest` must equal the store's digest → else a `causal` mismatch;
2. execution (the default executor): a state-changing action consumes the next cassette entry (a different
   identity or an exhausted cassette → `side_effect` mismatch), stores `post_state:<action_id>` = the
   recorded post digest when present and yields the recorded `result_digest`; a pure action yields its
   recorded digest;
3. fidelity: recorded and replayed result digests differ (both present) → `fidelity` mismatch.
determinism_score = matched / replayed (1.0 without actions); deterministic = every action matched.
Debug mode stops before a requested action or at the first mismatch (state rolled back to that action's
pre-snapshot). Regression compares two runs over their common action ids in sorted order (the original
iterated a set: nondeterministic order), a divergence being differing recorded result digests.
Replay is sequential within a run by nature; runs are independent and each is a short Python walk.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Executor = Callable[[dict[str, Any], "StateStore", "Cassette"], tuple[str | None, str | None]]


def canonical_digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class StateStore:
    def __init__(self, seed: int = 0) -> None:
        self._data: dict[str, Any] = {"_seed": seed}
        self.snapshots: list[dict[str, Any]] = []

    def set(self, key: str, value: Any) -> None:
        self._data[key] = value

    def snapshot(self) -> None:
        self.snapshots.append(dict(self._data))

    def restore(self, index: int) -> None:
        self._data = dict(self.snapshots[index])

    def as_dict(self) -> dict[str, Any]:
        return dict(self._data)

    def digest(self) -> str:
        return canonical_digest(self._data)


def call_identity(action: dict[str, Any]) -> tuple[str, str, str | None]:
    args = action.get("args")
    return (str(action.get("tool_name", "")), canonical_digest(args) if args else "", action.get("action_id"))


@dataclass
class Cassette:
    entries: list[tuple[tuple[str, str, str | None], str | None, str | None]]
    cursor: int = 0

    @classmethod
    def from_actions(cls, actions: list[dict[str, Any]]) -> Cassette:
        return cls([(call_identity(a), a.get("result_digest"), a.get("post_state_digest"))
                    for a in actions if a.get("state_changing")])

    def consume(self, action: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
        """(result digest, post digest, divergence message or None)."""
        ident = call_identity(action)
        if self.cursor >= len(self.entries):
            return None, None, f"unrecorded side effect {ident[0]!r} (cassette exhausted)"
        expected, result, post = self.entries[self.cursor]
        if expected != ident:
            return None, None, f"cassette step {self.cursor} expected {expected[0]!r} ({expected[2]}), got {ident[0]!r} ({ident[2]})"
        self.cursor += 1
        return result, post, None


def default_executor(action: dict[str, Any], state: StateStore, cassette: Cassette) -> tuple[str | None, str | None]:
    """(replayed result digest, divergence message or None)."""
    if action.get("state_changing"):
        result, post, divergence = cassette.consume(action)
        if divergence is None and post is not None:
            state.set(f"post_state:{action.get('action_id')}", post)
        return result, divergence
    return action.get("result_digest"), None


@dataclass
class ReplayResult:
    run_id: str | None
    trace_id: str | None
    actions_total: int = 0
    actions_replayed: int = 0
    actions_matched: int = 0
    mismatches: list[dict[str, Any]] = field(default_factory=list)
    final_state_digest: str | None = None
    stop_reason: str = "completed"
    stop_action_id: str | None = None

    @property
    def determinism_score(self) -> float:
        return self.actions_matched / self.actions_replayed if self.actions_replayed else 1.0

    @property
    def is_deterministic(self) -> bool:
        return self.actions_matched == self.actions_replayed and not self.mismatches

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "trace_id": self.trace_id, "determinism_score": self.determinism_score,
                "is_deterministic": self.is_deterministic, "actions_total": self.actions_total,
                "actions_replayed": self.actions_replayed, "actions_matched": self.actions_matched,
                "final_state_digest": self.final_state_digest,
                "side_effect_divergences": sum(m["kind"] == "side_effect" for m in self.mismatches),
                "mismatches": self.mismatches}


def replay_run(record: dict[str, Any], *, executor: Executor | None = None, cassette: Cassette | None = None,
               seed: int = 0, stop_at: str | None = None, stop_at_mismatch: bool = False,
               state: StateStore | None = None) -> ReplayResult:
    actions = [a for a in (record.get("actions") or []) if isinstance(a, dict)]
    run = executor or default_executor
    tape = cassette if cassette is not None else Cassette.from_actions(actions)
    store = state if state is not None else StateStore(seed)
    res = ReplayResult(record.get("run_id"), record.get("trace_id"), actions_total=len(actions))
    for action in actions:
        aid = action.get("action_id")
        if stop_at is not None and aid == stop_at:
            res.stop_reason, res.stop_action_id = "action_id", aid
            break
        store.snapshot()
        found: list[dict[str, Any]] = []
        pre = action.get("pre_state_digest")
        current = store.digest()
        if pre is not None and pre != current:
            found.append({"action_id": aid, "kind": "causal", "recorded": pre, "replayed": current})
        recorded = action.get("result_digest")
        replayed, divergence = run(action, store, tape)
        if divergence is not None:
            found.append({"action_id": aid, "kind": "side_effect", "recorded": recorded, "replayed": None,
                          "detail": divergence})
        elif recorded is not None and replayed is not None and recorded != replayed:
            found.append({"action_id": aid, "kind": "fidelity", "recorded": recorded, "replayed": replayed})
        res.actions_replayed += 1
        res.mismatches.extend(found)
        if not found:
            res.actions_matched += 1
        elif stop_at_mismatch:
            store.restore(len(store.snapshots) - 1)
            res.stop_reason, res.stop_action_id = "mismatch", aid
            break
    res.final_state_digest = store.digest()
    return res


def debug_run(record: dict[str, Any], action_id: str | None, **kw: Any) -> dict[str, Any]:
    store = StateStore(kw.pop("seed", 0))
    res = replay_run(record, stop_at=action_id, stop_at_mismatch=True, state=store, **kw)
    return {"mode": "debug", "run_id": res.run_id, "stop_reason": res.stop_reason,
            "stop_action_id": res.stop_action_id, "state_at_stop": store.as_dict(),
            "state_digest_at_stop": store.digest(), "snapshot_count": len(store.snapshots), "result": res.to_dict()}


def regression(baseline: dict[str, Any], candidate: dict[str, Any]) -> dict[str, Any]:
    def digests(rec: dict[str, Any]) -> dict[Any, Any]:
        return {a.get("action_id"): a.get("result_digest") for a in (rec.get("actions") or []) if isinstance(a, dict)}

    b, c = digests(baseline), digests(candidate)
    common = sorted((k for k in b.keys() & c.keys()), key=lambda k: (k is None, str(k)))
    div = [{"action_id": k, "baseline_digest": b[k], "candidate_digest": c[k]} for k in common if b[k] != c[k]]
    return {"baseline_run_id": baseline.get("run_id"), "candidate_run_id": candidate.get("run_id"),
            "actions_compared": len(common), "regression_rate": len(div) / len(common) if common else 0.0,
            "has_regression": bool(div), "divergences": div}


def score_runs(records: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"mode": "score", "runs": [replay_run(r).to_dict() for r in records]}
    if len(records) >= 2:
        out["regression_first_pair"] = regression(records[0], records[1])
    return out
