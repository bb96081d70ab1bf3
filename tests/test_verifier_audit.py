"""Verifier audit: smoke data, each finding, strength score, agreement with a per-result loop."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from engine.admission import decode_evidence
from engine.verifier_audit import audit_decoded
from tests.reference.admission import adversarial_record

ROOT = Path(__file__).resolve().parent.parent
SMOKE = Path("/work/shared/reference/data/data/smoke/aep-smoke.jsonl")


def _audit(records: list[dict]) -> dict[str, dict]:
    raws = [json.dumps(r) for r in records]
    frame = pl.DataFrame({"source": ["m"] * len(raws), "line": list(range(1, len(raws) + 1)), "raw": raws})
    return {a.verifier_id: a.to_dict() for a in audit_decoded(decode_evidence(frame))}


def _rec(*results: dict) -> dict:
    return {"schema_version": "aep/v0.2", "run_id": "r", "created_at_ms": 1, "verifier_results": list(results)}


@pytest.mark.skipif(not SMOKE.is_file(), reason="reference smoke data absent")
def test_smoke_verifier_audit_cli() -> None:
    proc = subprocess.run([sys.executable, "-m", "engine", "verifier-audit", str(SMOKE), "--format", "json"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    (v,) = json.loads(proc.stdout)["verifiers"]
    assert (v["verifier_id"], v["total_results"], v["pass_rate"], v["strength_score"]) == ("build-passes", 5, 0.8, 1.0)
    assert [f["check_id"] for f in v["findings"]] == ["binary_score_only"]


def test_each_finding_and_strength() -> None:
    many_pass = [{"verifier_id": "oracle-Judge", "passed": True} for _ in range(12)]
    many_fail = [{"verifier_id": "strict", "passed": False, "score": s / 10, "claim_ids": ["c"]} for s in range(11)]
    audits = _audit([_rec(*many_pass), _rec(*many_fail),
                     _rec({"verifier_id": "gt", "passed": True, "score": -0.0, "claim_ids": []},
                          {"verifier_id": "gt", "passed": False, "score": 0.0})])
    oracle = audits["oracle-Judge"]
    assert [f["check_id"] for f in oracle["findings"]] == [
        "oracle_leakage_risk", "high_pass_rate", "no_score_signal", "missing_claim_ids"]
    assert oracle["strength_score"] == pytest.approx(1 - 0.30 - 0.15)
    assert [f["check_id"] for f in audits["strict"]["findings"]] == ["low_pass_rate"]
    assert audits["strict"]["strength_score"] == 1.0
    gt = audits["gt"]  # -0.0 and 0.0 are one score value, as in Python's set()
    assert [f["check_id"] for f in gt["findings"]] == ["binary_score_only", "missing_claim_ids"]
    assert gt["findings"][0]["description"].startswith("only 1 distinct")


def _reference(records: list[dict]) -> dict[str, tuple]:
    grouped: dict[str, list[dict]] = {}
    for record in records:
        for vr in record.get("verifier_results") or []:
            grouped.setdefault(vr.get("verifier_id", "<unknown>"), []).append(vr)
    out = {}
    for vid, results in grouped.items():
        n = len(results)
        rate = sum(1 for r in results if r.get("passed")) / n
        scores = {r["score"] for r in results if r.get("score") is not None}
        checks = []
        if "oracle" in vid.lower() or "ground_truth" in vid.lower():
            checks.append("oracle_leakage_risk")
        if rate > 0.95 and n >= 10:
            checks.append("high_pass_rate")
        if not scores:
            checks.append("no_score_signal")
        elif len(scores) <= 2:
            checks.append("binary_score_only")
        if rate < 0.05 and n >= 10:
            checks.append("low_pass_rate")
        if sum(1 for r in results if not r.get("claim_ids")) > n * 0.5:
            checks.append("missing_claim_ids")
        out[vid] = (n, rate, tuple(checks))
    return out


def test_agrees_with_per_result_loop() -> None:
    from benchmarks.generate import records

    rng = random.Random(4)
    recs = [json.loads(json.dumps(adversarial_record(b, rng))) for b in records("aep", 3000, 12)]
    got = {k: (v["total_results"], v["pass_rate"], tuple(f["check_id"] for f in v["findings"]))
           for k, v in _audit(recs).items()}
    assert got == _reference(recs)
    assert len(got) >= 5
