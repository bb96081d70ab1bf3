"""Evidence Admission Score: reference cases, corrections, policy, exact rounding, differential."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from engine.admission import (
    CATEGORIES,
    admit_records,
    decode_evidence,
    format_2f,
    py_round,
    score_frame,
)
from engine.admission_run import summarize
from engine.errors import InputError
from engine.policy import DIMENSIONS, load_policy
from tests.reference.admission import adversarial_record, score_record

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "fixtures" / "admission" / "cases.jsonl"
SMOKE = Path("/work/shared/reference/data/data/smoke/aep-smoke.jsonl")


def _frame(lines: list[str], source: str = "mem") -> pl.DataFrame:
    return pl.DataFrame({"source": [source] * len(lines), "line": list(range(1, len(lines) + 1)), "raw": lines},
                        schema={"source": pl.String, "line": pl.Int64, "raw": pl.String})


def _cases() -> pl.DataFrame:
    from engine.io import load_records
    from engine.validate import structural_valid

    records = load_records([str(CASES)]).records
    return records.with_columns(structural_valid(records))


def _by_run(scored: pl.DataFrame) -> dict[str, dict]:
    return {row["run_id"]: row for row in scored.drop("raw").to_dicts()}


@pytest.mark.skipif(not SMOKE.is_file(), reason="reference smoke data absent")
def test_smoke_scores_categories_and_mean() -> None:
    lines = [ln for ln in SMOKE.read_text(encoding="utf-8").splitlines() if ln.strip()]
    scored = admit_records(_frame(lines, "smoke"), load_policy())
    assert scored["score"].to_list() == [0.925] * 5
    cats = dict(zip(scored["run_id"], scored["category"], strict=True))
    assert cats.pop("smoke-run-004") == "train_router"
    assert set(cats.values()) == {"train_sft"} and len(cats) == 4
    summary = summarize(scored, load_policy())
    assert summary["mean_score"] == 0.925
    assert summary["by_category"]["train_sft"] == 4 and summary["by_category"]["train_router"] == 1
    assert set(summary["by_category"]) == set(CATEGORIES)


def test_reference_cases_default_policy() -> None:
    rows = _by_run(admit_records(_cases(), load_policy()))
    assert rows["v04"]["score"] == 0.925 and rows["v04"]["category"] == "train_sft"
    assert rows["v04"]["dim_verifier_strength"] == 0.5
    assert rows["v05"]["score"] == 0.925 and rows["v05"]["category"] == "train_sft"  # v0.5 is known
    assert rows["full"]["score"] == 0.975 and rows["delta"]["score"] == 0.945
    assert rows["bad-type"]["category"] == "reject" and rows["bad-type"]["reasons"] == ["schema_invalid"]
    assert rows["bad-type"]["score"] == 0.0 and rows["bad-type"]["dim_provenance"] is None
    assert rows["bad-version"]["reasons"] == ["invalid schema_version", "schema_invalid"]
    assert rows["deny"]["score"] == 1.0 and rows["deny"]["category"] == "train_sft"  # not penalised by default
    assert rows["repair"]["category"] == "train_repair"  # repair beats _dpo_pair_id
    assert rows["dpo"]["category"] == "train_dpo"
    assert rows["bare"]["score"] == 0.77 and rows["bare"]["category"] == "train_router"
    assert rows["bare"]["reasons"] == [
        "no verifier_results", "missing repo_commit or model_id",
        "missing tool_manifest_digest — contamination risk elevated",
    ]


def test_min_score_is_honoured() -> None:
    rows = _by_run(admit_records(_cases(), load_policy().with_min_score(0.95)))
    assert rows["v04"]["category"] == "audit_only" and not rows["v04"]["admitted"]
    assert rows["v04"]["reasons"] == ["score 0.92 below min_score 0.95"]  # 0.92499999.. unrounded
    assert rows["full"]["category"] == "train_sft"  # 0.975 >= 0.95


def test_strict_policy_penalises_deny_and_failed_verifiers() -> None:
    strict = load_policy("strict")
    assert strict.deny_penalty > 0 and strict.failed_verifier_penalty > 0
    rows = _by_run(admit_records(_cases(), strict))
    deny = rows["deny"]
    assert deny["score"] == 0.6 and deny["category"] == "audit_only"
    assert deny["reasons"] == ["deny decisions penalised: 1 of 2", "failed verifiers penalised: 1 of 2"]
    assert rows["v04"]["category"] == "train_sft"


def test_policy_file_errors(tmp_path: Path) -> None:
    bad = tmp_path / "p.toml"
    bad.write_text("[weights]\nschema_validty = 0.3\n")
    with pytest.raises(InputError, match="unknown key weights.schema_validty"):
        load_policy(bad)
    bad.write_text("[thresholds]\nreject = 1.5\n")
    with pytest.raises(InputError, match="between 0 and 1"):
        load_policy(bad)
    bad.write_text("[thresholds]\nreject = 0.9\nadmit = 0.5\n")
    with pytest.raises(InputError, match="must not exceed"):
        load_policy(bad)
    with pytest.raises(InputError, match="not found"):
        load_policy(tmp_path / "missing.toml")
    partial = tmp_path / "mine.toml"
    partial.write_text("[penalties]\ndeny_decision = 0.2\n")
    policy = load_policy(partial)
    assert policy.name == "mine" and policy.deny_penalty == 0.2 and policy.admit_threshold == 0.6


def test_py_round_and_format_match_python() -> None:
    rng = random.Random(11)
    values = [rng.random() for _ in range(20000)]
    values += [k / n for n in range(1, 200) for k in range(n + 1)]
    values += [0.12345, 2.675, 0.00005, 0.99995, 0.5, 1.0, 0.0, 0.92499999999999993, 1.00005, 0.45, 0.125]
    values += [x / 10000 + 0.00005 for x in range(10000)]
    series = pl.Series("v", values, dtype=pl.Float64)
    got = py_round(series, 4).to_list()
    assert got == [round(v, 4) for v in values]
    assert format_2f(series).to_list() == [f"{v:.2f}" for v in values]
    assert np.isnan(py_round(pl.Series([float("nan")]), 4)[0])
    assert py_round(pl.Series([None, 0.33335], dtype=pl.Float64), 4).to_list() == [None, round(0.33335, 4)]


def _structural_checker():  # exact structural verdicts, fast enough for 50k records
    import fastjsonschema
    import wasmagent_protocol

    check = fastjsonschema.compile(wasmagent_protocol.get_schema("aep-record"))

    def valid(record: dict) -> bool:
        try:
            check(record)
        except fastjsonschema.JsonSchemaException:
            return False
        return True

    return valid


def test_fast_structural_checker_agrees_with_jsonschema() -> None:
    import jsonschema
    import wasmagent_protocol

    from benchmarks.corrupt import mutate
    from benchmarks.generate import records

    exact = jsonschema.Draft202012Validator(wasmagent_protocol.get_schema("aep-record"))
    fast = _structural_checker()
    rng = random.Random(5)
    for base in records("aep", 600, 9):
        rec = adversarial_record(base, rng)
        if rng.random() < 0.3:
            rec = mutate(rec, rng)
        rec = json.loads(json.dumps(rec))
        assert fast(rec) == exact.is_valid(rec)


def _weird_policy(tmp_path: Path):
    path = tmp_path / "weird.toml"
    path.write_text(
        "[weights]\nschema_validity = 0.13\nevidence_completeness = 0.37\npolicy_compliance = 0.11\n"
        "verifier_strength = 0.19\nprovenance = 0.07\ncontamination_risk = 0.13\n"
        "[dimensions]\nverifier_per_result = 0.3\npolicy_without_decisions = 0.35\n"
        "[thresholds]\nreject = 0.55\nadmit = 0.7\nmin_score = 0.8\nsft_min_completeness = 0.66\n"
        "[penalties]\ndeny_decision = 0.21\nfailed_verifier = 0.17\n"
    )
    return load_policy(path)


def test_differential_against_reference(tmp_path: Path) -> None:
    import orjson

    from benchmarks.corrupt import mutate
    from benchmarks.generate import records

    rng = random.Random(2024)
    valid_of = _structural_checker()
    raws: list[str] = []
    verdicts: list[bool] = []
    parsed: list[dict] = []
    bases = list(records("aep", 2_500, 77))  # each base is perturbed 20 different ways
    for i in range(50_000):
        rec = adversarial_record(bases[i % len(bases)], rng)
        if rng.random() < 0.05:  # may hold NaN/Infinity, which only the json module writes
            raw = json.dumps(mutate(rec, rng), ensure_ascii=False)
            rec = json.loads(raw)
        else:
            raw = orjson.dumps(rec).decode()
            rec = orjson.loads(raw)
        raws.append(raw)
        parsed.append(rec)
        verdicts.append(valid_of(rec))
    frame = _frame(raws).with_columns(pl.Series("structural_valid", verdicts))
    assert 0 < sum(verdicts) < len(verdicts)
    decoded = decode_evidence(frame)  # policy-independent: decode once, score three ways
    # all 50,000 records under the default policy; the first 15,000 under two other policies
    for policy, n in ((load_policy(), len(parsed)), (load_policy("strict"), 15_000), (_weird_policy(tmp_path), 15_000)):
        got = score_frame(decoded.head(n), policy)
        expected = [score_record(r, v, policy) for r, v in zip(parsed[:n], verdicts[:n], strict=True)]
        assert got["score"].to_list() == [e["score"] for e in expected], policy.name
        assert got["category"].to_list() == [e["category"] for e in expected], policy.name
        assert got["reasons"].to_list() == [e["reasons"] for e in expected], policy.name
        assert got["admitted"].to_list() == [e["admitted"] for e in expected], policy.name
        for d in DIMENSIONS:
            assert got[f"dim_{d}"].to_list() == [e["dimensions"].get(d) for e in expected], (policy.name, d)
        cats = set(got["category"].unique().to_list())
        assert {"reject", "train_sft", "train_router"} <= cats, policy.name


def _engine(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True, text=True, cwd=ROOT)


def test_cli_admit_json_and_partitions(tmp_path: Path) -> None:
    out = tmp_path / "parts"
    proc = _engine("admit", str(CASES), "--format", "json", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["records"] == 10
    assert set(summary["by_category"]) == set(CATEGORIES)
    assert summary["rejected"] == 2 and summary["admitted"] == 8 and summary["audit_only"] == 0
    admitted = pl.read_parquet(out / "admitted.parquet")
    rejected = pl.read_parquet(out / "rejected.parquet")
    assert admitted.height == 8 and rejected.height == 2
    assert pl.read_parquet(out / "audit_only.parquet").height == 0
    assert {"source", "line", "raw", "score", "category"} <= set(rejected.columns)
    assert sorted(rejected["line"].to_list()) == [6, 7]  # 1-based file lines (a comment is line 1)
    proc = _engine("admit", str(CASES), "--policy", "strict", "--out", str(tmp_path / "j"), "--out-format",
                   "jsonl", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(x) for x in (tmp_path / "j" / "audit_only.jsonl").read_text().splitlines()]
    assert [r["run_id"] for r in rows] == ["deny"] and rows[0]["record"]["run_id"] == "deny"
    assert rows[0]["source"].endswith("cases.jsonl") and rows[0]["line"] == 8


def test_cli_admit_text_and_errors(tmp_path: Path) -> None:
    proc = _engine("admit", str(CASES), "--top", "3")
    assert proc.returncode == 0, proc.stderr
    assert "train_sft" in proc.stdout and "7 more" in proc.stdout
    proc = _engine("admit", str(tmp_path / "nope.jsonl"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    proc = _engine("admit", str(CASES), "--min-score", "2")
    assert proc.returncode != 0 and "Traceback" not in proc.stderr


def test_streaming_path_matches_reference(tmp_path: Path) -> None:
    """engine admit's path (typed reader + engine.validate verdicts) against the reference."""
    from benchmarks.corrupt import mutate
    from benchmarks.generate import records
    from engine.admission_run import admit_paths

    rng = random.Random(8)
    valid_of = _structural_checker()
    lines, parsed = [], []
    for base in records("aep", 4000, 21):
        rec = adversarial_record(base, rng)
        if rng.random() < 0.15:
            rec = mutate(rec, rng)
        lines.append(json.dumps(rec, ensure_ascii=False))
        parsed.append(json.loads(lines[-1]))
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = admit_paths([str(path)], load_policy(), out_dir=tmp_path / "out")
    got = result.scored
    keep = [n - 1 for n in got["line"].to_list()]
    assert keep == sorted(keep) and result.summary["skipped_other_kinds"] + got.height == len(parsed)
    aep = [i for i, r in enumerate(parsed) if str(r.get("schema_version", "")).startswith("aep/")]
    assert set(aep) <= set(keep)
    expected = [score_record(parsed[i], valid_of(parsed[i]), load_policy()) for i in keep]
    assert got["score"].to_list() == [e["score"] for e in expected]
    assert got["category"].to_list() == [e["category"] for e in expected]
    assert got["reasons"].to_list() == [e["reasons"] for e in expected]
    parts = sum(pl.read_parquet(p).height for p in result.written.values())
    assert parts == got.height


def test_output_schema_is_declared_and_bad_lines_are_quarantined(tmp_path: Path) -> None:
    from engine.admission_run import _SCORED_SCHEMA, admit_paths

    scored = admit_records(_cases().select("source", "line", "raw", "structural_valid"), load_policy())
    assert dict(scored.schema) == _SCORED_SCHEMA
    path = tmp_path / "some-bad.jsonl"
    good = [x for x in CASES.read_text().splitlines() if x.startswith("{")]
    path.write_text("\n".join([good[0], "{not json", good[1], "[1, 2]", ""]) + "\n")
    result = admit_paths([str(path)], load_policy())
    assert result.scored["line"].to_list() == [1, 3]
    assert result.summary["quarantined_lines"] == 2 and sorted(result.quarantine["line"].to_list()) == [2, 4]
