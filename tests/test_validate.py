"""engine validate: exact agreement with jsonschema, conformance corpus, summary accounting."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from benchmarks.corrupt import break_semantics, mutate
from benchmarks.generate import records as generated
from engine.contract.semantic import semantic_rules_py
from engine.contract.structural import reference_validator
from engine.validate import ValidateOptions, validate_paths

REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "data"


def _verdicts(paths: list[str], kind: str | None = None) -> tuple[Any, pl.DataFrame]:
    frames: list[pl.DataFrame] = []
    report = validate_paths(paths, ValidateOptions(kind=kind), on_batch=lambda b, v: frames.append(v))
    verdicts = pl.concat(frames) if frames else pl.DataFrame()
    return report, verdicts


def _write_lines(path: Path, recs: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for rec in recs:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")


@pytest.mark.skipif(not REFERENCE.is_dir(), reason="shared reference data not present")
def test_reference_smoke_is_all_valid() -> None:
    report, _ = _verdicts([str(REFERENCE / "data" / "smoke" / "aep-smoke.jsonl")])
    s = report.summary()
    assert (s["records"], s["valid"], s["invalid"], s["quarantined"]) == (5, 5, 0, 0)


@pytest.mark.parametrize("kind", ["aep", "rollout", "compliance"])
def test_structural_verdicts_equal_jsonschema_on_mutated_records(tmp_path: Path, kind: str) -> None:
    """Differential: >= 20,000 records in all (3 kinds x 7,000), half of them randomly mutated."""
    rng = random.Random(f"diff-{kind}")
    recs = []
    for i, rec in enumerate(generated(kind, 7000, seed=11)):
        recs.append(mutate(rec, rng) if i % 2 else rec)
        if i % 7 == 3:  # several mutations on top of each other
            recs[-1] = mutate(mutate(recs[-1], rng), rng)
    path = tmp_path / f"{kind}.jsonl"
    _write_lines(path, recs)
    _, verdicts = _verdicts([str(path)], kind=kind)
    assert verdicts.height == len(recs)
    validator = reference_validator(kind)
    # the reference reads the same bytes the engine read
    expected = [validator.is_valid(json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines()]
    got = (verdicts.sort("line").get_column("structural") == "valid").to_list()
    mismatches = [i + 1 for i, (a, b) in enumerate(zip(expected, got, strict=True)) if a != b]
    assert not mismatches, f"lines where engine and jsonschema disagree: {mismatches[:10]}"
    assert 0.2 < sum(expected) / len(expected) < 0.95  # the test really exercises both verdicts


def test_structural_verdicts_equal_jsonschema_through_line_noise(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same differential through irregular lines: spaced and compact separators, escaped
    non-ASCII, CRLF, white space around, blank and comment lines, small blocks and runs."""
    import engine.io.typed as typed
    from engine.io.records import iter_record_batches
    from engine.validate import verdicts_of_batch

    monkeypatch.setattr(typed, "MIN_SPLIT_LINES", 64)
    rng = random.Random("noise")
    validator = reference_validator("aep")
    out: list[str] = []
    expected: dict[int, bool] = {}
    for i, rec in enumerate(generated("aep", 7000, seed=13)):
        if i % 2:
            rec = mutate(rec, rng)
        if rng.random() < 0.05:
            out.append(rng.choice(["", "# note", "   ", "\r"]))
        text = json.dumps(rec, ensure_ascii=rng.random() < 0.5,
                          separators=rng.choice([(",", ":"), (", ", ": ")]))
        expected[len(out) + 1] = validator.is_valid(json.loads(text))
        out.append(rng.choice(["", "", "", " ", "\t"]) + text + rng.choice(["", "", "\r", " "]))
    path = tmp_path / "noisy.jsonl"
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    got: dict[int, bool] = {}
    for batch in iter_record_batches([str(path)], kind="aep", block_bytes=300_000):
        verdicts, _ = verdicts_of_batch(batch)
        got.update(zip(verdicts.get_column("line").to_list(),
                       (verdicts.get_column("structural") == "valid").to_list(), strict=True))
    assert sorted(got) == sorted(expected)
    mismatches = [n for n in expected if expected[n] != got[n]]
    assert not mismatches, f"lines where engine and jsonschema disagree: {mismatches[:10]}"
    assert 0.2 < sum(expected.values()) / len(expected) < 0.95


