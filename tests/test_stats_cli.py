"""The stats commands, run for real: exit codes, JSON keys, warnings, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.stats.t0v2 import aggregate
from tests.test_stats_claim import trap_logs

ROOT = Path(__file__).parents[1]
FIX = ROOT / "fixtures" / "stats"
REF_DATA = ROOT.parent / "shared/reference/data"
needs_ref = pytest.mark.skipif(not (REF_DATA / "data").is_dir(), reason="reference data not present")


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine", *map(str, args)], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)


def _no_traceback(out: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in out.stderr and "internal error" not in out.stderr


@needs_ref
def test_acceptance_paired_case_study() -> None:
    out = run("paired", "--a", "../shared/reference/data/data/winner_max_new768.json",
              "--b", "../shared/reference/data/data/instruct_max_new768.json", "--format", "json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert (doc["n"], doc["b"], doc["c"], doc["p_value"]) == (199, 27, 29, 0.8939)
    assert doc["excluded"]["a"]["missing_correct"]["count"] == 1
    text = run("paired", "--a", "../shared/reference/data/data/winner_max_new768.json",
               "--b", "../shared/reference/data/data/instruct_max_new768.json", "--bootstrap", "100")
    assert text.returncode == 0 and "0.8939" in text.stdout and "missing correct" in text.stdout


@needs_ref
def test_acceptance_truncation_case_study() -> None:
    out = run("truncation", "../shared/reference/data/data/winner_max_new768.json", "--max-new-tokens", "768",
              "--format", "json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert (doc["n_wrong"], doc["n_truncated"], doc["token_count_mode"]) == (64, 6, "char/2")
    assert "char/2" in out.stderr  # visible warning
    assert len(doc["items"]) == 200


def test_truncation_without_cap_asks_for_it() -> None:
    out = run("truncation", FIX / "b.jsonl")
    assert out.returncode == 2 and "--max-new-tokens" in out.stderr and "b.jsonl" in out.stderr
    _no_traceback(out)
    ok = run("truncation", FIX / "a.json", "--format", "json")  # meta.max_new_tokens = 40
    assert ok.returncode == 0 and json.loads(ok.stdout)["max_new_tokens_source"] == "meta.max_new_tokens"
    text = run("truncation", FIX / "a.json")
    assert text.returncode == 0 and "q4" in text.stdout and "truncated 1" in text.stdout


def test_tokenizer_unavailable_is_one_line() -> None:
    out = run("truncation", FIX / "a.json", "--tokenizer", "no-such/tokenizer")
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "tokenizer" in out.stderr


def test_audit_claim_trap_json_and_text(tmp_path: Path) -> None:
    pa, pb = trap_logs(tmp_path)
    out = run("audit-claim", "--a", pa, "--b", pb, "--format", "json", "--bootstrap", "200")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["verdict"] == "confounded-by-truncation"
    assert doc["paired"]["p_value"] < 0.05 and doc["untruncated"]["p_value"] >= 0.05
    text = run("audit-claim", "--a", pa, "--b", pb, "--bootstrap", "200")
    assert text.returncode == 0 and "confounded-by-truncation" in text.stdout


@pytest.mark.parametrize("args", [
    ("paired", "--a", FIX / "int_ids.jsonl", "--b", FIX / "str_ids.json"),
    ("paired", "--a", FIX / "messy.jsonl", "--b", FIX / "messy.jsonl"),
    ("paired", "--a", FIX / "a.json", "--b", FIX / "b.jsonl", "--test", "midp"),
    ("paired", "--a", FIX / "a.json", "--b", FIX / "b.jsonl", "--test", "chi2"),
    ("paired", "--long", FIX / "long.csv"),
    ("audit-claim", "--a", FIX / "messy.jsonl", "--b", FIX / "int_ids.jsonl", "--max-new-tokens", "10"),
])
def test_bad_but_usable_input_is_reported_not_crashed(args: tuple[str | Path, ...]) -> None:
    out = run(*args, "--format", "json")
    assert out.returncode == 0, out.stderr
    _no_traceback(out)
    json.loads(out.stdout)


def test_mixed_ids_and_exclusions_in_json() -> None:
    doc = json.loads(run("paired", "--a", FIX / "int_ids.jsonl", "--b", FIX / "str_ids.json", "--format",
                         "json").stdout)
    assert doc["n"] == 3 and any("compared as strings" in n for n in doc["notes"])
    doc = json.loads(run("paired", "--a", FIX / "messy.jsonl", "--b", FIX / "a.json", "--format", "json").stdout)
    ex = doc["excluded"]["a"]
    assert ex["duplicate_id"]["count"] == 2 and ex["non_boolean_correct"]["count"] == 2
    assert doc["quarantined"]["count_a"] == 3
    assert doc["only_in_a"]["count"] == 6 and doc["only_in_b"]["count"] == 6


@pytest.mark.parametrize(("args", "needle"), [
    (("paired", "--a", FIX / "empty.json", "--b", FIX / "a.json"), "no eval items"),
    (("paired", "--a", FIX / "nope.json", "--b", FIX / "a.json"), "no such file"),
    (("paired", "--a", FIX / "a.json"), "--a and --b"),
    (("paired", "--a", FIX / "a.json", "--b", FIX / "a.json", "--long", FIX / "long.csv"), "not both"),
    (("paired", "--a", FIX / "a.json", "--b", FIX / "a.json", "--test", "fisher"), "--test"),
    (("paired", "--a", FIX / "a.json", "--b", FIX / "a.json", "--conf", "1.5"), "--conf"),
    (("audit-claim", "--a", FIX / "empty.json", "--b", FIX / "a.json"), "no eval items"),
    (("t0v2",), "--n-total"),
    (("paired", "--a", FIX / "long.parquet", "--b", FIX / "a.json"), "--long"),
    (("t0v2", "--n-total", "10", "--n-wrong", "5", "--count", "Z_new=1"), "unknown T0v2 channel"),
    (("conformal", FIX / "long.csv", "--prediction", "1"), "long.csv"),
])
def test_unusable_input_exits_2_with_one_line(args: tuple[str | Path, ...], needle: str) -> None:
    out = run(*args)
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert needle in out.stderr
    _no_traceback(out)


def test_paired_long_json() -> None:
    doc = json.loads(run("paired", "--long", FIX / "long.csv", "--format", "json").stdout)
    assert doc["n_pairs"] == 3 and {"p_value", "p_holm", "b", "c"} <= set(doc["pairs"][0])
    text = run("paired", "--long", FIX / "long.csv")
    assert text.returncode == 0 and "Holm" in text.stdout


def test_t0v2_and_conformal() -> None:
    doc = json.loads(run("t0v2", FIX / "t0v2_counts.json", "--format", "json").stdout)
    assert doc == aggregate(200, 65, {"A_truncated": 17, "A_extract_v2": 1, "B_stepwise": 4, "C_token": 8,
                                      "Class2": 35})
    assert doc["decision_v2"]["case"] == "alpha" and doc["n_first_class"] == 30
    beta = json.loads(run("t0v2", FIX / "t0v2_counts.json", "--lottery-rate", "0.3846", "--format", "json").stdout)
    assert beta["decision_v2"]["case"] == "beta"
    opts = json.loads(run("t0v2", "--n-total", "100", "--n-wrong", "40", "--count", "Class2=40",
                          "--format", "json").stdout)
    assert opts["decision_v2"]["case"] == "gamma"
    ci = json.loads(run("conformal", FIX / "errors.json", "--prediction", "7.5", "--format", "json").stdout)
    assert (ci["lower"], ci["upper"]) == pytest.approx((7.0, 8.0))
