"""Router features, labels, rule classifier and evaluation (reference §3.14, §6.2)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from engine.products import router as r

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "fixtures" / "products"
SMOKE = Path("/work/shared/reference/data/data/smoke/aep-smoke.jsonl")


def _raw(path: Path) -> pl.Series:
    return pl.Series("raw", [ln for ln in path.read_text().splitlines() if ln.strip()])


def test_rule_classifier_black_box() -> None:
    got = r.classify(r.from_router_records(_raw(FIX / "router-records.jsonl")))
    pred = dict(zip(got["task_id"], got["predicted_label"], strict=True))
    assert pred == {"t-esc": "need_large_model", "t-rounds": "need_large_model", "t-valid": "need_repair",
                    "t-lat": "need_large_model", "t-hard": "need_large_model", "t-one": "need_repair",
                    "t-clean": "small_model_can_handle", "t-wrong": "small_model_can_handle"}
    reasons = dict(zip(got["task_id"], got["reason"], strict=True))
    assert reasons["t-esc"] == "already escalated in prior round"
    assert reasons["t-clean"] == "all thresholds satisfied"


def test_thresholds_are_options() -> None:
    feats = r.from_router_records(_raw(FIX / "router-records.jsonl"))
    loose = r.classify(feats, r.Thresholds(max_latency_ms=50000.0, hard_constraint_limit=20))
    pred = dict(zip(loose["task_id"], loose["predicted_label"], strict=True))
    assert pred["t-lat"] == "small_model_can_handle" and pred["t-hard"] == "small_model_can_handle"


def test_evaluate_confusion_and_counts() -> None:
    s = r.evaluate(r.classify(r.from_router_records(_raw(FIX / "router-records.jsonl"))))
    assert s["n"] == 8 and s["n_correct"] == 7 and s["accuracy"] == 0.875
    m = s["confusion_matrix"]["matrix"]
    assert s["confusion_matrix"]["labels"] == list(r.LABELS)
    assert m[1][0] == 1  # true need_repair predicted small
    assert s["per_label"]["small_model_can_handle"] == {"tp": 1, "fp": 1, "fn": 0}
    assert s["per_label"]["need_repair"] == {"tp": 2, "fp": 0, "fn": 1}
    assert s["per_label"]["need_large_model"] == {"tp": 4, "fp": 0, "fn": 0}


def test_labels_and_features_from_specs() -> None:
    f = r.from_specs(_raw(FIX / "task-specs.jsonl"), _raw(FIX / "eval-records.jsonl"))
    labels = dict(zip(f["task_id"], f["label"], strict=True))
    assert labels == {"s0": "small_model_can_handle", "s1": "need_repair", "s2": "need_repair",
                      "s3": "need_large_model", "s4": "need_large_model", "s5": None}
    row = f.filter(pl.col("task_id") == "s1").to_dicts()[0]
    assert (row["taskspec_n_constraints"], row["taskspec_n_hard"], row["taskspec_has_tools"],
            row["taskspec_n_allowed_tools"], row["taskspec_max_repair_rounds"]) == (2, 1, 1, 2, 3)
    assert row["eval_violation_count"] == row["eval_repair_rounds"] == 1
    none = f.filter(pl.col("task_id") == "s5").to_dicts()[0]
    assert none["eval_tool_validity_rate"] == 1.0 and none["eval_repair_rounds"] == 0
    assert list(f.columns[2:]) == list(r.FEATURES)


def test_aep_bridge() -> None:
    aep = {"schema_version": "aep/v0.1", "run_id": "x", "created_at_ms": 1,
           "actions": [{"action_id": f"a{i}", "tool_name": "t", "state_changing": i == 0, "timestamp_ms": 1}
                       for i in range(3)]}
    deny = dict(aep, run_id="d", capability_decisions=[
        {"capability": "c", "subject": "s", "resource": "r", "decision": "deny"}] * 2)
    fail = dict(aep, run_id="f", verifier_results=[{"verifier_id": "v", "passed": False}])
    f = r.from_aep(pl.Series([json.dumps(x) for x in (aep, deny, fail)]))
    assert f["eval_tool_validity_rate"][0] == pytest.approx(1 / 3)
    assert f["label"].to_list() == ["small_model_can_handle", "need_human_review", "need_repair"]
    assert f["eval_escalated"].to_list() == [0, 0, 1]


def test_cli_router(tmp_path: Path) -> None:
    out = tmp_path / "eval.json"
    p = subprocess.run([sys.executable, "-m", "cli", "router", str(FIX / "router-records.jsonl"), "--out", str(out),
                        "--format", "json"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["accuracy"] == 0.875
    assert len(json.loads(out.read_text())["predictions"]) == 8
    specs = subprocess.run([sys.executable, "-m", "cli", "router", str(FIX / "task-specs.jsonl"), "--evals",
                            str(FIX / "eval-records.jsonl"), "--format", "json"],
                           capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert specs.returncode == 0, specs.stderr
    assert json.loads(specs.stdout)["n"] == 5 and json.loads(specs.stdout)["n_unlabelled"] == 1


@pytest.mark.skipif(not SMOKE.exists(), reason="reference smoke data absent")
def test_router_on_smoke_aep() -> None:
    f = r.router_inputs([str(SMOKE)])
    assert f.height == 5 and f["task_id"].null_count() == 0
