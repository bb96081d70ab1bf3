"""Benchmark importers (BFCL, tau-bench, MCP-Atlas, Terminal-Bench, ToolSandbox, AgentHarm):
hand-written fixtures import, validate 100%, and rollouts export SFT with their tool calls."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.importers import SOURCES, import_paths
from engine.validate import ValidateOptions, validate_paths

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "importers"
BENCHMARKS = ("bfcl", "tau-bench", "mcp-atlas", "terminal-bench", "tool-sandbox", "agent-harm")
CASES = [(s, f) for s in BENCHMARKS for f in SOURCES[s][2]]


def _read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _import(source: str, fmt: str, tmp_path: Path):
    out = tmp_path / f"{source}.{fmt}.jsonl"
    summary = import_paths(source, [str(FIXTURES / source.replace("-", "_"))], out, fmt)
    return summary, out


@pytest.mark.parametrize(("source", "fmt"), CASES)
def test_fixture_imports_and_validates(source: str, fmt: str, tmp_path: Path) -> None:
    summary, out = _import(source, fmt, tmp_path)
    assert summary.records_read == summary.imported + summary.quarantined
    assert summary.records_written == (3 if source == "bfcl" else 2) and summary.quarantined == 1
    assert list(summary.quarantined_by_reason) in (["missing:task_id"], ["missing:question"],
                                                   ["missing:user_query"])
    report = validate_paths([str(out)], ValidateOptions())
    assert report.records == summary.records_written == report.valid, report.summary()
    q = _read(Path(summary.quarantine_file))
    assert q[0]["line"] == (4 if source == "bfcl" else 3) and q[0]["source"].endswith("results.jsonl")
    records = _read(out)
    for rec in records:
        assert "null" not in json.dumps([rec.get("actions", []), rec.get("input_refs", []), rec.get("output_refs", [])])
    if fmt == "rollout":
        calls = [c for rec in records for c in rec["tool_call_sequence"]]
        assert calls and all(set(c) <= {"tool_name", "arguments", "result", "error"} for c in calls)
        assert all(isinstance(c["tool_name"], str) and isinstance(c["arguments"], dict) for c in calls)


def test_unknown_keys_are_kept_in_extensions(tmp_path: Path) -> None:
    _, out = _import("mcp-atlas", "rollout", tmp_path)
    assert _read(out)[1]["extensions"] == {"judge": {"name": "atlas-judge", "version": 2}}


def test_aep_digests_are_sha256_of_canonical_content(tmp_path: Path) -> None:
    import hashlib

    _, out = _import("mcp-atlas", "aep", tmp_path)
    first = _read(out)[0]
    step = first["actions"][0]
    canonical = json.dumps({"count": 3}, sort_keys=True, separators=(",", ":")).encode()
    assert step["result_digest"] == hashlib.sha256(canonical).hexdigest()
    assert [a["timestamp_ms"] for a in first["actions"]] == [420.0, 600.0]
    assert [v["verifier_id"] for v in first["verifier_results"]] == ["mcp-atlas-claim/c1", "mcp-atlas-claim/c2"]
    second = _read(out)[1]
    assert "result_digest" not in second["actions"][0]  # errored step: no result, key omitted


def test_tau_bench_pairs_tool_turns_with_results(tmp_path: Path) -> None:
    _, out = _import("tau-bench", "rollout", tmp_path)
    first = _read(out)[0]
    assert [c["tool_name"] for c in first["tool_call_sequence"]] == ["get_order_details",
                                                                     "exchange_delivered_order_items"]
    assert first["tool_call_sequence"][0]["result"] == {"status": "delivered", "items": ["blue shirt"]}
    assert first["final_answer"] == "Your exchange is confirmed." and first["objective_status"] == "pass"


def test_bfcl_reads_nested_question_turns(tmp_path: Path) -> None:
    _, out = _import("bfcl", "rollout", tmp_path)
    records = _read(out)
    assert records[1]["task"] == 'Find the weather in "Paris" and convert 20 EUR to USD.'
    assert [r["objective_status"] for r in records] == ["pass", "fail", "unknown"]


def test_agent_harm_prevented_actions_are_denials(tmp_path: Path) -> None:
    _, out = _import("agent-harm", "aep", tmp_path)
    first, second = _read(out)
    assert first["capability_decisions"][0]["reason_code"] == "harm_prevention:fraud"
    assert first["verifier_results"][0] == {"verifier_id": "agent-harm-safety", "passed": True, "score": 1.0}
    assert second["run_id"] == "os-harm/os-4/claude" and second["verifier_results"][0]["passed"] is False


@pytest.mark.parametrize("source", [s for s in BENCHMARKS if "rollout" in SOURCES[s][2]])
def test_rollouts_export_sft_with_tool_calls(source: str, tmp_path: Path) -> None:
    from engine.export.pipeline import ExportOptions, run_export

    _, out = _import(source, "rollout", tmp_path)
    opts = ExportOptions(out_dir=tmp_path / "export", rollout=(str(out),), include_failing=True)
    result = run_export(opts)
    assert result.counts["exported"] == len(_read(out))
    rows = _read(tmp_path / "export" / "sft.jsonl")
    names = [tc["function"]["name"] for row in rows for m in row["messages"] for tc in (m.get("tool_calls") or [])]
    exported = {row["rollout_id"] for row in rows}
    expected = [c["tool_name"] for rec in _read(out) if rec["rollout_id"] in exported for c in rec["tool_call_sequence"]]
    assert sorted(names) == sorted(expected) and names


def test_unreadable_lines_are_quarantined_and_counted(tmp_path: Path) -> None:
    src = tmp_path / "mixed.jsonl"
    good = (FIXTURES / "tool_sandbox" / "results.jsonl").read_text(encoding="utf-8").splitlines()[0]
    src.write_text("\n".join([good, "{not json", "[1, 2]", "", "# comment", good]) + "\n", encoding="utf-8")
    out = tmp_path / "ts.jsonl"
    summary = import_paths("tool-sandbox", [str(src)], out, "rollout")
    assert summary.records_read == 4 == summary.imported + summary.quarantined
    assert summary.records_written == 2 and summary.quarantined == 2
    lines = sorted(json.loads(x)["line"] for x in Path(summary.quarantine_file).read_text().splitlines())
    assert lines == [2, 3]
