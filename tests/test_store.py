"""Ingest into a DuckDB store and a Parquet lake: counts, quarantine, idempotency, layout."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from engine.ingest import IngestOptions, ingest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "store"
SMOKE = Path(__file__).resolve().parent.parent / "data" / "smoke"

EXPECTED = {"runs": 4, "actions": 5, "decisions": 4, "verifiers": 4, "input_refs": 1, "output_refs": 1,
            "rollouts": 12, "tool_calls": 5, "compliance": 3, "violations": 3, "repairs": 1, "quarantine": 2,
            "validation": 20, "sources": 3}


@pytest.fixture()
def inputs(tmp_path: Path) -> Path:
    target = tmp_path / "in"
    shutil.copytree(FIXTURES, target)
    return target


def counts(store: str) -> dict[str, int]:
    from engine.sql import run_query

    return {t: int(run_query(store, f"select count(*) as n from {t}").frame["n"][0]) for t in EXPECTED}


@pytest.mark.parametrize("kind", ["duckdb", "lake"])
def test_ingest_counts_and_quarantine(inputs: Path, tmp_path: Path, kind: str) -> None:
    store = str(tmp_path / "e.duckdb") if kind == "duckdb" else str(tmp_path / "lake") + "/"
    summary = ingest([str(inputs)], store)
    assert summary.store_kind == kind
    assert counts(store) == EXPECTED
    from engine.sql import run_query

    q = run_query(store, "select line, reason from quarantine order by line").frame
    assert q["line"].to_list() == [3, 6]
    assert q["reason"][0].startswith("not JSON")
    assert "run_id" in q["reason"][1] and q["reason"][1].startswith("invalid record")
    assert summary.to_dict()["quarantined"] == 2
    assert summary.to_dict()["records"] == 5 + 12 + 3 + 1  # every object line plus the bad line


@pytest.mark.parametrize("kind", ["duckdb", "lake"])
def test_ingest_twice_is_idempotent_and_replace_reingests(inputs: Path, tmp_path: Path, kind: str) -> None:
    store = str(tmp_path / "e.duckdb") if kind == "duckdb" else str(tmp_path / "lake") + "/"
    ingest([str(inputs)], store)
    again = ingest([str(inputs)], store)
    assert [s.status for s in again.sources] == ["skipped"] * 3
    assert counts(store) == EXPECTED
    replaced = ingest([str(inputs / "aep.jsonl")], store, IngestOptions(replace=True))
    assert [s.status for s in replaced.sources] == ["replaced"]
    assert counts(store) == EXPECTED


def test_same_content_under_another_name_is_skipped(inputs: Path, tmp_path: Path) -> None:
    store = str(tmp_path / "e.duckdb")
    ingest([str(inputs / "aep.jsonl")], store)
    copy = tmp_path / "copy.jsonl"
    shutil.copy(inputs / "aep.jsonl", copy)
    result = ingest([str(copy)], store)
    assert result.sources[0].status == "skipped"
    assert result.sources[0].same_as == str(inputs / "aep.jsonl")


@pytest.mark.parametrize("kind", ["duckdb", "lake"])
def test_a_changed_source_replaces_its_rows(inputs: Path, tmp_path: Path, kind: str) -> None:
    store = str(tmp_path / "e.duckdb") if kind == "duckdb" else str(tmp_path / "lake") + "/"
    ingest([str(inputs)], store)
    path = inputs / "aep.jsonl"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:2]) + "\n")  # keep r1 and r2 only
    ingest([str(path)], store)
    got = counts(store)
    assert (got["runs"], got["actions"], got["quarantine"], got["sources"]) == (2, 4, 0, 3)


def test_lake_layout_is_hive_partitioned_and_readable_directly(inputs: Path, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    ingest([str(inputs)], str(lake) + "/", IngestOptions(ingest_date="2026-01-02"))
    runs_files = sorted(p.relative_to(lake).parts[:3] for p in lake.glob("runs/**/*.parquet"))
    assert runs_files == [("runs", "kind=aep", "ingest_date=2026-01-02")]
    assert not list(lake.glob("**/.*.tmp"))
    glob = str(lake / "runs" / "**" / "*.parquet")
    via_duckdb = duckdb.sql(
        f"select kind, count(*) from read_parquet('{glob}', hive_partitioning=true) group by kind").fetchall()
    assert via_duckdb == [("aep", 4)]
    via_polars = pl.scan_parquet(glob, hive_partitioning=True).collect()
    assert via_polars.height == 4
    assert set(via_polars["kind"].to_list()) == {"aep"}
    calls = pl.scan_parquet(str(lake / "tool_calls" / "**" / "*.parquet"), hive_partitioning=True).collect()
    assert calls.height == 5 and set(calls["kind"].to_list()) == {"rollout"}


def test_validation_table_holds_every_record_verdict(inputs: Path, tmp_path: Path) -> None:
    store = str(tmp_path / "e.duckdb")
    ingest([str(inputs)], store)
    con = duckdb.connect(store, read_only=True)
    rows = con.sql("select kind, count(*), count(*) filter (where valid) from validation group by 1 order by 1").fetchall()
    assert rows == [("aep", 5, 4), ("compliance", 3, 3), ("rollout", 12, 12)]
    # runs join validation on the record key
    joined = con.execute("select count(*) from runs join validation using (record_key)").fetchone()
    assert joined == (4,)


def test_missing_input_is_an_input_error(tmp_path: Path) -> None:
    from engine.errors import InputError

    with pytest.raises(InputError):
        ingest([str(tmp_path / "nope.jsonl")], str(tmp_path / "e.duckdb"))


@pytest.mark.skipif(not SMOKE.is_dir(), reason="data/smoke not generated")
def test_smoke_runs_equal_valid_aep_records(tmp_path: Path) -> None:
    from engine.sql import run_query
    from engine.validate import ValidateOptions, validate_paths

    store = str(tmp_path / "e.duckdb")
    ingest([str(SMOKE)], store)
    report = validate_paths([str(SMOKE)], ValidateOptions(progress=False))
    n = run_query(store, "select count(*) as n from runs").frame["n"][0]
    assert n == report.by_kind["aep"]["valid"]


def test_a_failed_ingest_leaves_no_rows_of_that_source(inputs: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import engine.ingest as ing

    store = str(tmp_path / "e.duckdb")
    ingest([str(inputs / "compliance.jsonl")], store)

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(ing, "normalize_typed_aep", boom)
    with pytest.raises(RuntimeError):
        ingest([str(inputs / "aep.jsonl")], store)
    monkeypatch.undo()
    got = counts(store)
    assert (got["runs"], got["validation"], got["compliance"], got["sources"]) == (0, 3, 3, 1)
    assert ingest([str(inputs / "aep.jsonl")], store).sources[0].status == "ingested"
    assert counts(store)["runs"] == 4


def test_rows_of_an_interrupted_ingest_are_removed_on_the_next_open(inputs: Path, tmp_path: Path) -> None:
    from engine.store import DuckStore

    store = str(tmp_path / "e.duckdb")
    ingest([str(inputs / "aep.jsonl")], store)
    con = duckdb.connect(store)
    con.execute("INSERT INTO runs (record_key, source, line, run_id) VALUES (1, 'half.jsonl', 1, 'x')")
    con.execute("INSERT INTO _ingest_pending VALUES ('half.jsonl')")  # as a killed ingest leaves it
    con.close()
    DuckStore(store).close()
    assert counts(store)["runs"] == 4
