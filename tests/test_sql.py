"""Read-only SQL over the store: every view against hand-computed figures, errors, outputs, CLI."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest

from engine.errors import QueryError
from engine.ingest import ingest
from engine.paths import SQL_DIR
from engine.sql import export_query, list_objects, run_query
from engine.store import DuckStore
from engine.views import view_names

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures" / "store"


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    base = tmp_path_factory.mktemp("sql")
    inputs = base / "in"
    shutil.copytree(FIXTURES, inputs)
    duck, lake = str(base / "e.duckdb"), str(base / "lake") + "/"
    ingest([str(inputs)], duck)
    ingest([str(inputs)], lake)
    return {"duckdb": duck, "lake": lake}


def rows(store: str, query: str) -> list[tuple[object, ...]]:
    return run_query(store, query).frame.rows()


BOTH = pytest.mark.parametrize("kind", ["duckdb", "lake"])


def test_every_view_file_is_created_and_tested() -> None:
    names = view_names()
    assert names == sorted(p.stem for p in (SQL_DIR / "views").glob("*.sql"))
    source = Path(__file__).read_text(encoding="utf-8")
    for name in names:
        assert f"from {name}" in source, f"view {name} has no test"
        header = (SQL_DIR / "views" / f"{name}.sql").read_text(encoding="utf-8").splitlines()[0]
        assert header.startswith(f"-- {name}:")


@BOTH
def test_run_summary(stores: dict[str, str], kind: str) -> None:
    got = rows(stores[kind], "select run_id, model_id, n_actions, n_state_changing, evidence_completeness, "
                             "n_decisions, n_denials, n_verifiers, verifier_pass_rate, admission_category "
                             "from run_summary order by run_id")
    assert [g[:9] for g in got] == [
        ("r1", "m-a", 2, 1, 1.0, 1, 0, 2, 0.5),
        ("r2", "m-a", 2, 2, 0.5, 2, 1, 1, 0.0),
        ("r3", "m-b", 1, 1, 1.0, 0, 0, 0, None),
        ("r4", "m-b", 0, 0, 1.0, 1, 1, 1, 1.0),
    ]
    assert all(g[9] is not None for g in got)  # admission ran at ingest
    mismatched = rows(stores[kind], "select count(*) from run_summary s join admission a using (record_key) "
                                    "where s.admission_category <> a.category or s.admission_score <> a.score")
    assert mismatched == [(0,)]


@BOTH
def test_tool_usage(stores: dict[str, str], kind: str) -> None:
    got = rows(stores[kind], "select origin, tool_name, model_id, calls, state_changing, errors, error_rate "
                             "from tool_usage order by origin, model_id, tool_name")
    assert got == [
        ("aep", "read", "m-a", 1, 0, None, None),
        ("aep", "write", "m-a", 3, 3, None, None),
        ("aep", "exec", "m-b", 1, 1, None, None),
        ("rollout", "shell", "m-a", 2, None, 0, 0.0),
        ("rollout", "write_file", "m-a", 2, None, 2, 1.0),
        ("rollout", "shell", "m-b", 1, None, 0, 0.0),
    ]


@BOTH
def test_verifier_pass_rates(stores: dict[str, str], kind: str) -> None:
    got = rows(stores[kind], "select * from verifier_pass_rates order by model_id, verifier_id")
    assert got == [
        ("build", "m-a", 2, 1, 0.5, 2, 0.75),
        ("tests", "m-a", 1, 0, 0.0, 1, 0.0),
        ("build", "m-b", 1, 1, 1.0, 0, None),
    ]


@BOTH
def test_policy_denials(stores: dict[str, str], kind: str) -> None:
    got = rows(stores[kind], "select * from policy_denials order by model_id, capability")
    assert got == [
        ("m-a", "fs.write", 2, 1, 0, 0.5, 1),
        ("m-a", "net", 1, 0, 1, 0.0, 0),
        ("m-b", "fs.write", 1, 1, 0, 1.0, 1),
    ]


@BOTH
def test_ungoverned_runs(stores: dict[str, str], kind: str) -> None:
    got = rows(stores[kind], "select run_id, model_id, n_state_changing, state_changing_tools from ungoverned_runs")
    assert got == [("r3", "m-b", 1, ["exec"])]


@BOTH
def test_rollout_outcomes_use_the_unbiased_pass_at_k(stores: dict[str, str], kind: str) -> None:
    got = rows(stores[kind], "select * from rollout_outcomes order by task")
    assert len(got) == 2
    task, rollouts, n, c, unknown, p1, p5, p10 = got[0]
    assert (task, rollouts, n, c, unknown) == ("task-a", 1, 10, 3, 0)
    assert p1 == pytest.approx(0.3)
    assert p5 == pytest.approx(1 - math.comb(7, 5) / math.comb(10, 5))  # 1 - 21/252
    assert p10 == 1.0  # n - c = 7 < 10: every draw of 10 holds a pass
    assert got[1] == ("task-b", 1, 2, 1, 1, 0.5, None, None)  # fewer branches than k: undefined


def test_pass_at_k_matches_the_combinatorial_formula_for_many_n_c(tmp_path: Path) -> None:
    store = str(tmp_path / "p.duckdb")
    cases = [(n, c) for n in range(1, 31) for c in range(0, n + 1)]
    frame = pl.DataFrame({
        "task": [f"t{n}-{c}" for n, c in cases for _ in range(n)],
        "objective_score": [1.0 if i < c else 0.0 for n, c in cases for i in range(n)],
    }).with_columns(pl.lit("r").alias("rollout_id"), pl.lit("pass").alias("objective_status"))
    s = DuckStore(store)
    s.write("rollouts", frame, "rollout")
    s.close()
    got = {r[0]: r[1:] for r in rows(store, "select task, pass_at_1, pass_at_5, pass_at_10 from rollout_outcomes")}
    for n, c in cases:
        for k, value in zip((1, 5, 10), got[f"t{n}-{c}"], strict=True):
            expected = None if n < k else 1 - math.comb(n - c, k) / math.comb(n, k)
            assert (value is None) if expected is None else value == pytest.approx(expected, abs=1e-12)


@BOTH
def test_compliance_by_model(stores: dict[str, str], kind: str) -> None:
    got = rows(stores[kind], "select * from compliance_by_model order by model, mode")
    assert got == [
        ("m-a", "direct", 1, 0, 0.0, 0.0, 2.0, 0, 100.0),
        ("m-a", "full_pcl", 1, 1, 1.0, 1.0, 1.0, 0, 300.0),
        ("m-b", "direct", 1, 1, 1.0, 0.0, 0.0, 0, 50.0),
    ]


def test_admission_by_model(tmp_path: Path) -> None:
    store = str(tmp_path / "a.duckdb")
    s = DuckStore(store)
    s.write("admission", pl.DataFrame({
        "model_id": ["m-a", "m-a", "m-a", "m-b"],
        "category": ["train_sft", "train_sft", "reject", "audit_only"],
        "score": [0.9, 0.7, 0.0, 0.5],
    }), "aep")
    s.close()
    got = rows(store, "select * from admission_by_model order by model_id, category")
    assert got[0] == ("m-a", "reject", 1, pytest.approx(1 / 3), 0.0, 0.0, 0.0)
    assert got[1] == ("m-a", "train_sft", 2, pytest.approx(2 / 3), pytest.approx(0.8), 0.7, 0.9)
    assert got[2] == ("m-b", "audit_only", 1, 1.0, 0.5, 0.5, 0.5)


def test_admission_by_model_on_ingested_fixture_counts_every_scored_record(stores: dict[str, str]) -> None:
    got = rows(stores["duckdb"], "select model_id, sum(records) from admission_by_model group by 1 order by 1")
    assert got == [("m-a", 2), ("m-b", 3)]  # the invalid m-b record (line 6) is scored too


@BOTH
def test_writes_are_refused_with_a_read_only_message(stores: dict[str, str], kind: str) -> None:
    for statement in ("drop table runs", "delete from runs", "create table x as select 1",
                      "copy runs to 'x.csv'", "select 1; drop table runs"):
        with pytest.raises(QueryError, match="read-only"):
            run_query(stores[kind], statement)
    assert rows(stores[kind], "select count(*) from runs") == [(4,)]


def test_the_duckdb_file_itself_is_opened_read_only(stores: dict[str, str]) -> None:
    con = duckdb.connect(stores["duckdb"], read_only=True)
    with pytest.raises(duckdb.Error, match="read-only"):
        con.execute("drop table runs")


def test_sql_errors_are_one_line(stores: dict[str, str]) -> None:
    with pytest.raises(QueryError) as info:
        run_query(stores["duckdb"], "select nope from runs")
    assert "\n" not in info.value.one_line() and "nope" in info.value.one_line()


@BOTH
@pytest.mark.parametrize("fmt", ["csv", "json", "parquet"])
def test_export_formats(stores: dict[str, str], kind: str, fmt: str, tmp_path: Path) -> None:
    out = tmp_path / f"out.{fmt}"
    n = export_query(stores[kind], "select run_id, n_actions from run_summary order by run_id", fmt, str(out))  # type: ignore[arg-type]
    assert n == 4
    if fmt == "csv":
        frame = pl.read_csv(out)
    elif fmt == "json":
        frame = pl.DataFrame(json.loads(out.read_text()))
    else:
        frame = pl.read_parquet(out)
    assert frame["run_id"].to_list() == ["r1", "r2", "r3", "r4"]
    assert frame["n_actions"].to_list() == [2, 2, 1, 0]


def test_limit_reports_truncation(stores: dict[str, str]) -> None:
    result = run_query(stores["duckdb"], "select * from rollouts", limit=5)
    assert result.frame.height == 5 and result.truncated
    assert not run_query(stores["duckdb"], "select * from runs", limit=5).truncated


@BOTH
def test_list_shows_tables_and_views_with_columns(stores: dict[str, str], kind: str) -> None:
    objects = list_objects(stores[kind])
    kinds = {name: kind for name, kind, _, _ in objects}
    for table in ("runs", "actions", "tool_calls", "quarantine", "validation", "admission", "sources"):
        assert kinds[table] == "table"
    for view in view_names():
        assert kinds[view] == "view"
    run_cols = [column for name, _, column, _ in objects if name == "runs"]
    assert run_cols[:3] == ["record_key", "source", "line"]
    assert not any(name.startswith("_") for name in kinds)


def engine(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)


def test_cli_ingest_then_sql_json(tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    shutil.copytree(FIXTURES, inputs)
    for store in (str(tmp_path / "e.duckdb"), str(tmp_path / "lake") + "/"):
        done = engine("ingest", str(inputs), "--store", store, "--format", "json")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["rows"]["runs"] == 4
        done = engine("sql", "select count(*) as n from runs", "--store", store, "--format", "json")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == [{"n": 4}]
        again = engine("ingest", str(inputs), "--store", store, "--format", "json")
        assert json.loads(again.stdout)["skipped_sources"] == 3


def test_cli_errors_exit_2_with_one_line(stores: dict[str, str]) -> None:
    done = engine("sql", "drop table runs", "--store", stores["duckdb"])
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "read-only" in done.stderr
    done = engine("sql", "selec 1", "--store", stores["lake"])
    assert done.returncode == 2 and done.stderr.startswith("error: Parser Error")
    assert done.stderr.strip().count("\n") == 0
    done = engine("sql", "select 1", "--store", str(ROOT / "no-such.duckdb"))
    assert done.returncode == 2 and "no such store" in done.stderr


def test_cli_list_and_text_table(stores: dict[str, str]) -> None:
    done = engine("sql", "--list", "--store", stores["duckdb"], "--format", "json")
    assert done.returncode == 0
    listed = json.loads(done.stdout)
    assert listed["run_summary"]["type"] == "view"
    assert {"name": "record_key", "type": "BIGINT"} in listed["runs"]["columns"]
    done = engine("sql", "select run_id from runs order by 1", "--store", stores["duckdb"], "--limit", "2")
    assert done.returncode == 0 and "r1" in done.stdout and "more exist" in done.stdout
