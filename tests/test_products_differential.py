"""engine.products (vectorized) vs tests/reference/products.py (one dict at a time) on generated rollouts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import generate
from engine.paths import SQL_DIR
from engine.products.adp import steps
from engine.products.calls import Rollouts, load_rollouts
from engine.products.context import long_context_qa
from engine.products.rl import transitions
from tests.reference import products as ref

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "fixtures" / "products"


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict], Rollouts]:
    path = tmp_path_factory.mktemp("prod") / "rollouts.jsonl"
    generate.write_jsonl(path, "rollout", 1500, 7)
    text = path.read_text() + (FIX / "rollouts-entries.jsonl").read_text() + (FIX / "rollouts-events.jsonl").read_text()
    path.write_text(text)
    n_records = sum(1 for ln in text.splitlines() if ln.strip() and not ln.startswith("#"))
    got = load_rollouts([str(path)])
    assert got.branches.height + got.rejected.height == n_records
    return _usable(text, set(got.branches["line"].to_list())), got


def _usable(text: str, lines: set[int]) -> list[dict]:
    return [json.loads(ln) for i, ln in enumerate(text.splitlines(), start=1) if i in lines]


def test_rl_matches_reference(data: tuple[list[dict], Rollouts]) -> None:
    recs, got = data
    t = transitions(got)
    mine = list(zip(t["episode_id"], t["step_index"], t["state_ref"], t["action"].struct.field("tool"),
                    t["metadata"].struct.field("has_error"), t["reward"].to_list(), strict=True))
    expected = [row for r in recs for row in ref.rl(r)]
    assert mine == expected


def test_adp_matches_reference(data: tuple[list[dict], Rollouts]) -> None:
    recs, got = data
    mine = [json.loads(x) for x in steps(got)]
    expected = [s for r in recs for s in ref.adp_steps(r)]
    assert len(mine) == len(expected)
    for m, e in zip(mine, expected, strict=True):
        content = json.loads(m["content"]) if m["role"] == "agent" and not m["done"] else m["content"]
        assert (m["episode_id"], m["step_index"], m["role"], m["tool_name"], m["done"], content) == \
            (e["episode_id"], e["step_index"], e["role"], e["tool_name"], e["done"], e["content"])
        if "is_error" in e:
            assert m["metadata"]["is_error"] == e["is_error"]
        if m["done"]:
            assert m["reward"] == pytest.approx(e["reward"])


def test_qa_matches_reference(data: tuple[list[dict], Rollouts]) -> None:
    recs, got = data
    mine = long_context_qa(got).select("record_id", "context").to_dicts()
    expected = [q for r in recs if (q := ref.qa(r)) is not None]
    assert mine == expected


def test_products_sql_files_are_documented_and_used() -> None:
    source = "".join(p.read_text() for p in (ROOT / "engine" / "products").glob("*.py"))
    for f in sorted((SQL_DIR / "products").glob("*.sql")):
        assert f.read_text().startswith("-- Purpose:")
        assert f"products/{f.stem}" in source
