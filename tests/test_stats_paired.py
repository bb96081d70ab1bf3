"""Pairing by id and the paired comparison: fixtures, case-study logs, reference differential."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.stats.evallog import read_eval_log
from engine.stats.paired import PairedConfig, compare, pair_logs, paired_json
from tests.reference.stats import pair_by_id_looped

FIX = Path(__file__).parents[1] / "fixtures" / "stats"
REF_DATA = Path(__file__).parents[1].parent / "shared/reference/data"
needs_ref = pytest.mark.skipif(not (REF_DATA / "data").is_dir(), reason="reference data not present")


def test_pairs_by_id_not_position() -> None:
    a, b = read_eval_log(FIX / "a.json"), read_eval_log(FIX / "b.jsonl")
    p = pair_logs(a, b)
    assert p.ids == ("q1", "q2", "q3", "q4", "q5")
    assert p.only_in_a == () and p.only_in_b == ("q7",)
    assert p.excluded_a == {"missing_correct": ["q6"]} and p.excluded_b == {}
    r = compare(p.a, p.b, PairedConfig(bootstrap=200))
    assert (r.n, r.b, r.c) == (5, 1, 2)  # q1 A-only right; q2, q4 B-only right
    # Reversing B's line order changes nothing.
    lines = (FIX / "b.jsonl").read_text().splitlines()
    assert lines[0] != lines[-1]


def test_order_of_lines_does_not_matter(tmp_path: Path) -> None:
    rev = tmp_path / "b_rev.jsonl"
    rev.write_text("\n".join(reversed((FIX / "b.jsonl").read_text().splitlines())) + "\n")
    a = read_eval_log(FIX / "a.json")
    r1 = compare(*_ab(pair_logs(a, read_eval_log(FIX / "b.jsonl"))), PairedConfig(bootstrap=300))
    r2 = compare(*_ab(pair_logs(a, read_eval_log(rev))), PairedConfig(bootstrap=300))
    assert r1 == r2


def _ab(p):  # type: ignore[no-untyped-def]
    return p.a, p.b


def test_mixed_id_types_pair_and_are_reported() -> None:
    p = pair_logs(read_eval_log(FIX / "int_ids.jsonl"), read_eval_log(FIX / "str_ids.json"))
    assert p.ids == ("1", "2", "3")
    assert any("id types differ" in n for n in p.notes)
    r = compare(p.a, p.b, PairedConfig(bootstrap=0))
    assert (r.b, r.c) == (1, 0) and r.bootstrap is None


def test_differential_against_dict_loop() -> None:
    rng = np.random.default_rng(11)
    ids = [f"i{k}" for k in range(300)]
    ca, cb = rng.random(300) < 0.6, rng.random(300) < 0.55
    r = compare(ca, cb, PairedConfig(bootstrap=100))
    b = sum(1 for x, y in zip(ca, cb, strict=True) if x and not y)
    c = sum(1 for x, y in zip(ca, cb, strict=True) if y and not x)
    assert (r.b, r.c, r.n) == (b, c, len(ids))
    assert r.acc_a == pytest.approx(ca.mean()) and r.delta == pytest.approx(ca.mean() - cb.mean())


def test_empty_pairing_is_degenerate_not_a_crash() -> None:
    r = compare(np.zeros(0, bool), np.zeros(0, bool))
    assert (r.n, r.b, r.c, r.p_value) == (0, 0, 0, 1.0)
    assert r.wilson_a == (0.0, 1.0) and r.n_for_power is None


@needs_ref
def test_case_study_logs() -> None:
    a = read_eval_log(REF_DATA / "data/winner_max_new768.json")
    b = read_eval_log(REF_DATA / "data/instruct_max_new768.json")
    p = pair_logs(a, b)
    doc = paired_json(compare(p.a, p.b), p, a, b)
    assert (doc["n"], doc["b"], doc["c"], doc["p_value"]) == (199, 27, 29, 0.8939)
    assert abs(doc["p_value_full"] - 0.8938530948) < 1e-10
    assert doc["excluded"]["a"] == {"missing_correct": {"count": 1, "ids": ["gsm8k-131"]}}
    assert doc["missing_correct"] == 1
    assert doc["wilson_a"] == pytest.approx([0.610645, 0.739382], abs=1e-6)
    assert doc["wilson_b"] == pytest.approx([0.621039, 0.748708], abs=1e-6)
    lo, hi = doc["bootstrap_ci"]
    assert lo < doc["delta"] < hi
    for key in ("n", "b", "c", "p_value", "acc_a", "acc_b", "delta", "wilson_a", "wilson_b", "bootstrap_ci",
                "only_in_a", "only_in_b"):
        assert key in doc


_ids = st.one_of(st.integers(0, 12), st.sampled_from(["0", "1", "2", "x", "y", ""]), st.just(3.0), st.none())
_correct = st.one_of(st.booleans(), st.sampled_from([0, 1, 2, "yes", None, 0.5]))
_item = st.fixed_dictionaries({"id": _ids, "correct": _correct})


@given(st.lists(_item, max_size=25), st.lists(_item, max_size=25))
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_pairing_matches_reference_rules(tmp_path: Path, items_a: list[dict], items_b: list[dict]) -> None:
    pa, pb = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    pa.write_text("".join(json.dumps(x) + "\n" for x in items_a))
    pb.write_text("".join(json.dumps(x) + "\n" for x in items_b))
    p = pair_logs(read_eval_log(pa), read_eval_log(pb))
    ref = pair_by_id_looped(items_a, items_b)
    r = compare(p.a, p.b, PairedConfig(bootstrap=0))
    assert list(p.ids) == ref["ids"]
    assert (r.b, r.c) == (ref["b"], ref["c"])
    assert list(p.only_in_a) == ref["only_in_a"] and list(p.only_in_b) == ref["only_in_b"]
