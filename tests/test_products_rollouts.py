"""RL transitions, ADP episodes and compile-context over both tool-call shapes (reference §4.4, §6.2)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import polars as pl
import pytest

from engine.products.adp import TRAJECTORY_SCHEMA, steps, trajectories
from engine.products.calls import Rollouts, load_rollouts
from engine.products.context import long_context_qa, router_critic
from engine.products.rl import parse_dims, reward_total, transitions

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "fixtures" / "products"
ENTRIES, EVENTS = FIX / "rollouts-entries.jsonl", FIX / "rollouts-events.jsonl"


@pytest.fixture(scope="module", params=["entries", "events"])
def rollouts(request: pytest.FixtureRequest) -> Rollouts:
    return load_rollouts([str(ENTRIES if request.param == "entries" else EVENTS)])


def test_both_shapes_give_the_same_calls() -> None:
    a, b = load_rollouts([str(ENTRIES)]), load_rollouts([str(EVENTS)])
    assert a.calls.equals(b.calls)
    assert a.branches.drop("line", "source").equals(b.branches.drop("line", "source"))
    assert a.branches["n_calls"].to_list() == [3, 20, 0, 2, 4, 4]
    err = a.calls.filter(pl.col("error").is_not_null())
    assert set(err["error"]) == {"timeout"} and err["result"].null_count() == err.height


def _terminal(t: pl.DataFrame, episode: str) -> dict:
    return t.filter((pl.col("episode_id") == episode) & pl.col("done")).to_dicts()[0]


def test_rl_black_box(rollouts: Rollouts) -> None:
    t = transitions(rollouts)
    ep = t.filter(pl.col("episode_id") == "r-001/0")
    assert ep.height == 4 and ep["step_index"].to_list() == [0, 1, 2, 3]
    assert ep["state_ref"][0] == "trace://r-001/0/step/0/pre"
    assert ep["observation_ref"][0] == "trace://r-001/0/step/0/post"
    term = _terminal(t, "r-001/0")
    assert term["reward"] == {"build": 1.0, "visual": 0.0, "policy": 1.0, "cost_penalty": -0.02}
    assert term["action"]["type"] == "final_answer"
    assert t.filter(pl.col("episode_id") == "r-001/0").select(reward_total(pl.col("reward"))).drop_nulls().item() \
        == pytest.approx(1.98)
    assert _terminal(t, "r-001/1")["reward"]["cost_penalty"] == -0.1
    assert t.filter(pl.col("episode_id") == "r-002/0").height == 1
    assert t.height == sum(n + 1 for n in [3, 20, 0, 2, 4, 4])
    assert ep.filter(~pl.col("done"))["reward"].null_count() == 3


def test_rl_visual_reads_build_result(rollouts: Rollouts) -> None:
    t = transitions(rollouts, parse_dims("build,visual,policy,cost"))
    assert _terminal(t, "r-004/0")["reward"]["visual"] == 0.7
    assert _terminal(t, "r-004/1")["reward"]["visual"] == 0.0
    only_build = transitions(rollouts, ("build",))
    assert _terminal(only_build, "r-001/0")["reward"] == {"build": 1.0, "visual": 0.0, "policy": 1.0,
                                                           "cost_penalty": 0.0}


def test_adp_steps_black_box(rollouts: Rollouts) -> None:
    rows = [json.loads(x) for x in steps(rollouts)]
    by_ep: dict[str, list[dict]] = {}
    for r in rows:
        by_ep.setdefault(r["episode_id"], []).append(r)
    assert len(by_ep["r-003/0"]) == 5 and [r["step_index"] for r in by_ep["r-003/0"]] == [0, 1, 2, 3, 4]
    assert [r["role"] for r in by_ep["r-003/0"]] == ["agent", "environment", "agent", "environment", "agent"]
    assert by_ep["r-003/0"][-1]["reward"] == 0.0 and by_ep["r-003/0"][-1]["done"] is True  # unknown status
    assert len(by_ep["r-002/0"]) == 1
    assert by_ep["r-004/0"][-1]["reward"] == 1.0  # min(1, 1 + clamp(50/1000, 0, 0.1))
    assert by_ep["r-001/0"][0]["tool_args"] == {"step": 0, "q": "r-001-0-0"}
    assert json.loads(by_ep["r-001/0"][0]["content"]) == {"name": "tool_0", "arguments": {"step": 0, "q": "r-001-0-0"}}
    env = [r for r in by_ep["r-001/1"] if r["role"] == "environment"]
    assert env[4]["content"] == "timeout" and env[4]["metadata"]["is_error"] is True
    assert env[0]["metadata"]["is_error"] is False and json.loads(env[0]["content"]) == {"ok": True, "n": 0}


def test_adp_trajectories_are_valid(rollouts: Rollouts) -> None:
    docs = [json.loads(x) for x in trajectories(rollouts)]
    assert len(docs) == 6
    for d in docs:
        jsonschema.validate(d, TRAJECTORY_SCHEMA)
    first = docs[0]
    assert first["id"] == "r-001/0" and len(first["content"]) == 1 + 2 * 3 + 1
    assert [c["class_"] for c in first["content"][:3]] == ["text_observation", "api_action", "text_observation"]
    assert first["content"][-1] == {"class_": "message_action", "content": "answer r-001/0", "description": None}


def test_compile_context_black_box(rollouts: Rollouts) -> None:
    qa = long_context_qa(rollouts, min_tool_calls=1)
    assert qa["provenance"].struct.field("rollout_id").to_list() == ["r-001", "r-004"]
    assert qa["n_tool_calls"].to_list() == [3, 4]
    assert qa["context"][0].startswith("Task: task one\n\n[Step 1] Tool: tool_0")
    assert qa["context"][0].endswith("\n\nFinal answer: answer r-001/0")
    crit = router_critic(rollouts)
    four = crit.filter(pl.col("provenance").struct.field("rollout_id") == "r-004")
    passing = four.filter(pl.col("provenance").struct.field("branch_index") == 0)
    failing = four.filter(pl.col("provenance").struct.field("branch_index") == 1)
    assert passing["n_remaining_steps"].to_list() == [3, 2, 1, 0]
    assert passing["decision"].to_list() == ["continue", "continue", "continue", "stop"]
    assert failing["decision"][-1] == "ask"
    unknown = crit.filter(pl.col("provenance").struct.field("rollout_id") == "r-003")
    assert unknown["decision"].to_list() == ["continue", "continue"]
    assert passing["partial_context"][0] == "Task: task four"
    assert passing["partial_context"][1].startswith("Task: task four\n\n[Step 1]")
    assert long_context_qa(rollouts, min_tool_calls=4).height == 1


def _engine(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli", *args], capture_output=True, text=True, cwd=ROOT, timeout=120)


@pytest.mark.parametrize("command", [["rl-export"], ["adp-export"], ["adp-export", "--layout", "trajectory"],
                                     ["compile-context", "--mode", "router_critic"], ["compile-context"]])
def test_cli_same_output_for_both_shapes(command: list[str]) -> None:
    a, b = _engine(*command, str(ENTRIES)), _engine(*command, str(EVENTS))
    assert a.returncode == 0 and b.returncode == 0, a.stderr + b.stderr
    assert a.stdout == b.stdout and a.stdout.count("\n") > 0


def test_cli_rl_export_to_file(tmp_path: Path) -> None:
    out = tmp_path / "rl.jsonl"
    r = _engine("rl-export", str(ENTRIES), "--reward", "build,visual", "--out", str(out))
    assert r.returncode == 0 and "[ok] wrote 39 RL transitions" in r.stderr
    assert len(out.read_text().splitlines()) == 39
    bad = _engine("rl-export", str(ENTRIES), "--reward", "bogus")
    assert bad.returncode == 2 and "unknown reward dimension" in bad.stderr


def test_cli_bad_lines_are_quarantined_not_fatal(tmp_path: Path) -> None:
    src = tmp_path / "mixed.jsonl"
    src.write_text('{"schema_version":"rollout-wire/v1","rollout_id":"x","branch_index":0}\nnot json\n'
                   + ENTRIES.read_text())
    out = tmp_path / "adp.jsonl"
    r = _engine("adp-export", str(src), "--out", str(out), "--format", "json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["branches"] == 6 and summary["rejected"] == 1 and summary["unreadable"] == 1
    assert summary["quarantined"] == 2
    q = [json.loads(x) for x in Path(summary["quarantine_file"]).read_text().splitlines()]
    assert [(x["line"], x["reason"]) for x in q] == [(1, "missing task"), (2, "not a JSON object")]
    # a line that starts like an object but is not JSON is unreadable too, not "rejected"
    src.write_text(src.read_text() + '{"broken\n')
    r = _engine("rl-export", str(src), "--out", str(tmp_path / "rl.jsonl"), "--format", "json")
    summary = json.loads(r.stdout)
    assert (summary["rejected"], summary["unreadable"], summary["quarantined"]) == (1, 2, 3)
    missing = _engine("rl-export", str(tmp_path / "nope.jsonl"))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
