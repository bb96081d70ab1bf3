"""engine audit / engine report: files written, summary.json == engine sql over the same store,
exit codes, sections present only with their data, top-N tables, claim section."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cli
from engine.paths import SQL_DIR, load_sql
from engine.report.audit import AuditOptions, run_audit
from engine.report.sections import SECTIONS

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "data" / "smoke"
REF = ROOT.parent / "shared" / "reference" / "data" / "data"
runner = CliRunner()


@pytest.fixture(scope="module")
def smoke_audit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("audit")
    result = runner.invoke(cli.app, ["audit", str(SMOKE), "--out", str(out), "--format", "json"])
    assert result.exit_code == 0, result.output
    return out


def _sql(store: Path, query: str) -> list[dict[str, object]]:
    result = runner.invoke(cli.app, ["sql", query, "--store", str(store), "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_audit_writes_the_three_files_and_the_store(smoke_audit: Path) -> None:
    for name in ("report.md", "report.html", "summary.json", "evidence.duckdb"):
        assert (smoke_audit / name).is_file(), name
    summary = json.loads((smoke_audit / "summary.json").read_text())
    assert summary["exit"] == {"code": 0, "reasons": []}
    assert set(summary["outputs"]) == {"markdown", "html", "summary", "store"}
    for key in ("overview", "validation", "admission", "verifiers", "trust", "coverage", "tools", "provenance"):
        assert key in summary["sections"]
    md = (smoke_audit / "report.md").read_text()
    assert "## Standards coverage matrix" in md and "OWASP-MCP-05" in md
    assert not list(smoke_audit.glob(".*tmp*")), "no temporary files left behind"


def test_summary_numbers_equal_engine_sql(smoke_audit: Path) -> None:
    store = smoke_audit / "evidence.duckdb"
    s = json.loads((smoke_audit / "summary.json").read_text())
    assert s["files"] == _sql(store, "select count(*) as n from sources")[0]["n"]
    assert s["valid"] == _sql(store, "select count(*) as n from validation where valid")[0]["n"]
    assert s["invalid"] == _sql(store, "select count(*) as n from validation where not valid")[0]["n"]
    records = _sql(store, "select sum(n_records) as n from sources")[0]["n"]
    assert s["records"] == records == s["valid"] + s["invalid"] + s["quarantined_lines"]
    cats = _sql(store, "select category, count(*) as n from admission group by category")
    assert s["admission"]["categories"] == {r["category"]: r["n"] for r in cats}
    assert s["admission"]["rejected"] == _sql(store, "select count(*) as n from admission where category = 'reject'")[0]["n"]
    by_kind = _sql(store, "select kind, count(*) as n from validation group by kind")
    assert {k: v["records"] for k, v in s["by_kind"].items()} == {r["kind"]: r["n"] for r in by_kind}
    grades = _sql(store, "select grade, count(*) as n from audit_trust group by grade")
    assert s["trust"]["grades"] == {r["grade"]: r["n"] for r in grades}
    assert s["verifier_audit"]["verifiers"] == _sql(store, "select count(*) as n from audit_verifiers")[0]["n"]
    cov = _sql(store, "select control_id, share from (" + load_sql("report/coverage") + ")")
    assert {r["control_id"]: r["share"] for r in cov} == {k: v["share"] for k, v in s["coverage"].items()}


def test_summary_matches_engine_validate(smoke_audit: Path) -> None:
    from engine.validate import ValidateOptions, validate_paths

    report = validate_paths([str(SMOKE)], ValidateOptions())
    s = json.loads((smoke_audit / "summary.json").read_text())
    assert (s["records"], s["valid"], s["invalid"], s["quarantined_lines"]) == (
        report.records, report.valid, report.invalid, report.quarantined)


def test_report_rerenders_from_the_store(smoke_audit: Path, tmp_path: Path) -> None:
    result = runner.invoke(cli.app, ["report", "--store", str(smoke_audit / "evidence.duckdb"), "--out", str(tmp_path),
                                     "--top", "2", "--format", "json"])
    assert result.exit_code == 0, result.output
    again = json.loads((tmp_path / "summary.json").read_text())
    first = json.loads((smoke_audit / "summary.json").read_text())
    for key in ("records", "valid", "admission", "trust", "coverage", "verifier_audit"):
        assert again[key] == first[key]
    md = (tmp_path / "report.md").read_text()
    assert "more (re-run `sql/report/validation_errors.sql`" in md  # top-N with the rest counted


def test_report_on_a_plain_ingest_store_has_only_its_sections(tmp_path: Path) -> None:
    from engine.ingest import ingest
    from engine.report.render import render_store

    store = tmp_path / "e.duckdb"
    ingest([str(SMOKE / "aep.jsonl")], str(store))
    _, summary = render_store(str(store), tmp_path)
    assert "admission" in summary["sections"] and "coverage" in summary["sections"]
    for absent in ("verifiers", "trust", "contamination", "claims", "authenticity"):
        assert absent not in summary["sections"]
    assert summary["verifier_audit"] is None and summary["claims"] is None


@pytest.mark.parametrize(("options", "code"), [
    ({}, 0),
    ({"fail_under": 0.99}, 1),
    ({"fail_under": 0.95}, 0),
    ({"fail_on": ("reject",)}, 1),
    ({"fail_on": ("critical", "contamination")}, 0),
    ({"fail_on": ("invalid",)}, 1),
])
def test_exit_reasons(smoke_audit: Path, options: dict[str, object], code: int) -> None:
    from engine.report.audit import exit_reasons

    summary = json.loads((smoke_audit / "summary.json").read_text())
    reasons = exit_reasons(summary, AuditOptions(out_dir=smoke_audit, **options))  # type: ignore[arg-type]
    assert bool(reasons) == bool(code)


def test_fail_on_exits_1_and_records_why(tmp_path: Path) -> None:
    result = runner.invoke(cli.app, ["audit", str(SMOKE / "aep.jsonl"), "--out", str(tmp_path), "--fail-on", "reject"])
    assert result.exit_code == 1, result.output
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["exit"]["code"] == 1 and "reject" in summary["exit"]["reasons"][0]
    assert "fail:" in result.output and "report.html" in result.output


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "engine", "audit", str(tmp_path / "missing.jsonl"), "--out",
                           str(tmp_path / "out")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "missing.jsonl" in proc.stderr
    bad = subprocess.run([sys.executable, "-m", "engine", "audit", str(SMOKE / "aep.jsonl"), "--out", str(tmp_path),
                          "--fail-on", "nonsense"], capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "--fail-on" in bad.stderr
    from engine.errors import InputError

    with pytest.raises(InputError) as err:  # checked before the (long) ingest starts
        run_audit([str(SMOKE / "aep.jsonl")], AuditOptions(out_dir=tmp_path / "o2", eval_items=(str(tmp_path / "nope.jsonl"),)))
    assert str(err.value.path).endswith("nope.jsonl")
    assert not (tmp_path / "o2").exists()


def test_every_report_query_is_documented_and_used() -> None:
    used = {q.name for s in SECTIONS for q in s.queries}
    files = {p.stem for p in (SQL_DIR / "report").glob("*.sql")}
    assert used == files
    for name in files:
        head = load_sql(f"report/{name}").splitlines()[0]
        assert head.startswith(f"-- {name}:"), name


@pytest.mark.skipif(not (REF / "winner_max_new768.json").is_file(), reason="case-study logs not present")
def test_claim_section_shows_verdict_and_bcp(tmp_path: Path) -> None:
    a, b = REF / "winner_max_new768.json", REF / "instruct_max_new768.json"
    result = run_audit([str(SMOKE / "aep.jsonl")], AuditOptions(out_dir=tmp_path, claims=((str(a), str(b)),),
                                                                 max_new_tokens=768))
    claim = result.summary["claims"][0]
    assert claim["verdict"] == "no-evidence-of-improvement"
    assert (claim["b"], claim["c"]) == (27, 29) and claim["p_value"] == pytest.approx(0.8939, abs=1e-4)
    md = (tmp_path / "report.md").read_text()
    section = md.split("## Claim audits", 1)[1]
    assert "no-evidence-of-improvement" in section and "| 27 | 29 | 0.8939 |" in section
    html = (tmp_path / "report.html").read_text()
    assert "no-evidence-of-improvement" in html


def test_signed_records_get_authenticity_and_chain_verdicts(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    assert runner.invoke(cli.app, ["keygen", "--key-id", "me", "--out", str(keys)]).exit_code == 0
    plain = tmp_path / "runs.jsonl"
    plain.write_text("\n".join((SMOKE / "aep.jsonl").read_text().splitlines()[:10]) + "\n")
    signed = tmp_path / "signed.jsonl"
    result = runner.invoke(cli.app, ["sign", str(plain), "--key", str(keys / "me.key"), "--key-id", "me",
                                     "--out", str(signed)])
    assert result.exit_code == 0, result.output
    lines = signed.read_text().splitlines()
    lines[2] = lines[2].replace('"model_id":"', '"model_id":"tampered-', 1)  # body changed, signature kept
    signed.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    summary = run_audit([str(signed)], AuditOptions(out_dir=out, keys_dir=keys)).summary
    assert "authenticity" in summary["sections"]
    assert summary["authenticity"]["authenticity.invalid"] == 1
    assert summary["validation_layers"]["authenticity"]["invalid"] == 1
    from engine.validate import ValidateOptions, validate_paths

    report = validate_paths([str(signed)], ValidateOptions(keys_dir=keys))
    assert (summary["valid"], summary["invalid"]) == (report.valid, report.invalid)
    assert "## Authenticity and chain" in (out / "report.md").read_text()
