"""Agent-framework importers (OpenAI Agents SDK, LangSmith, Google ADK, MS Agent Framework, A2A):
hand-written fixtures import to AEP that validates 100%, with the documented mappings."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from engine.importers import import_paths
from engine.importers.langsmith import roots
from engine.validate import ValidateOptions, validate_paths

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "importers"
EXPECTED = {  # source: (records read, written, quarantined by reason)
    "openai-agents": (9, 2, {"missing:trace_id": 1}),
    "langsmith": (10, 2, {"missing:id": 1, "parent cycle": 2}),
    "adk": (8, 2, {"missing:invocation_id": 1}),
    "ms-agent": (3, 2, {"missing:run_id": 1}),
    "a2a": (3, 2, {"missing:task_id": 1}),
}


def _import(source: str, tmp_path: Path) -> tuple[object, list[dict]]:
    out = tmp_path / f"{source}.jsonl"
    summary = import_paths(source, [str(FIXTURES / source.replace("-", "_"))], out)
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    return summary, records


@pytest.mark.parametrize("source", sorted(EXPECTED))
def test_fixture_imports_and_validates(source: str, tmp_path: Path) -> None:
    summary, records = _import(source, tmp_path)
    read, written, reasons = EXPECTED[source]
    assert (summary.records_read, summary.records_written) == (read, written)  # type: ignore[attr-defined]
    assert summary.quarantined_by_reason == reasons  # type: ignore[attr-defined]
    assert summary.records_read == summary.imported + summary.quarantined  # type: ignore[attr-defined]
    report = validate_paths([summary.out], ValidateOptions())  # type: ignore[attr-defined]
    assert report.records == report.valid == written, report.summary()
    for rec in records:
        for action in rec["actions"]:
            assert all(v is not None for v in action.values())


def test_openai_agents_mapping(tmp_path: Path) -> None:
    _, (sdk, flat) = _import("openai-agents", tmp_path)
    assert [a["tool_name"] for a in sdk["actions"]] == ["lookup_invoice", "refund"]
    assert "result_digest" in sdk["actions"][0] and "result_digest" not in sdk["actions"][1]
    assert sdk["capability_decisions"][0]["reason_code"] == "tool_error"
    assert sdk["verifier_results"] == [{"verifier_id": "guardrail/no_pii", "passed": True}]
    assert sdk["model_id"] == "gpt-4o" and sdk["gen_ai_usage"] == {"input_tokens": 210, "output_tokens": 18}
    assert sdk["run_context"] == {"agent_id": "Triage agent"}
    assert flat["extensions"] == {"s1": {"sampling": {"rate": 0.5}}} and flat["model_id"] == "gpt-4o-mini"


def test_langsmith_groups_by_root_and_quarantines_cycles(tmp_path: Path) -> None:
    summary, (chain, graph) = _import("langsmith", tmp_path)
    assert [a["tool_name"] for a in chain["actions"]] == ["calculator", "weather", "sql_db_query"]
    assert chain["model_id"] == "gpt-4o-mini"
    assert chain["capability_decisions"][0]["resource"].endswith("000005")
    assert graph["run_id"] == "langsmith/lg-trace" and graph["created_at_ms"] == 1739275200000.0
    q = [json.loads(x) for x in Path(summary.quarantine_file).read_text().splitlines()]  # type: ignore[attr-defined]
    assert sorted(r["line"] for r in q if r["reason"] == "parent cycle") == [6, 7]


def test_roots_pointer_jumping_matches_a_walk() -> None:
    import random

    rng = random.Random(7)
    ids = [f"n{i}" for i in range(300)]
    parents: list[str | None] = [None if i == 0 or rng.random() < 0.1 else f"n{rng.randrange(i)}" for i in range(300)]
    parents[5] = "missing-parent"
    parents[10], parents[11], parents[12] = "n12", "n10", "n11"  # a 3-cycle
    parents[13] = "n13"  # self loop
    parents[14] = "n12"  # hangs off the cycle

    def walk(i: int) -> str | None:
        seen, node = set(), ids[i]
        while True:
            if node in seen:
                return None
            seen.add(node)
            parent = parents[ids.index(node)]
            if parent is None or parent not in ids:
                return node
            node = parent

    got = roots(pl.Series(ids), pl.Series(parents, dtype=pl.String)).to_list()
    assert got == [walk(i) for i in range(300)]


def test_adk_calls_and_responses_pair_by_id(tmp_path: Path) -> None:
    _, (inv, flat) = _import("adk", tmp_path)
    assert [a["tool_name"] for a in inv["actions"]] == ["get_weather", "book_table"]
    assert all("result_digest" in a for a in inv["actions"])
    assert inv["gen_ai_finish_reasons"] == ["STOP", "MAX_TOKENS"]
    assert inv["verifier_results"] == [{"verifier_id": "adk-completion", "passed": True}]
    assert flat["model_id"] == "gemini-2.0-flash" and flat["capability_decisions"][0]["reason_code"] == "tool_error"
    assert flat["verifier_results"] == [{"verifier_id": "adk-completion", "passed": True}]


def test_ms_agent_and_a2a_mappings(tmp_path: Path) -> None:
    _, (run, failed) = _import("ms-agent", tmp_path)
    assert [a["action_id"] for a in run["actions"]] == ["st-2", "st-4"]
    assert [v["verifier_id"] for v in run["verifier_results"]] == ["human-approval/st-3", "ms-workflow-completion"]
    assert failed["verifier_results"][0]["passed"] is False and failed["extensions"] == {"executor": {"kind": "sequential"}}
    _, (task, flat) = _import("a2a", tmp_path)
    assert [a["action_id"] for a in task["actions"]] == ["m-2", "m-3"]
    assert task["output_refs"][0]["uri"] == "a2a-artifact/art-1" and "digest" in task["output_refs"][0]
    assert flat["output_refs"] == [{"uri": "s3://bucket/out.txt"}]
    assert flat["verifier_results"][0]["passed"] is False
