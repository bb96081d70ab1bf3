"""Replay engine (reference §3.21, §6.2): determinism, mismatches, debug stops, first-pair regression."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from engine.products.replay import (
    Cassette,
    StateStore,
    call_identity,
    debug_run,
    regression,
    replay_run,
    score_runs,
)

ROOT = Path(__file__).resolve().parent.parent
SMOKE = Path("/work/shared/reference/data/data/smoke/aep-smoke.jsonl")


def trace(**over: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {"schema_version": "aep/v0.2", "run_id": "run-1", "created_at_ms": 1, "actions": [
        {"action_id": "a0", "tool_name": "read", "state_changing": False, "timestamp_ms": 1, "result_digest": "r0"},
        {"action_id": "a1", "tool_name": "write", "state_changing": True, "timestamp_ms": 2, "args": {"p": 1},
         "result_digest": "r1", "post_state_digest": "s1"},
        {"action_id": "a2", "tool_name": "write", "state_changing": True, "timestamp_ms": 3, "result_digest": "r2"},
    ]}
    rec.update(over)
    return rec


def test_clean_trace_is_deterministic() -> None:
    res = replay_run(trace())
    assert res.determinism_score == 1.0 and res.is_deterministic and res.actions_replayed == 3


def test_wrong_pre_state_is_one_causal_mismatch() -> None:
    rec = trace()
    rec["actions"][1]["pre_state_digest"] = "WRONG"
    res = replay_run(rec)
    assert [m["kind"] for m in res.mismatches] == ["causal"]
    assert res.determinism_score == pytest.approx(2 / 3)


def test_matching_pre_state_passes() -> None:
    store = StateStore(0)
    rec = trace()
    rec["actions"][0]["pre_state_digest"] = store.digest()
    assert replay_run(rec).is_deterministic


def test_tampered_cassette_is_a_side_effect_divergence() -> None:
    rec = trace()
    tape = Cassette.from_actions(rec["actions"])
    ident, res_d, post = tape.entries[-1]
    tape.entries[-1] = (("delete", ident[1], ident[2]), res_d, post)
    res = replay_run(rec, cassette=tape)
    assert res.to_dict()["side_effect_divergences"] == 1
    assert res.mismatches[0]["action_id"] == "a2" and not res.is_deterministic
    assert call_identity(rec["actions"][1])[0] == "write"


def test_drifting_executor_is_fidelity() -> None:
    res = replay_run(trace(), executor=lambda a, s, c: ("drift", None))
    assert {m["kind"] for m in res.mismatches} == {"fidelity"} and res.determinism_score == 0.0


def test_debug_stop_before_action() -> None:
    out = debug_run(trace(), "a1")
    assert out["stop_reason"] == "action_id" and out["stop_action_id"] == "a1"
    assert out["result"]["actions_replayed"] == 1 and out["result"]["actions_matched"] == 1
    assert out["state_at_stop"]["_seed"] == 0
    rec = trace()
    rec["actions"][2]["pre_state_digest"] = "WRONG"
    stopped = debug_run(rec, None)
    assert stopped["stop_reason"] == "mismatch" and stopped["stop_action_id"] == "a2"
    assert stopped["state_at_stop"] == {"_seed": 0, "post_state:a1": "s1"}


def test_regression_first_pair_sorted() -> None:
    base, cand = trace(), trace(run_id="run-2")
    cand["actions"][2]["result_digest"] = "changed"
    cand["actions"][0]["result_digest"] = "changed"
    reg = regression(base, cand)
    assert reg["actions_compared"] == 3 and [d["action_id"] for d in reg["divergences"]] == ["a0", "a2"]
    assert reg["regression_rate"] == pytest.approx(2 / 3)
    report = score_runs([base, cand])
    assert report["mode"] == "score" and report["regression_first_pair"]["has_regression"]


def test_cli_replay(tmp_path: Path) -> None:
    src = tmp_path / "runs.jsonl"
    src.write_text(json.dumps(trace()) + "\nnot json\n" + json.dumps(trace(run_id="run-2")) + "\n")
    p = subprocess.run([sys.executable, "-m", "cli", "replay", str(src)], capture_output=True, text=True, cwd=ROOT,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert [r["determinism_score"] for r in out["runs"]] == [1.0, 1.0]
    dbg = subprocess.run([sys.executable, "-m", "cli", "replay", str(src), "--debug-action", "a1"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert json.loads(dbg.stdout)["mode"] == "debug"
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    e = subprocess.run([sys.executable, "-m", "cli", "replay", str(empty)], capture_output=True, text=True, cwd=ROOT,
                       timeout=120)
    assert e.returncode != 0 and "Traceback" not in e.stderr


@pytest.mark.skipif(not SMOKE.exists(), reason="reference smoke data absent")
def test_smoke_runs_all_deterministic() -> None:
    runs = [json.loads(x) for x in SMOKE.read_text().splitlines() if x.strip()]
    assert all(r["determinism_score"] == 1.0 for r in score_runs(runs)["runs"])
