"""engine audit reads its inputs once: the verifier audit and trust tables it builds from ingest's
own batches (EvidenceAudit as an ingest observer) equal those of a separate streamed pass over the
inputs (verifier_and_trust_tables, the way they were first computed), on messy input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from benchmarks.generate import write_jsonl
from engine.ingest import IngestOptions, ingest
from engine.report.audit import AuditOptions, EvidenceAudit, run_audit, verifier_and_trust_tables

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "data" / "smoke"


@pytest.fixture(scope="module")
def messy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("messy")
    write_jsonl(d / "a_gen.jsonl", "aep", 1500, 5, invalid_rate=0.05, semantic_rate=0.02, unparsable=6, comments=True)
    write_jsonl(d / "b_roll.jsonl", "rollout", 200, 5, invalid_rate=0.05)
    for name in ("aep.jsonl", "compliance.jsonl", "eval_a.json"):
        shutil.copy(SMOKE / name, d / name)
    lines = (SMOKE / "aep.jsonl").read_text().splitlines()
    odd = [lines[0][:-1] + ', "big": 123456789012345678901234567890}',  # only Python's json reads it
           json.dumps({"schema_version": "aep/v0.4", "note": "no run id"}),
           json.dumps({"something": "else"})]
    (d / "c_odd.jsonl").write_text("\n".join(odd + lines[1:20]) + "\n")
    return d


def _same(a: dict[str, pl.DataFrame], b: dict[str, pl.DataFrame]) -> None:
    assert sorted(a) == sorted(b)
    for name in a:
        assert_frame_equal(a[name], b[name])


@pytest.mark.parametrize("kind", [None, "aep"])
def test_observer_tables_equal_a_second_pass(messy: Path, tmp_path: Path, kind: str | None) -> None:
    paths = [str(messy / "c_odd.jsonl"), str(messy)] if kind is None else [str(messy / "a_gen.jsonl")]
    evidence = EvidenceAudit(kind)
    ingest(paths, str(tmp_path / "e.duckdb"), IngestOptions(kind=kind), observer=evidence.observe)
    ours, reference = evidence.tables(), verifier_and_trust_tables(paths, kind)
    assert reference["audit_trust"].height > 100
    _same(ours, reference)


def test_audit_of_the_same_content_twice_counts_it_twice(messy: Path, tmp_path: Path) -> None:
    # ingest skips the second copy (same digest); the trust / verifier figures still see both
    twin = tmp_path / "twin.jsonl"
    shutil.copy(messy / "a_gen.jsonl", twin)
    paths = [str(messy / "a_gen.jsonl"), str(twin)]
    run_audit(paths, AuditOptions(out_dir=tmp_path / "out"))
    con = duckdb.connect(str(tmp_path / "out" / "evidence.duckdb"), read_only=True)
    try:
        stored = {t: con.sql(f"select * from {t}").pl() for t in ("audit_verifiers", "audit_verifier_findings",
                                                                   "audit_trust")}
    finally:
        con.close()
    _same(stored, verifier_and_trust_tables(paths, None))
    single = verifier_and_trust_tables(paths[:1], None)["audit_verifiers"]
    assert stored["audit_verifiers"]["total_results"].sum() == 2 * single["total_results"].sum()
