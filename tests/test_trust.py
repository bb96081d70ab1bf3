"""Agent trust score: grades, deny, aggregation, receipts, smoke data, differential, CLI."""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
import sys
from pathlib import Path

import orjson
import polars as pl
import pytest

from engine.admission import decode_evidence
from engine.trust import TrustOptions, grade_expr, group_reports, receipt_integrity, trust_groups
from tests.reference import trust as ref
from tests.reference.admission import adversarial_record

ROOT = Path(__file__).resolve().parent.parent
SMOKE = Path("/work/shared/reference/data/data/smoke/aep-smoke.jsonl")
RECEIPT = Path("/work/shared/reference/data/data/samples/run-receipt.json")


def _decoded(records: list[dict], valid: list[bool] | None = None) -> pl.DataFrame:
    raws = [json.dumps(r) for r in records]
    frame = pl.DataFrame({"source": ["mem"] * len(raws), "line": list(range(1, len(raws) + 1)), "raw": raws})
    frame = frame.with_columns(pl.Series("structural_valid", valid if valid is not None else [True] * len(raws)))
    return decode_evidence(frame)


def _reports(records: list[dict], options: TrustOptions | None = None) -> dict[str, dict]:
    options = options or TrustOptions()
    return {g["group_key"]: g for g in group_reports(trust_groups(_decoded(records), options), options)}


def _record(run_id: str, **extra: object) -> dict:
    return {"schema_version": "aep/v0.3", "run_id": run_id, "created_at_ms": 1, **extra}


def test_grades_need_enough_known_dimensions() -> None:
    cases = [(0.95, 6, "A"), (0.95, 1, "C"), (0.80, 4, "B"), (0.80, 3, "C"), (0.65, 6, "C"), (0.45, 6, "D"),
             (0.30, 6, "F"), (None, 0, "F"), (0.9, 6, "A"), (0.75, 4, "B")]
    frame = pl.DataFrame({"o": [c[0] for c in cases], "k": [c[1] for c in cases]}, schema={"o": pl.Float64, "k": pl.Int64})
    assert frame.select(grade_expr(pl.col("o"), pl.col("k"))).to_series().to_list() == [c[2] for c in cases]
    assert [ref.grade(o, k) for o, k, _ in cases] == [c[2] for c in cases]


def test_deny_decision_zeroes_policy_and_overall() -> None:
    deny = [{"capability": "net", "subject": "a", "resource": "r", "decision": "deny"}]
    group = _reports([_record("r1", capability_decisions=deny)])["r1"]
    assert group["breakdown"]["policy_compliance"] == 0.0
    assert group["overall"] == 0.0 and group["grade"] == "F"


def test_group_aggregates_instead_of_last_record_wins() -> None:
    ok = [{"verifier_id": "v", "passed": True}]
    bad = [{"verifier_id": "v", "passed": False}]
    budget = {"token_budget": {"limit": 1000, "spent": 1500}}
    groups = _reports([_record("a", trace_id="t", verifier_results=ok),
                       _record("b", trace_id="t", verifier_results=bad, budget_ledger=budget)])
    assert list(groups) == ["t"]
    g = groups["t"]
    assert g["records"] == 2 and g["breakdown"]["verifier_agreement"] == 0.5
    assert g["breakdown"]["budget_compliance"] == 0.0 and g["overall"] == 0.0
    assert "evidence_completeness: no state-changing actions found — dimension unknown" in g["notes"]
    assert g["breakdown"]["evidence_completeness"] is None


def test_receipt_integrity(tmp_path: Path) -> None:
    body = {"receipt_version": "run-receipt/v0.1", "run_id": "r", "notes": "é"}
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    good = tmp_path / "good.json"
    good.write_text(json.dumps({**body, "receipt_digest": digest}))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**body, "run_id": "tampered", "receipt_digest": digest}))
    assert receipt_integrity(good)[0] == 1.0
    assert receipt_integrity(bad)[0] == 0.7
    assert receipt_integrity(None) == (0.5, "No run receipt — supply chain integrity unverified")


