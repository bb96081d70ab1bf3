"""OpenTelemetry GenAI importer: OTLP/JSON and span-per-line fixtures → valid AEP runs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import polars as pl

from cli import app
from engine.importers import import_frame, import_paths
from engine.validate import ValidateOptions, validate_paths

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "importers" / "otel"
TRACE = "5b8efff798038103d269b633813fc60c"


def _runs(path: Path) -> dict[str, dict]:
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return {r["trace_id"]: r for r in records}


def test_otlp_trace_with_two_tools_and_a_length_finish(tmp_path: Path) -> None:
    out = tmp_path / "otel.jsonl"
    summary = import_paths("otel", [str(FIXTURES / "trace_otlp.json")], out)
    assert (summary.records_read, summary.imported, summary.quarantined, summary.records_written) == (4, 4, 0, 1)
    run = _runs(out)[TRACE]
    assert run["run_id"] == f"otel/{TRACE}" and run["schema_version"] == "aep/v0.5"
    # the spans are stored out of order; actions follow start time
    assert [a["tool_name"] for a in run["actions"]] == ["get_weather", "get_forecast"]
    assert [a["gen_ai"]["tool_call_id"] for a in run["actions"]] == ["call_1", "call_2"]
    assert run["actions"][0]["gen_ai"]["input_tokens"] == 15
    assert run["gen_ai_finish_reasons"] == ["length"]
    assert run["gen_ai_usage"] == {"input_tokens": 135, "output_tokens": 265}
    call = run["gen_ai_calls"][0]
    assert (call["max_tokens"], call["output_tokens"], call["finish_reasons"]) == (256, 256, ["length"])
    assert run["model_provider"] == "openai" and run["model_id"] == "gpt-4o"
    assert run["run_context"] == {"agent_id": "weather_agent"}
    assert run["created_at_ms"] == 1735689600000.0
    assert run["budget_ledger"]["token_budget"] == {"spent": 400}
    # digests of content the span carries; omitted (not null) where it carries none
    result = "{\"forecast\": [\"sun\", \"rain\", \"sun\"]}"
    assert run["actions"][1]["result_digest"] == hashlib.sha256(json.dumps(result).encode()).hexdigest()
    assert "result_digest" not in run["actions"][0]
    report = validate_paths([str(out)], ValidateOptions())
    assert report.valid == report.records == 1


def test_span_lines_flat_attributes_and_openinference(tmp_path: Path) -> None:
    out = tmp_path / "otel.jsonl"
    summary = import_paths("otel", [str(FIXTURES)], out)
    assert summary.records_read == 11 == summary.imported + summary.quarantined
    assert summary.quarantined_by_reason == {"missing:traceId": 1}
    runs = _runs(out)
    flat = runs["t-flat-1"]
    assert flat["model_provider"] == "anthropic" and flat["gen_ai_finish_reasons"] == ["tool_use"]
    assert flat["actions"][0]["otel"]["status_code"] == "ERROR"
    assert flat["extensions"] == {"s2": {"resource": {"service.name": "svc"}}}
    oi = runs["t-oi-1"]
    assert [a["tool_name"] for a in oi["actions"]] == ["lookup_order"]
    assert oi["verifier_results"] == [{"verifier_id": "guardrail/guardrail", "passed": False, "score": 0.0}]
    assert oi["gen_ai_usage"] == {"input_tokens": 30, "output_tokens": 7} and oi["model_id"] == "gpt-4o-mini"
    assert validate_paths([str(out)], ValidateOptions()).valid == 3
    q = [json.loads(line) for line in Path(summary.quarantine_file).read_text().splitlines()]
    assert q == [{"source": str(FIXTURES / "spans.jsonl"), "line": 8, "reason": "missing:traceId",
                  "excerpt": '{"span_id": "orphan", "name": "execute_tool x", "attributes": {}}'}]


def test_output_is_deterministic(tmp_path: Path) -> None:
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    import_paths("otel", [str(FIXTURES)], a)
    import_paths("otel", [str(FIXTURES)], b)
    assert a.read_bytes() == b.read_bytes()


def test_cli_then_ingest_then_sql(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    runner = CliRunner()
    out, store = tmp_path / "otel.jsonl", tmp_path / "ev.duckdb"
    res = runner.invoke(app, ["import", "otel", str(FIXTURES / "trace_otlp.json"), "--out", str(out),
                              "--format", "json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["records_written"] == 1
    res = runner.invoke(app, ["ingest", str(out), "--store", str(store), "--format", "json"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["sql", "select idx, tool_name from actions order by idx", "--store", str(store),
                              "--format", "json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output) == [{"idx": 0, "tool_name": "get_weather"}, {"idx": 1, "tool_name": "get_forecast"}]
    res = runner.invoke(app, ["sql", "select token_spent from runs", "--store", str(store), "--format", "json"])
    assert json.loads(res.output) == [{"token_spent": 400.0}]
    # the extra gen_ai keys are plain JSON: DuckDB reads them from the imported evidence file
    query = (f"select gen_ai_usage.output_tokens as o, gen_ai_finish_reasons as f, actions[1].gen_ai.input_tokens as t "
             f"from read_json_auto('{out}')")
    res = runner.invoke(app, ["sql", query, "--store", str(store), "--format", "json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output) == [{"o": 265, "f": ["length"], "t": 15}]


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    engine = Path(sys.executable).with_name("engine")
    for args in (["import", "nosuch", str(FIXTURES)], ["import", "otel", str(tmp_path / "missing.jsonl")],
                 ["import", "bfcl", str(FIXTURES), "--format", "aep"]):
        res = subprocess.run([str(engine), *args, "--out", str(tmp_path / "x.jsonl")], capture_output=True, text=True,
                             timeout=120)
        assert res.returncode == 2, res.stderr
        assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr
    assert not (tmp_path / "x.jsonl").exists()


def test_empty_and_non_span_records_are_quarantined() -> None:
    frame = pl.DataFrame({"source": ["f"] * 3, "line": [1, 2, 3],
                          "raw": ['{"resourceSpans": []}', '{"hello": 1}', '{"traceId": "t", "spanId": "s", "name": "x"}']})
    res = import_frame("otel", frame)
    assert res.read == 3 and res.imported == 1 and res.quarantine.height == 2
    assert sorted(res.quarantine["reason"].to_list()) == ["missing:traceId", "no spans in resourceSpans"]