@pytest.mark.parametrize("text, valid", [
    ('"parent_trace_id": null', True),  # allows null
    ('"parent_trace_id":null, "mcp_server_card_digest" :  null', True),
    ('"trace_id": null', False),  # optional, but not nullable
    ('"trace\\u005fid": null', False),  # the same key spelled with an escape
    ('"run_context": {"agent_id": null}', False),  # nested
    ('"repo_commit": "null", "model_id": "nullable"', True),  # null inside strings
    ('"x_extra": null', True),  # undeclared fields may be anything
    ('"x_extra": {"trace_id": null}', True),  # ... also inside (the fast path defers, jsonschema decides)
    ('"parent_trace_id": null, "trace_id": null', False),
    ('"actions": [{"action_id": "a", "tool_name": "t", "state_changing": false, "result_digest": null}]', False),
    ('"run_attribution_backing_observed": [null]', False),
])
def test_json_null_where_the_schema_forbids_it(tmp_path: Path, text: str, valid: bool) -> None:
    line = '{"schema_version": "aep/v0.5", "run_id": "r", "created_at_ms": 1, ' + text + "}"
    assert reference_validator("aep").is_valid(json.loads(line)) == valid
    path = tmp_path / "n.jsonl"
    path.write_text(line + "\n" + line + "\n")
    _, verdicts = _verdicts([str(path)])
    assert verdicts.get_column("structural").to_list() == ["valid" if valid else "invalid"] * 2


def test_mixed_kinds_in_one_file_equal_jsonschema(tmp_path: Path) -> None:
    """Lines of other kinds are split off and read again with their own schema."""
    rng = random.Random("mixed")
    rows: list[tuple[str, dict[str, Any]]] = []
    for kind in ("aep", "rollout", "compliance"):
        rows.extend((kind, mutate(r, rng) if i % 3 == 0 else r) for i, r in enumerate(generated(kind, 1500, seed=3)))
    rng.shuffle(rows)
    path = tmp_path / "mixed.jsonl"
    _write_lines(path, [r for _, r in rows])
    _, verdicts = _verdicts([str(path)])
    by_line = dict(zip(verdicts.get_column("line").to_list(), verdicts.get_column("structural").to_list(), strict=True))
    expected_kinds = {}
    for number, (kind, rec) in enumerate(rows, start=1):
        version = rec.get("schema_version")
        if isinstance(version, str) and version.startswith(("aep/", "rollout-wire/", "compliance-eval-record/")):
            expected_kinds[number] = kind
    kinds = dict(zip(verdicts.get_column("line").to_list(), verdicts.get_column("kind").to_list(), strict=True))
    lines = path.read_text(encoding="utf-8").splitlines()
    checked = 0
    for number, kind in expected_kinds.items():
        if kinds[number] != kind:
            continue  # a mutated schema_version may name another kind
        rec = json.loads(lines[number - 1])
        assert (by_line[number] == "valid") == reference_validator(kind).is_valid(rec), (number, kind)
        checked += 1
    assert checked > 4000
    assert {"aep", "rollout", "compliance"} <= set(kinds.values())


def test_semantic_fast_path_equals_python_reference(tmp_path: Path) -> None:
    rng = random.Random(7)
    recs = [break_semantics(r, rng) if i % 3 == 0 else r for i, r in enumerate(generated("aep", 3000, seed=5))]
    path = tmp_path / "aep.jsonl"
    _write_lines(path, recs)
    _, verdicts = _verdicts([str(path)])
    expected = ["invalid" if semantic_rules_py("aep", r) else "valid" for r in recs]
    assert verdicts.sort("line").get_column("semantic").to_list() == expected
    assert expected.count("invalid") > 500


def test_nan_and_negative_timestamps_are_semantic_errors(tmp_path: Path) -> None:
    base = {"schema_version": "aep/v0.1", "run_id": "r", "created_at_ms": 1}
    recs = [dict(base, created_at_ms=math.nan), dict(base, created_at_ms=-5), dict(base, created_at_ms=math.inf), base]
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    _, verdicts = _verdicts([str(path)])
    assert verdicts.sort("line").get_column("structural").to_list() == ["valid"] * 4
    assert verdicts.sort("line").get_column("semantic").to_list() == ["invalid", "invalid", "invalid", "valid"]


def _conformance() -> tuple[Path, list[dict[str, Any]]]:
    wp = pytest.importorskip("wasmagent_protocol")
    root = Path(wp.get_aep_conformance_dir())
    return root, list(wp.get_aep_conformance_manifest()["conformance_target"])


def test_conformance_corpus_structural_and_semantic() -> None:
    root, targets = _conformance()
    assert len(targets) >= 20
    for entry in targets:
        path = root / entry["path"]
        _, verdicts = _verdicts([str(path)], kind="aep")
        assert verdicts.height >= 1, entry["path"]
        assert set(verdicts.get_column("structural")) == {entry["structural"]}, entry["path"]
        assert set(verdicts.get_column("semantic")) == {entry["semantic"]}, entry["path"]


