"""Readers: containers, line handling and bad input; nothing valid is ever lost."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from engine.errors import InputError
from engine.io import expand_paths, load_records
from engine.validate import ValidateOptions, validate_paths

GOOD = {"schema_version": "aep/v0.1", "run_id": "r", "created_at_ms": 1}


def line(**over: object) -> str:
    return json.dumps(dict(GOOD, **over))


def summary(*paths: Path) -> dict[str, object]:
    return validate_paths([str(p) for p in paths], ValidateOptions()).summary()


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True, text=True, timeout=300)


def test_empty_file_has_no_records_and_exits_zero(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    assert summary(path)["records"] == 0
    out = run_cli("validate", str(path), "--format", "json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["records"] == 0


def test_only_blank_and_comment_lines(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text("\n   \n# a comment\n\t\n#{\"not\": \"a record\"}\n")
    s = summary(path)
    assert s["records"] == 0 and s["skipped_lines"] == 5


def test_bom_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + (line(run_id="a") + "\r\n" + line(run_id="b") + "\r\n").encode())
    s = summary(path)
    assert (s["records"], s["valid"]) == (2, 2)


def test_truncated_last_line_is_quarantined_with_its_number(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(line() + "\n" + line() + "\n" + line()[:20])
    loaded = load_records([str(path)])
    assert loaded.records.height == 2
    assert loaded.quarantine.get_column("line").to_list() == [3]
    assert loaded.quarantine.get_column("reason")[0].startswith("not JSON")


def test_invalid_utf8_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "u.jsonl"
    path.write_bytes((line() + "\n").encode() + b'{"run_id": "\xff\xfe"}\n' + (line() + "\n").encode())
    loaded = load_records([str(path)])
    assert loaded.records.get_column("line").to_list() == [1, 3]
    assert loaded.quarantine.get_column("line").to_list() == [2]
    assert "UTF-8" in loaded.quarantine.get_column("reason")[0]


@pytest.mark.parametrize("bad, reason", [("[1, 2]", "array"), ('"just a string"', "string"), ("NaN", "number"),
                                         ("null", "null"), ("42", "number")])
def test_lines_that_are_not_objects(tmp_path: Path, bad: str, reason: str) -> None:
    path = tmp_path / "n.jsonl"
    path.write_text(f"{line()}\n{bad}\n{line()}\n")
    loaded = load_records([str(path)])
    assert loaded.records.get_column("line").to_list() == [1, 3]
    row = loaded.quarantine.row(0, named=True)
    assert row["line"] == 2 and reason in row["reason"]


def test_two_objects_on_one_line_are_not_one_record(tmp_path: Path) -> None:
    path = tmp_path / "two.jsonl"
    path.write_text(f"{line()} {line()}\n{line()}\n")
    loaded = load_records([str(path)])
    assert loaded.records.get_column("line").to_list() == [2]
    assert loaded.quarantine.get_column("line").to_list() == [1]


def test_a_value_spanning_two_lines_is_not_a_record(tmp_path: Path) -> None:
    """Neither line is a JSON object on its own, though together they parse as two objects."""
    path = tmp_path / "span.jsonl"
    path.write_text(line()[:-1] + ', "x":\n{"y": 1}} ' + line() + "\n" + line() + "\n")
    s = summary(path)
    assert (s["records"], s["valid"], s["quarantined"]) == (3, 1, 2)
    assert load_records([str(path)]).quarantine.get_column("line").to_list() == [1, 2]


def test_a_line_longer_than_a_block(tmp_path: Path) -> None:
    from engine.io import iter_record_batches

    path = tmp_path / "long.jsonl"
    path.write_text(line() + "\n" + line(repo_commit="x" * 300_000) + "\n" + line() + "\n")
    batches = list(iter_record_batches([str(path)], block_bytes=65_536))
    raws = [r for b in batches for p in b.parts for r in p.typed.get_column("raw").to_list()]
    assert [len(r) for r in raws] == [len(line()), len(line(repo_commit="x" * 300_000)), len(line())]


def test_twenty_megabyte_string_field(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    path.write_text(line() + "\n" + line(repo_commit="x" * (20 * 1024 * 1024)) + "\n" + line() + "\n")
    s = summary(path)
    assert (s["records"], s["valid"]) == (3, 3)


def test_ten_thousand_deep_nesting(tmp_path: Path) -> None:
    deep = '{"a":' * 10_000 + "1" + "}" * 10_000
    path = tmp_path / "deep.jsonl"
    path.write_text(line() + "\n" + '{"schema_version": "aep/v0.1", "run_id": "r", "created_at_ms": 1, "x": ' + deep + "}\n"
                    + deep + "\n" + line() + "\n")
    s = summary(path)
    assert s["records"] == 4
    assert s["valid"] + s["invalid"] + s["quarantined"] == 4
    assert s["valid"] >= 2  # the records around it are untouched


def test_corrupt_gzip_exits_two_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl.gz"
    good = gzip.compress(((line() + "\n") * 1000).encode())
    path.write_bytes(good[: len(good) // 2] + b"garbage" * 10)
    with pytest.raises(InputError):
        summary(path)
    out = run_cli("validate", str(path))
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and str(path) in out.stderr


def test_missing_path_exits_two_with_one_line(tmp_path: Path) -> None:
    out = run_cli("validate", str(tmp_path / "nope.jsonl"))
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert out.stderr.strip().count("\n") == 0 and "nope.jsonl" in out.stderr


def test_one_bad_line_among_a_hundred_thousand(tmp_path: Path) -> None:
    path = tmp_path / "many.jsonl"
    rows = [line(run_id=f"run-{i}") for i in range(100_000)]
    rows[54_321] = '{"schema_version": "aep/v0.1", "run_id": "oops", "created_at_ms": 1,'
    path.write_text("\n".join(rows) + "\n")
    errors = tmp_path / "errors.jsonl"
    report = validate_paths([str(path)], ValidateOptions(errors_path=errors))
    s = report.summary()
    assert (s["records"], s["valid"], s["invalid"], s["quarantined"]) == (100_000, 99_999, 0, 1)
    bad = [json.loads(x) for x in errors.read_text().splitlines()]
    assert [(b["line"], b["layer"]) for b in bad] == [(54_322, "parse")]


def test_fail_under_controls_exit_code(tmp_path: Path) -> None:
    path = tmp_path / "half.jsonl"
    path.write_text(line() + "\n" + line(run_id=3) + "\n")
    assert run_cli("validate", str(path)).returncode == 1
    assert run_cli("validate", str(path), "--fail-under", "0.5").returncode == 0
    assert run_cli("validate", str(path), "--fail-under", "2").returncode == 2


def test_containers_json_gz_zst_parquet_dirs_and_globs(tmp_path: Path) -> None:
    import zstandard

    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.jsonl").write_text(line(run_id="a") + "\n")
    (tmp_path / "d" / "b.jsonl.gz").write_bytes(gzip.compress((line(run_id="b") + "\n").encode()))
    (tmp_path / "d" / "c.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress((line(run_id="c") + "\n").encode()))
    (tmp_path / "d" / "README.md").write_text("not input")
    (tmp_path / "d" / "e.json").write_text(json.dumps({"results": [dict(GOOD, run_id="e1"), dict(GOOD, run_id="e2"), 7]}))
    (tmp_path / "d" / "f.json").write_text(json.dumps([dict(GOOD, run_id="f")]))
    (tmp_path / "d" / "g.json").write_text(json.dumps(dict(GOOD, run_id="g"), indent=2))
    pl.DataFrame({"schema_version": ["aep/v0.1"], "run_id": ["p"], "created_at_ms": [1.0]}).write_parquet(tmp_path / "d" / "p.parquet")
    loaded = load_records([str(tmp_path / "d")])
    assert sorted(loaded.records.get_column("raw").map_elements(lambda r: json.loads(r)["run_id"], return_dtype=pl.String)) == [
        "a", "b", "c", "e1", "e2", "f", "g", "p"]
    assert loaded.quarantine.select("line", "reason").row(0) == (3, "item is a JSON number, not an object")
    assert sorted(Path(s.path).name for s in expand_paths([str(tmp_path / "d" / "*.json*")])) == [
        "a.jsonl", "b.jsonl.gz", "c.jsonl.zst", "e.json", "f.json", "g.json"]
    with pytest.raises(InputError):
        expand_paths([str(tmp_path / "d" / "*.nothing")])


def test_json_lines_named_json_are_read_as_lines(tmp_path: Path) -> None:
    path = tmp_path / "lines.json"
    path.write_text(line(run_id="a") + "\n" + line(run_id="b") + "\n")
    assert load_records([str(path)]).records.height == 2


def test_late_keys_are_not_dropped(tmp_path: Path) -> None:
    """Declared schemas, not inference: a field first seen on the last line is still read."""
    path = tmp_path / "late.jsonl"
    rows = [line(run_id=f"r{i}") for i in range(5000)] + [line(run_id="last", model_id="m-late")]
    path.write_text("\n".join(rows) + "\n")
    from engine.io import iter_record_batches

    models = pl.concat([p.typed for b in iter_record_batches([str(path)]) for p in b.parts]).get_column("model_id")
    assert models.drop_nulls().to_list() == ["m-late"]
