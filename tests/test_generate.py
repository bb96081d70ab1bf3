"""The seeded generator: determinism, the committed smoke data, schema validity, mutate()."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import wasmagent_protocol
from referencing import Registry, Resource

from benchmarks import generate

ROOT = Path(__file__).resolve().parent.parent
SMOKE = ROOT / "data" / "smoke"
SCHEMA_IDS = {"aep": "aep-record", "rollout": "rollout-wire", "compliance": "compliance-eval-record"}


@pytest.fixture(scope="module")
def validators() -> dict[str, jsonschema.Draft202012Validator]:
    # compliance-eval-record refers to its sibling schemas by relative $ref
    ids = ["constraint-violation", "repair-trace", *SCHEMA_IDS.values()]
    assert set(ids) <= set(wasmagent_protocol.schema_ids())
    resources = [Resource.from_contents(wasmagent_protocol.get_schema(i)) for i in ids]
    registry: Registry = Registry().with_resources((r.id() or "", r) for r in resources)
    return {kind: jsonschema.Draft202012Validator(wasmagent_protocol.get_schema(sid), registry=registry)
            for kind, sid in SCHEMA_IDS.items()}


def _parse(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def test_committed_smoke_data_is_what_the_generator_writes(tmp_path: Path) -> None:
    generate.write_smoke(tmp_path)
    expected = sorted(p.name for p in tmp_path.iterdir())
    assert expected == ["aep.jsonl", "compliance.jsonl", "eval_a.json", "eval_b.json", "rollouts.jsonl"]
    for name in expected:
        assert (SMOKE / name).read_bytes() == (tmp_path / name).read_bytes(), (
            f"data/smoke/{name} is stale: run `python benchmarks/generate.py smoke --out data/smoke`")
    assert sum((SMOKE / n).stat().st_size for n in expected) < 1_000_000


@pytest.mark.parametrize("kind", ["aep", "rollout", "compliance"])
def test_generation_is_deterministic(kind: str, tmp_path: Path) -> None:
    options = {"invalid_rate": 0.05, "unparsable": 2, "comments": True}
    generate.write_jsonl(tmp_path / "a.jsonl", kind, 300, 7, **options)
    generate.write_jsonl(tmp_path / "b.jsonl", kind, 300, 7, **options)
    generate.write_jsonl(tmp_path / "c.jsonl", kind, 300, 8, **options)
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    assert (tmp_path / "a.jsonl").read_bytes() != (tmp_path / "c.jsonl").read_bytes()
    assert list(generate.records(kind, 50, 3)) == list(generate.records(kind, 50, 3))


def test_damage_does_not_shift_the_clean_records() -> None:
    clean = [t for _, t in generate.lines("aep", 400, 11)]
    damaged = list(generate.lines("aep", 400, 11, invalid_rate=0.1, semantic_rate=0.05, unparsable=3))
    kept = [t for label, t in damaged if label == "valid"]
    assert set(kept) <= set(clean) and len(kept) == 400 - 40 - 20


@pytest.mark.parametrize("kind,n", [("aep", 1000), ("rollout", 600), ("compliance", 300)])
def test_valid_records_pass_the_canonical_schema(kind: str, n: int, validators: dict[str, Any]) -> None:
    validator = validators[kind]
    for rec in generate.records(kind, n, 2):
        errors = list(validator.iter_errors(rec))
        assert not errors, f"{kind} {rec.get('run_id') or rec.get('rollout_id') or rec.get('task_id')}: {errors[0].message}"


PROJECT_SCHEMAS = {"rollout": "rollout-wire.v1.schema.json", "compliance": "compliance-eval-record.v1.schema.json"}


def _project_validator(kind: str) -> Any:
    """The project's own contract (schemas/), where it differs from the canonical one."""
    path = ROOT / "schemas" / PROJECT_SCHEMAS.get(kind, "-")
    if not path.is_file():
        return None
    return jsonschema.Draft202012Validator(json.loads(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("kind", ["aep", "rollout", "compliance"])
def test_labels_are_ground_truth(kind: str, validators: dict[str, Any]) -> None:
    validator = validators[kind]
    project = _project_validator(kind)
    seen: Counter[str] = Counter()
    for label, text in generate.lines(kind, 400, 4, invalid_rate=0.08, semantic_rate=0.04, unparsable=4,
                                      comments=True):
        seen[label] += 1
        obj = None if label in ("blank", "comment") else _parse(text)
        if label in ("valid", "semantic", "invalid"):
            assert isinstance(obj, dict)
            assert validator.is_valid(obj) == (label != "invalid"), text[:200]
            if project is not None:
                assert project.is_valid(obj) == (label != "invalid"), text[:200]
        elif label == "unparsable":
            assert not isinstance(obj, dict)
    assert seen["invalid"] == 32 and seen["unparsable"] == 4 and seen["blank"] == seen["comment"] == 1
    assert seen["semantic"] == (16 if kind == "aep" else 0)


def test_smoke_files_have_a_realistic_sprinkling(validators: dict[str, Any]) -> None:
    for name, kind in [("aep.jsonl", "aep"), ("rollouts.jsonl", "rollout"), ("compliance.jsonl", "compliance")]:
        raw = (SMOKE / name).read_text(encoding="utf-8").split("\n")[:-1]
        objects = [_parse(t) for t in raw if t.strip() and not t.startswith("#")]
        records = [o for o in objects if isinstance(o, dict)]
        invalid = sum(not validators[kind].is_valid(o) for o in records)
        assert 0 < invalid <= 0.06 * len(records), name
    aep_lines = (SMOKE / "aep.jsonl").read_text(encoding="utf-8").split("\n")
    assert "" in aep_lines[:-1] and aep_lines[0].startswith("#")
    assert sum(not isinstance(_parse(t), dict) for t in aep_lines if t and not t.startswith("#")) == 3


def test_aep_data_is_realistic() -> None:
    recs = list(generate.records("aep", 3000, 5))
    versions = Counter(r["schema_version"] for r in recs)
    assert set(versions) == {f"aep/v0.{i}" for i in range(1, 6)}
    actions = [a for r in recs for a in r["actions"]]
    changing = [a for a in actions if a["state_changing"]]
    assert changing and any("result_digest" not in a and "precondition_digest" not in a for a in changing)
    decisions = Counter(d["decision"] for r in recs for d in r["capability_decisions"])
    assert {"allow", "deny", "ask_user"} <= set(decisions)
    assert any("tool_manifest_digest" not in r for r in recs)
    assert all("recording_mode" in r for r in recs if r["schema_version"] >= "aep/v0.3")
    order = ["unknown", "operator_asserted", "principal_key_signed", "qualified_signature"]
    v05 = [r for r in recs if "run_attribution_backing_observed" in r]
    assert v05
    for r in v05:
        assert r["run_attribution_backing_floor"] == min(r["run_attribution_backing_observed"], key=order.index)
    for r in recs:
        ids = [a["action_id"] for a in r["actions"]]
        assert len(ids) == len(set(ids))


def test_rollouts_have_both_tool_call_shapes_and_consistent_scores() -> None:
    recs = list(generate.records("rollout", 400, 6))
    shapes = Counter("tool_name" in r["tool_call_sequence"][0] for r in recs if r["tool_call_sequence"])
    assert shapes[True] and shapes[False]
    events = [e for r in recs for e in r["tool_call_sequence"] if "channel" in e]
    calls = {e["data"]["callId"] for e in events if e["event"] == "tool_call"}
    results = {e["data"]["callId"] for e in events if e["event"] == "tool_result"}
    assert calls and calls == results
    for r in recs:
        assert r["objective_score"] == (1 if r["objective_status"] == "pass" else 0)
    by_rollout = Counter(r["rollout_id"] for r in recs)
    assert max(by_rollout.values()) >= 3
    statuses = Counter(r["objective_status"] for r in recs)
    assert set(statuses) == {"pass", "fail", "unknown"}


def test_eval_pair_shape() -> None:
    a, b = generate.eval_pair(200, 9)
    ids_a = [x["id"] for x in a["results"]]
    assert ids_a == [x["id"] for x in b["results"]] and len(set(ids_a)) == 200
    errors = [x for x in a["results"] + b["results"] if "correct" not in x]
    assert len(errors) == 1 and "error" in errors[0]
    answered = [x for x in a["results"] if "#### " in x["gen_text"]]
    truncated = [x for x in a["results"] if "####" not in x["gen_text"]]
    assert len(answered) > len(truncated) > 0
    assert all(len(x["gen_text"]) / 2 >= a["meta"]["max_new_tokens"] - 8 for x in truncated)


def test_mutate_breaks_records_often_and_leaves_input_alone(validators: dict[str, Any]) -> None:
    rng = random.Random(0)
    for kind in ("aep", "rollout", "compliance"):
        recs = list(generate.records(kind, 60, 1))
        before = json.dumps(recs, sort_keys=True)
        outcomes = Counter(validators[kind].is_valid(generate.mutate(r, rng)) for r in recs for _ in range(10))
        assert json.dumps(recs, sort_keys=True) == before
        assert outcomes[False] >= 0.25 * 600, (kind, outcomes)
        assert outcomes[True] > 0, kind


def test_mutate_covers_the_adversarial_values() -> None:
    rng = random.Random(1)
    rec = next(generate.records("aep", 1, 1))
    seen: set[str] = set()
    for _ in range(3000):
        text = json.dumps(generate.mutate(rec, rng))
        seen.update(tok for tok in ("NaN", "Infinity", "1e+308", "1000000000000000000000000000000", "x_extra")
                    if tok in text)
    assert seen == {"NaN", "Infinity", "1e+308", "1000000000000000000000000000000", "x_extra"}


def test_benchmark_harness_measures_a_child_process() -> None:
    from benchmarks import harness, run

    m = harness.measure(harness.python_cmd("import sys; b = bytearray(60_000_000); print(len(b))"), repeat=2)
    assert m.ok and m.stdout.strip() == "60000000" and len(m.walls) == 2
    assert m.peak_rss_bytes >= 60_000_000
    failed = harness.measure(harness.python_cmd("import sys; sys.exit(3)"), repeat=3)
    assert failed.returncode == 3 and len(failed.walls) == 1
    assert set(run.BENCHMARKS) >= {"validate"}
    assert run.build_parser().parse_args(["validate", "--n", "10"]).n == 10


@pytest.mark.parametrize("kind", ["aep", "rollout", "compliance"])
def test_fast_encoder_matches_the_standard_one(kind: str) -> None:
    recs = list(generate.records(kind, 300, 12))
    standard = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
    assert [generate._encode(r) for r in recs] == [standard.encode(r) for r in recs]
    assert generate._encode({"n": 10**30}) == '{"n":1000000000000000000000000000000}'