def test_duplicate_action_ids_are_semantic_errors(tmp_path: Path) -> None:
    act = {"action_id": "a", "tool_name": "t", "state_changing": False, "timestamp_ms": 1}
    rec = {"schema_version": "aep/v0.2", "run_id": "r", "created_at_ms": 1, "actions": [act, act]}
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps(rec) + "\n")
    report = validate_paths([str(path)], ValidateOptions())
    assert report.summary()["top_errors"][0]["rule"] == "duplicate_action_id"


def test_errors_file_jsonl_and_parquet(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text('{"schema_version": "aep/v0.1", "run_id": 5, "created_at_ms": 1}\nnot json\n')
    for name in ("errors.jsonl", "errors.parquet"):
        out = tmp_path / name
        report = validate_paths([str(path)], ValidateOptions(errors_path=out))
        assert report.summary()["errors_file"] == str(out)
        table = pl.read_parquet(out) if name.endswith("parquet") else pl.read_ndjson(out)
        assert set(table.get_column("rule")) == {"type", "not_json"}
        assert table.filter(pl.col("rule") == "type").get_column("path").to_list() == ["$.run_id"]
        assert not list(tmp_path.glob(".*tmp*"))


def test_summary_accounts_for_every_line(tmp_path: Path) -> None:
    good = {"schema_version": "aep/v0.1", "run_id": "r", "created_at_ms": 1}
    lines = [json.dumps(good), "", "# comment", "[1, 2]", json.dumps(dict(good, run_id=1)), '"str"', "NaN", "{bad"]
    path = tmp_path / "mix.jsonl"
    path.write_text("\n".join(lines) + "\n")
    s = validate_paths([str(path)], ValidateOptions()).summary()
    assert s["records"] == 6 and s["valid"] == 1 and s["invalid"] == 1 and s["quarantined"] == 4
    assert s["records"] == s["valid"] + s["invalid"] + s["quarantined"]
    assert s["skipped_lines"] == 2
    assert s["by_kind"] == {"aep": {"records": 2, "valid": 1, "invalid": 1}}


def test_conformance_corpus_authenticity_and_chain_through_validate(tmp_path: Path) -> None:
    """`engine validate --keys` fills the authenticity and chain layers with the manifest's verdicts."""
    import wasmagent_protocol

    root, targets = _conformance()
    manifest = wasmagent_protocol.get_aep_conformance_manifest()
    keys = tmp_path / "keys"
    keys.mkdir()
    for key_id, rel in manifest["verifying_keys"]["by_keyid"].items():
        (keys / f"{key_id}.pub").write_text((root / rel).read_text())
    checked = 0
    for entry in targets:
        report = validate_paths([str(root / entry["path"])], ValidateOptions(kind="aep", verify=True, keys_dir=keys))
        n = report.records
        for layer in ("authenticity", "chain"):
            expected = entry.get(layer, "not-checked")
            if expected != "not-checked":
                assert report.summary()["verdicts"][layer] == {expected: n}, (entry["path"], layer)
                checked += 1
    assert checked >= 20


def test_lone_surrogate_escapes_are_validated_not_fatal(tmp_path: Path) -> None:
    # Python's json accepts "\ud800"; UTF-8 cannot hold it. Valid records stay valid, invalid ones
    # get their diagnosis, and ids/messages carry '?' instead of the surrogate.
    lines = ['{"schema_version": "aep/v0.1", "run_id": "ok\\ud800", "created_at_ms": 1}',
             '{"schema_version": "aep/v0.1", "run_id": "bad\\udfff", "created_at_ms": "x\\ud800"}',
             '{"schema_version": "aep/v0.1", "run_id": "k", "created_at_ms": 1, "actions": [{"\\ud800": 1}]}']
    path = tmp_path / "s.jsonl"
    path.write_text("\n".join(lines) + "\n")
    out = tmp_path / "errors.parquet"
    report, verdicts = _verdicts([str(path)])
    truth = [not any(reference_validator("aep").iter_errors(json.loads(x))) for x in lines]
    assert verdicts.sort("line").get_column("structural").to_list() == ["valid" if t else "invalid" for t in truth]
    assert verdicts.sort("line").get_column("run_id").to_list()[:2] == ["ok?", "bad?"]
    validate_paths([str(path)], ValidateOptions(errors_path=out))
    errors = pl.read_parquet(out)
    assert errors.height >= sum(not t for t in truth) and (errors.get_column("run_id") == "bad?").any()
