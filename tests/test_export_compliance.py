"""Compliance → SFT/DPO (reference §4.2) and AEP train_router runs → router records (§3.14)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from engine.export.pipeline import ExportOptions, run_export

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT.parent / "shared" / "reference" / "data" / "fixtures" / "golden"
SMOKE_AEP = ROOT.parent / "shared" / "reference" / "data" / "data" / "smoke" / "aep-smoke.jsonl"
FIX = ROOT / "fixtures" / "export"


def _compliance_fixture(tmp: Path) -> Path:
    base = {"schema_version": "compliance-eval-record/v1", "task_spec_hash": "ab" * 32, "model": "m", "mode": "full_pcl",
            "token_cost": {}, "latency_ms": 1.0}
    recs = [
        {**base, "task_id": "t1", "violations": [], "repair_trace": [], "repair_rounds": 0, "final_pass": True,
         "artifact": "A clean answer that passes every constraint."},
        {**base, "task_id": "t2", "violations": [
            {"constraint_id": "c1", "level": "hard", "category": "format", "hint": "missing title", "detected_at": "post_decode"},
            {"constraint_id": "c2", "level": "soft", "category": "style", "hint": "too long", "detected_at": "post_decode"}],
         "repair_trace": [{"round": 1, "violation_ids": ["c1"], "strategy": "patch", "ok": True},
                          {"round": 2, "violation_ids": ["c2"], "strategy": "patch", "ok": True},
                          {"round": 3, "violation_ids": ["zz"], "strategy": "patch", "ok": True}],
         "repair_rounds": 3, "final_pass": True, "artifact": "<<Title>> short answer, contact ops@example.com"},
        {**base, "task_id": "t3", "violations": [], "repair_trace": [], "final_pass": False, "artifact": "bad"},
    ]
    p = tmp / "c.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in recs) + "{not json\n")
    return p


def test_compliance_sft_and_dpo(tmp_path: Path) -> None:
    out = tmp_path / "x"
    res = run_export(ExportOptions(out_dir=out, compliance=(str(_compliance_fixture(tmp_path)),)))
    sft = pl.read_ndjson(out / "compliance_sft.jsonl")
    users = [m[0]["content"] for m in sft.get_column("messages").to_list()]
    assert users[0] == '{"task_id": "t1", "mode": "full_pcl"}'
    assert users[1].endswith("Constraint violations:\n- [hard/format] missing title\n- [soft/style] too long")
    assert users[2].endswith("Round 1 violations:\n- [hard] missing title")
    assert users[3].endswith("Round 2 violations:\n- [soft] too long")
    assert len(users) == 4  # round 3 matches no violation; t3 failed
    assert all("ops@example.com" not in m[1]["content"] for m in sft.get_column("messages").to_list())
    dpo = pl.read_ndjson(out / "compliance_dpo.jsonl")
    assert dpo.height == 2
    rej = dpo.get_column("rejected").to_list()[0][0]["content"]
    assert rej.startswith("[pre-repair draft — round 1]\nViolations present:\n- missing title\n\nDraft artifact")
    assert res.counts["compliance"]["invalid_records"] == 1  # type: ignore[index]
    q = pl.read_ndjson(out / "quarantine.jsonl")
    assert q.filter(pl.col("stage") == "compliance_input").get_column("line").to_list() == [4]


@pytest.mark.skipif(not GOLDEN.is_dir(), reason="reference data absent")
def test_golden_compliance_counts(tmp_path: Path) -> None:
    files = tuple(str(p) for p in sorted(GOLDEN.glob("compliance-*.jsonl")))
    res = run_export(ExportOptions(out_dir=tmp_path / "x", compliance=files))
    # reference §4.2 [run]: two answerer SFT, one repairer SFT, one repair-round DPO pair
    assert res.counts["compliance"]["rows"] == {"compliance_sft": 3, "compliance_dpo": 1}  # type: ignore[index]


@pytest.mark.skipif(not SMOKE_AEP.is_file(), reason="reference data absent")
def test_router_records_from_train_router_runs(tmp_path: Path) -> None:
    out = tmp_path / "x"
    res = run_export(ExportOptions(out_dir=out, aep=(str(SMOKE_AEP),), rollout=(str(FIX / "rollout-branches.jsonl"),)))
    router = pl.read_ndjson(out / "router.jsonl")
    assert router.get_column("run_id").to_list() == ["smoke-run-004"]  # the one train_router run of the smoke set
    assert router.columns[:3] == ["task_id", "features", "label"]
    assert len(router.get_column("features").to_list()[0]) == 15
    assert res.admission["runs"] == 5  # type: ignore[index]


def test_aep_lines_that_are_not_json_are_rejects_not_a_crash(tmp_path: Path) -> None:
    # fixtures/store/aep.jsonl has a line `{"run_id": "broken", not json` and one record without run_id
    store = ROOT / "fixtures" / "store"
    res = run_export(ExportOptions(out_dir=tmp_path / "x", aep=(str(store / "aep.jsonl"),),
                                   rollout=(str(store / "rollouts.jsonl"),)))
    assert res.admission["records"] == 6 and res.admission["runs"] == 4  # type: ignore[index]
    assert res.admission["by_category"]["reject"] == 2  # type: ignore[index]
    assert pl.read_ndjson(tmp_path / "x" / "router.jsonl").height == 2
