"""Many model pairs from one DuckDB query: cleaning rules, differential vs loops, exact p, Holm."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import InputError
from engine.stats.many_pairs import LongColumns, holm, many_pairs, mcnemar_exact_vec
from engine.stats.mcnemar import exact_p
from tests.reference.stats import holm_looped, mcnemar_exact, pair_counts_looped

FIX = Path(__file__).parents[1] / "fixtures" / "stats"


def test_fixture_cleaning_rules() -> None:
    r = many_pairs(FIX / "long.csv")
    d = r.as_dict()
    pairs = {(p["model_a"], p["model_b"]): (p["n"], p["b"], p["c"]) for p in d["pairs"]}
    # m2/i3 is duplicated (excluded), m3/i1 is "yes" (excluded).
    assert pairs == {("m1", "m2"): (2, 1, 1), ("m1", "m3"): (2, 0, 0), ("m2", "m3"): (1, 1, 0)}
    assert d["n_models"] == 3
    assert {(e["model"], e["status"], e["items"], e["rows"]) for e in d["exclusions"]} == {
        ("m2", "duplicate_id", 1, 2), ("m3", "non_boolean_correct", 1, 1)}


def _random_long(rng: np.random.Generator, models: int, items: int, missing: float) -> list[tuple[str, str, bool]]:
    rows = []
    for m in range(models):
        for i in range(items):
            if rng.random() >= missing:
                rows.append((f"model{m:02d}", f"item{i:04d}", bool(rng.random() < 0.3 + 0.05 * m)))
    return rows


@pytest.mark.parametrize(("fmt", "seed"), [("parquet", 1), ("csv", 2), ("jsonl", 3)])
def test_differential_against_looped_reference(tmp_path: Path, fmt: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    rows = _random_long(rng, 7, 300, missing=0.2)
    path = tmp_path / f"long.{fmt}"
    table = pa.table({"who": [r[0] for r in rows], "q": [r[1] for r in rows], "ok": [r[2] for r in rows]})
    if fmt == "parquet":
        pq.write_table(table, path)
    elif fmt == "csv":
        path.write_text("who,q,ok\n" + "".join(f"{a},{b},{str(c).lower()}\n" for a, b, c in rows))
    else:
        path.write_text("".join(json.dumps({"who": a, "q": b, "ok": c}) + "\n" for a, b, c in rows))
    got = many_pairs(path, LongColumns(model="who", item="q", correct="ok"))
    ref = pair_counts_looped(rows)
    assert list(zip(got.model_a, got.model_b, strict=True)) == sorted(ref)
    for a, b, n, bb, cc, p in zip(got.model_a, got.model_b, got.n, got.b, got.c, got.p_value, strict=True):
        assert (int(n), int(bb), int(cc)) == ref[(a, b)]
        assert p == pytest.approx(float(mcnemar_exact(int(bb), int(cc))), rel=1e-9, abs=1e-300)
    assert got.p_holm.tolist() == pytest.approx(holm_looped(got.p_value.tolist()))


@given(st.lists(st.tuples(st.integers(0, 2500), st.integers(0, 2500)), min_size=1, max_size=12))
@settings(max_examples=40, deadline=None)
def test_vectorized_exact_p_matches_fractions(bc: list[tuple[int, int]]) -> None:
    b = np.array([x for x, _ in bc])
    c = np.array([y for _, y in bc])
    got = mcnemar_exact_vec(b, c)
    for g, (x, y) in zip(got.tolist(), bc, strict=True):
        assert g == pytest.approx(exact_p(x, y), rel=1e-9, abs=1e-300)


def test_vectorized_exact_p_acceptance_and_tiny_tails() -> None:
    got = mcnemar_exact_vec([29, 21, 10, 0, 1, 5, 0], [27, 41, 0, 0, 0, 5, 2000])
    assert got[:6].tolist() == pytest.approx([0.8938530948, 0.0151340810, 0.001953125, 1.0, 1.0, 1.0], abs=1e-10)
    assert got[6] == 0.0 or got[6] == pytest.approx(2.0**-1999)  # 2 * 2^-2000 underflows to 0 or stays exact
    assert mcnemar_exact_vec([677], [2980])[0] == pytest.approx(exact_p(677, 2980), rel=1e-9, abs=1e-300)


@given(st.lists(st.floats(0, 1), max_size=40))
@settings(max_examples=100, deadline=None)
def test_holm_matches_loop(p: list[float]) -> None:
    assert holm(p).tolist() == pytest.approx(holm_looped(p))


def test_missing_columns_and_bad_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="missing column"):
        many_pairs(FIX / "long.csv", LongColumns(model="engine"))
    with pytest.raises(InputError, match="no such file"):
        many_pairs(tmp_path / "nope.csv")
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet")
    with pytest.raises(InputError):
        many_pairs(bad)


def test_no_scored_rows(tmp_path: Path) -> None:
    p = tmp_path / "l.csv"
    p.write_text("model,item_id,correct\nm1,i1,maybe\nm2,i1,\n")
    r = many_pairs(p)
    assert r.n_pairs == 0 and r.as_dict()["n_models"] == 0


def test_rows_without_model_or_item_are_counted(tmp_path: Path) -> None:
    p = tmp_path / "l.csv"
    p.write_text("model,item_id,correct\nm1,i1,true\nm2,i1,false\n,i1,true\nm1,,false\nm1,,true\n")
    r = many_pairs(p).as_dict()
    assert r["n_pairs"] == 1 and r["pairs"][0]["b"] == 1
    missing = [e for e in r["exclusions"] if e["status"] == "missing_id"]
    assert sum(e["rows"] for e in missing) == 3
