"""audit-claim verdicts: the case-study trap, a real improvement, too few pairs, the case-study logs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.stats.claim import AuditConfig, audit_claim, audit_json
from engine.stats.evallog import read_eval_log
from engine.stats.paired import PairedConfig

REF_DATA = Path(__file__).parents[1].parent / "shared/reference/data"
needs_ref = pytest.mark.skipif(not (REF_DATA / "data").is_dir(), reason="reference data not present")

CAP = 100
LONG = "step " * 120  # 600 chars = 300 char/2 tokens, no answer line: hits a cap of 100
OK = "so the answer is\n#### 5"
WRONG = "so the answer is\n#### 3"


def _items(spec: list[tuple[int, bool, str]], prefix: str = "t") -> list[dict[str, Any]]:
    out, k = [], 0
    for count, correct, text in spec:
        for _ in range(count):
            out.append({"id": f"{prefix}{k:04d}", "correct": correct, "gen_text": text})
            k += 1
    return out


def write_logs(tmp_path: Path, a_spec: list[tuple[int, bool, str]], b_spec: list[tuple[int, bool, str]],
               meta: dict[str, Any] | None = None) -> tuple[Path, Path]:
    pa, pb = tmp_path / "a.json", tmp_path / "b.json"
    pa.write_text(json.dumps({"results": _items(a_spec), "meta": meta or {}}))
    pb.write_text(json.dumps({"results": _items(b_spec), "meta": meta or {}}))
    return pa, pb


def trap_logs(tmp_path: Path) -> tuple[Path, Path]:
    """B (baseline) loses 20 extra items only because its answers were cut off at the cap."""
    # Same item order in both specs: 120 both right, 30 both wrong, 15 A-only right, 15 B-only right,
    # then 20 items A right and B wrong with B's generation truncated.
    a = [(120, True, OK), (30, False, WRONG), (15, True, OK), (15, False, WRONG), (20, True, OK)]
    b = [(120, True, OK), (30, False, WRONG), (15, False, WRONG), (15, True, OK), (20, False, LONG)]
    return write_logs(tmp_path, a, b, {"max_new_tokens": CAP})


def _audit(pa: Path, pb: Path, **kw: Any) -> Any:
    cfg = AuditConfig(paired=PairedConfig(bootstrap=500), **kw)
    return audit_claim(read_eval_log(pa), read_eval_log(pb), cfg)


def test_truncation_trap_is_caught(tmp_path: Path) -> None:
    r = _audit(*trap_logs(tmp_path))
    assert (r.naive.b, r.naive.c) == (35, 15) and r.naive.p_value < 0.05
    assert r.trunc_flags_b.sum() == 20 and r.trunc_flags_a.sum() == 0
    assert (r.trunc_b_count, r.trunc_c_count) == (0, 20) and r.trunc_p < 1e-5
    assert r.untruncated.n == 180 and (r.untruncated.b, r.untruncated.c) == (15, 15)
    assert r.untruncated.p_value >= 0.05
    assert r.verdict == "confounded-by-truncation"
    doc = audit_json(r)
    assert doc["verdict"] == "confounded-by-truncation"
    assert doc["truncation"]["mcnemar"]["c"] == 20
    assert doc["truncation"]["b"]["max_new_tokens_source"] == "meta.max_new_tokens"
    codes = [f["code"] for f in doc["findings"]]
    assert codes[0] == "paired-test" and codes[-1] == "verdict"
    for f in doc["findings"]:
        if f["code"] in ("paired-test", "truncation-test", "untruncated-test", "truncation-rates"):
            assert f["numbers"], f  # every finding names the numbers it rests on
    verdict = doc["findings"][-1]["message"]
    assert "p=" in verdict and "180" in verdict


def test_real_improvement_is_significant(tmp_path: Path) -> None:
    a = [(120, True, OK), (40, True, OK), (10, False, WRONG), (30, False, WRONG)]
    b = [(120, True, OK), (40, False, WRONG), (10, True, OK), (30, False, WRONG)]
    r = _audit(*write_logs(tmp_path, a, b), max_new_tokens=CAP)
    assert r.naive.p_value < 0.05 and r.untruncated.p_value < 0.05
    assert r.verdict == "significant"


def test_truncation_masking_a_difference(tmp_path: Path) -> None:
    # A is better on untruncated items, but A's own wrong answers pile up as truncations.
    a = [(100, True, OK), (30, True, OK), (5, False, WRONG), (40, False, LONG)]
    b = [(100, True, OK), (30, False, WRONG), (5, True, OK), (40, True, OK)]
    r = _audit(*write_logs(tmp_path, a, b), max_new_tokens=CAP)
    assert r.naive.p_value >= 0.05 and r.untruncated.p_value < 0.05 and r.trunc_p < 0.05
    assert r.verdict == "confounded-by-truncation"


def test_no_difference(tmp_path: Path) -> None:
    a = [(50, True, OK), (10, True, OK), (10, False, WRONG), (30, False, WRONG)]
    b = [(50, True, OK), (10, False, WRONG), (10, True, OK), (30, False, WRONG)]
    r = _audit(*write_logs(tmp_path, a, b), max_new_tokens=CAP)
    assert r.verdict == "no-evidence-of-improvement" and r.naive.p_value == 1.0


def test_insufficient_pairs(tmp_path: Path) -> None:
    a = [(5, True, OK)]
    b = [(5, False, WRONG)]
    r = _audit(*write_logs(tmp_path, a, b), max_new_tokens=CAP)
    assert r.verdict == "insufficient-pairs"
    assert r.findings[-1].numbers["n"] == 5


def test_disjoint_ids_give_insufficient_pairs(tmp_path: Path) -> None:
    pa, pb = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    pa.write_text('{"id": "x", "correct": true}\n')
    pb.write_text('{"id": "y", "correct": true}\n')
    r = _audit(pa, pb, max_new_tokens=CAP)
    assert r.verdict == "insufficient-pairs" and r.naive.n == 0
    assert {f.code for f in r.findings} >= {"only-in-a", "only-in-b"}


@needs_ref
def test_case_study_logs_have_no_evidence() -> None:
    r = audit_claim(read_eval_log(REF_DATA / "data/winner_max_new768.json"),
                    read_eval_log(REF_DATA / "data/instruct_max_new768.json"),
                    AuditConfig(paired=PairedConfig(bootstrap=200), max_new_tokens=768))
    assert r.verdict == "no-evidence-of-improvement"
    assert (r.naive.n, r.naive.b, r.naive.c) == (199, 27, 29)
    assert round(r.naive.p_value, 4) == 0.8939
    assert r.trunc_a.n_truncated == 6 and r.trunc_b.n_truncated == 6


def test_significant_reversal_on_untruncated_items_is_confounded(tmp_path: Path) -> None:
    # Naively A wins (B's wrong answers are truncated), but on clean items B is significantly better.
    a = [(100, True, OK), (5, True, OK), (20, False, WRONG), (45, True, OK), (30, False, WRONG)]
    b = [(100, True, OK), (5, False, WRONG), (20, True, OK), (45, False, LONG), (30, False, WRONG)]
    r = _audit(*write_logs(tmp_path, a, b), max_new_tokens=CAP)
    assert r.naive.delta > 0 and r.naive.p_value < 0.05
    assert r.untruncated.delta < 0 and r.untruncated.p_value < 0.05
    assert r.verdict == "confounded-by-truncation"
    assert "other way" in r.findings[-1].message


def test_generator_eval_pair_is_flagged(tmp_path: Path) -> None:
    """The benchmark generator's eval pair (baseline truncated far more often) is the trap too."""
    generate = pytest.importorskip("benchmarks.generate")
    pa, pb = generate.write_eval_pair(tmp_path, 200, 1)
    r = audit_claim(read_eval_log(pb), read_eval_log(pa), AuditConfig(paired=PairedConfig(bootstrap=200)))
    assert r.verdict == "confounded-by-truncation"
