"""Normalisation of records into store tables: shapes, keys, tolerant decoding."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from engine.normalize import TABLE_SCHEMAS, normalize_records, record_key, source_key

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "store"
DIGEST = "0123456789abcdef" * 2


def records_of(kind: str, objects: list[dict[str, object] | str], source: str = "mem.jsonl") -> pl.DataFrame:
    raw = [o if isinstance(o, str) else json.dumps(o) for o in objects]
    frame = pl.DataFrame({
        "source": [source] * len(raw), "line": list(range(1, len(raw) + 1)), "kind": [kind] * len(raw), "raw": raw,
    })
    return frame.with_columns(record_key(DIGEST, pl.col("line"))).select("record_key", pl.exclude("record_key"))


def fixture_records(name: str, kind: str) -> pl.DataFrame:
    lines = (FIXTURES / name).read_text(encoding="utf-8").splitlines()
    return records_of(kind, [ln for ln in lines if ln.startswith("{") and ln.endswith("}")])


def test_every_table_has_its_declared_schema() -> None:
    records = pl.concat([
        fixture_records("aep.jsonl", "aep"),
        fixture_records("rollouts.jsonl", "rollout"),
        fixture_records("compliance.jsonl", "compliance"),
        records_of("eval", [{"id": "q1", "correct": True, "expected": "1", "predicted": "1"}]),
        records_of("sft", [{"schema_version": "sft/v1", "messages": []}]),
    ])
    tables = normalize_records(records)
    for name, frame in tables.items():
        assert dict(frame.schema) == {c: t for c, t in TABLE_SCHEMAS[name].items()}, name
        assert frame.columns[:3] == ["record_key", "source", "line"]
    assert tables["other_records"]["schema_version"].to_list() == ["sft/v1"]


def test_record_key_is_digest_plus_line_and_unique() -> None:
    records = records_of("aep", [{"run_id": "x", "schema_version": "aep/v0.1"}] * 3)
    assert records["record_key"].to_list() == [source_key(DIGEST) + n for n in (1, 2, 3)]
    assert records["record_key"].n_unique() == 3


def test_aep_runs_counts_and_child_tables() -> None:
    tables = normalize_records(fixture_records("aep.jsonl", "aep"))
    runs = tables["runs"].sort("line")
    # lines 1, 2, 4, 5, 6 of the fixture are objects (line 3 is not JSON); line 6 lacks run_id
    assert runs["run_id"].to_list() == ["r1", "r2", "r3", "r4", None]
    assert runs["n_actions"].to_list() == [2, 2, 1, 0, 0]
    assert runs["n_state_changing"].to_list() == [1, 2, 1, 0, 0]
    assert runs["n_state_changing_evidenced"].to_list() == [1, 1, 1, 0, 0]
    assert runs["n_verifiers_passed"].to_list() == [1, 0, 0, 1, 0]
    assert runs["n_denials"].to_list() == [0, 1, 0, 1, 0]
    actions = tables["actions"]
    assert actions.height == 5
    assert actions.filter(pl.col("run_id") == "r2")["has_evidence"].to_list() == [False, True]
    assert set(actions["record_key"]) <= set(runs["record_key"])
    assert tables["input_refs"].row(0, named=True)["taint_labels"] == ["user"]
    assert tables["output_refs"]["digest"].to_list() == ["o1"]


def test_both_tool_call_shapes_resolve_to_one() -> None:
    calls = normalize_records(fixture_records("rollouts.jsonl", "rollout"))["tool_calls"]
    ra0 = calls.filter((pl.col("rollout_id") == "ra") & (pl.col("branch_index") == 0)).sort("idx")
    assert ra0.select("idx", "shape", "tool_name", "arguments", "result", "error").rows() == [
        (0, "entry", "shell", '{"cmd":"ls"}', '{"ok":true}', None),
        (1, "entry", "write_file", '{"path":"x"}', None, "disk full"),  # `args` accepted for `arguments`
    ]
    ra1 = calls.filter((pl.col("rollout_id") == "ra") & (pl.col("branch_index") == 1)).sort("idx")
    assert ra1.select("idx", "shape", "call_id", "tool_name", "arguments", "result", "error").rows() == [
        (0, "event", "c1", "shell", '{"cmd":"pwd"}', '"ok"', None),
        (1, "event", "c2", "write_file", '{"path":"y"}', None, "denied"),
    ]
    assert calls.height == 5


def test_event_pairs_collapse_on_call_id_and_mixed_sequences_keep_order() -> None:
    ev = lambda e, d: {"channel": "tool", "event": e, "data": d}  # noqa: E731
    seq = [
        {"tool_name": "first", "arguments": {}},
        ev("tool_call", {"toolName": "t", "args": {"v": 1}, "callId": "k"}),
        ev("tool_call", {"toolName": "t", "args": {"v": 2}, "callId": "k"}),
        ev("tool_result", {"callId": "k", "output": 42}),
        ev("tool_result", {"output": "no id"}),
        {"channel": "chat", "event": "message", "data": {}},
    ]
    rec = {"rollout_id": "m", "task": "t", "branch_index": 0, "temperature": 0.0, "session_id": "s",
           "final_answer": "", "tool_call_sequence": seq}
    calls = normalize_records(records_of("rollout", [rec]))["tool_calls"].sort("idx")
    assert calls.select("idx", "call_id", "tool_name", "arguments", "result").rows() == [
        (0, None, "first", "{}", None),
        (1, "k", "t", '{"v":2}', "42"),
        (2, "", None, None, '"no id"'),
    ]
    rollouts = normalize_records(records_of("rollout", [rec]))["rollouts"]
    assert rollouts["n_tool_calls"].to_list() == [3]


def test_wrong_types_become_null_without_losing_the_batch() -> None:
    good = {"schema_version": "aep/v0.1", "run_id": "ok", "created_at_ms": 5,
            "actions": [{"action_id": "a", "tool_name": "t", "state_changing": True, "timestamp_ms": 1}]}
    bad = {"schema_version": "aep/v0.1", "run_id": "bad", "created_at_ms": "soon",
           "actions": [{"action_id": ["x"], "tool_name": {"n": 1}, "state_changing": True, "timestamp_ms": "x"}]}
    runs = normalize_records(records_of("aep", [good, bad]))["runs"]
    assert runs["created_at_ms"].to_list() == [5.0, None]
    assert runs["n_actions"].to_list() == [1, 1]


def test_compliance_tables() -> None:
    tables = normalize_records(fixture_records("compliance.jsonl", "compliance"))
    comp = tables["compliance"].sort("line")
    assert comp.select("model", "mode", "final_pass", "n_violations", "n_hard_violations", "repair_tokens").rows() == [
        ("m-a", "direct", False, 2, 1, 0),
        ("m-a", "full_pcl", True, 1, 1, 5),
        ("m-b", "direct", True, 0, 0, 0),
    ]
    assert tables["violations"].sort("line", "idx")["constraint_id"].to_list() == ["c1", "c2", "c1"]
    repair = tables["repairs"].row(0, named=True)
    assert (repair["round"], repair["strategy"], repair["ok"], repair["violation_ids"]) == (1, "patch", True, ["c1"])


def test_eval_items_accept_both_log_styles() -> None:
    items = normalize_records(records_of("eval", [
        {"id": "q1", "correct": True, "expected": "1", "predicted": "1", "gen_text": "g"},
        {"id": "q2", "error": "timeout"},
        {"doc_id": 7, "target": "x", "acc": 0.0},
    ]))["eval_items"]
    assert items.select("item_id", "correct", "expected", "error").rows() == [
        ("q1", True, "1", None), ("q2", None, None, "timeout"), ("7", False, "x", None),
    ]


@pytest.mark.parametrize("kind", ["aep", "rollout", "compliance", "eval"])
def test_empty_input_gives_empty_tables(kind: str) -> None:
    tables = normalize_records(records_of(kind, []))
    assert all(frame.height == 0 for frame in tables.values())


def _typed_vs_raw(path: Path) -> None:
    from polars.testing import assert_frame_equal

    from engine.io.records import iter_record_batches
    from engine.normalize import normalize_typed_aep

    for batch in iter_record_batches([str(path)]):
        for part in batch.parts:
            if part.kind != "aep" or not part.typed.height:
                continue
            typed = part.typed.with_columns(pl.lit(batch.source).alias("source"), record_key(DIGEST, pl.col("line")))
            raw = typed.select("record_key", "source", "line", pl.lit("aep").alias("kind"), "raw")
            fast, slow = normalize_typed_aep(typed), normalize_records(raw)
            for table in ("runs", "actions", "decisions", "verifiers", "input_refs", "output_refs"):
                order = ["record_key", "idx"] if "idx" in fast[table].columns else ["record_key"]
                assert_frame_equal(fast[table].sort(order), slow[table].sort(order), check_exact=True)


def test_typed_aep_path_equals_the_raw_decode_path() -> None:
    """The reader's contract-typed columns and the store's own tolerant decode give the same tables."""
    _typed_vs_raw(FIXTURES / "aep.jsonl")


@pytest.mark.skipif(not (FIXTURES.parent.parent / "data" / "smoke" / "aep.jsonl").is_file(), reason="no smoke data")
def test_typed_aep_path_equals_the_raw_decode_path_on_smoke_data() -> None:
    _typed_vs_raw(FIXTURES.parent.parent / "data" / "smoke" / "aep.jsonl")