@pytest.mark.skipif(not SMOKE.is_file(), reason="reference smoke data absent")
def test_smoke_groups_and_calibrated() -> None:
    records = [json.loads(x) for x in SMOKE.read_text().splitlines() if x.strip()]
    groups = _reports(records)
    assert list(groups) == [r["trace_id"] for r in records]
    by_run = {r["run_id"]: groups[r["trace_id"]] for r in records}
    bad = by_run.pop("smoke-run-004")
    assert bad["overall"] == 0.0 and bad["grade"] == "F"
    assert bad["calibrated"] == {"evidence_health": 0.7, "policy_risk": 0.4, "training_eligibility": 0.55,
                                 "composite": 0.55, "label": "low_trust"}
    for g in by_run.values():
        assert g["overall"] == 0.8409 and g["grade"] == "B"
        assert g["calibrated"]["composite"] == 1.0 and g["calibrated"]["label"] == "high_trust"
    if RECEIPT.is_file():
        options = TrustOptions(task_passed=True, benchmark_trust=0.9, receipt=RECEIPT)
        groups = _reports(records, options)
        overall = sorted(g["overall"] for g in groups.values())
        assert overall == [0.0, 0.9259, 0.9259, 0.9259, 0.9259]
        assert sorted(g["grade"] for g in groups.values()) == ["A", "A", "A", "A", "F"]


def test_differential_against_reference() -> None:
    from benchmarks.generate import records

    rng = random.Random(99)
    bases = list(records("aep", 1000, 31))
    parsed: list[dict] = []
    for i in range(12_000):
        rec = adversarial_record(bases[i % len(bases)], rng)
        if rng.random() < 0.6:  # many multi-record groups
            rec["trace_id"] = f"trace-{rng.randrange(3000)}"
        if rng.random() < 0.2:
            rec["budget_ledger"] = {b: {"limit": rng.choice((10, 100)), "spent": rng.choice((5, 50, 500))}
                                    for b in rng.sample(["token_budget", "retry_budget", "tool_budget", "risk_budget"], 2)}
        parsed.append(orjson.loads(orjson.dumps(rec)))
    valid = [rng.random() > 0.03 for _ in parsed]
    options = TrustOptions(task_passed=True)
    got = {g["group_key"]: g for g in group_reports(trust_groups(_decoded(parsed, valid), options), options)}
    members: dict[str, list[int]] = {}
    for i, rec in enumerate(parsed):
        members.setdefault(ref.group_key(rec), []).append(i)
    assert list(got) == list(members)
    multi = 0
    for key, idx in members.items():
        expected = ref.group_score([parsed[i] for i in idx if valid[i]], task_passed=True)
        g = got[key]
        assert (g["overall"], g["grade"], g["known_dimensions"]) == (
            expected["overall"], expected["grade"], expected["known_dimensions"]), key
        assert g["breakdown"] == expected["breakdown"], key
        cal = [ref.calibrated(parsed[i]) for i in idx if valid[i]]
        if len(cal) == 1:
            assert {k: g["calibrated"][k] for k in ref.calibrated(parsed[idx[0]])} == {
                k: round(v, 4) for k, v in cal[0].items()}, key
            assert g["calibrated"]["label"] == ref.label(cal[0]["composite"])
        elif cal:
            multi += 1
            for k in cal[0]:
                assert g["calibrated"][k] == pytest.approx(sum(c[k] for c in cal) / len(cal), abs=1e-4)
    assert multi > 100


def test_cli_trust_score_json(tmp_path: Path) -> None:
    path = tmp_path / "aep.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in [
        _record("r1", trace_id="t1", verifier_results=[{"verifier_id": "v", "passed": True}]),
        _record("r2", trace_id="t1", verifier_results=[{"verifier_id": "v", "passed": False}]),
        _record("r3"),
    ]) + "\n")
    proc = subprocess.run([sys.executable, "-m", "engine", "trust-score", str(path), "--format", "json"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["n_groups"] == 2 and [g["group_key"] for g in out["groups"]] == ["t1", "r3"]
    assert out["groups"][0]["breakdown"]["verifier_agreement"] == 0.5
    proc = subprocess.run([sys.executable, "-m", "engine", "trust-score", str(path), "--receipt",
                           str(tmp_path / "none.json")], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2 and "receipt file not found" in proc.stderr
