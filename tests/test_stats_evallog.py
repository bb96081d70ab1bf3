"""Eval-log reader: shapes, containers, bad lines, ids, correctness values, lm-eval bridge."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from engine.errors import InputError
from engine.stats.evallog import FieldNames, read_eval_log, read_nonempty_log, read_numbers

FIX = Path(__file__).parents[1] / "fixtures" / "stats"


def test_results_object_with_meta() -> None:
    log = read_eval_log(FIX / "a.json")
    assert log.format == "json" and log.meta == {"max_new_tokens": 40}
    assert log.ids == ("q1", "q2", "q3", "q4", "q5", "q6")
    assert log.excluded() == {"missing_correct": ["q6"]}
    assert log.scored() == {"q1": True, "q2": False, "q3": True, "q4": False, "q5": True}
    assert log.lines == (1, 2, 3, 4, 5, 6)


def test_messy_jsonl_quarantines_and_counts() -> None:
    log = read_eval_log(FIX / "messy.jsonl")
    assert log.n_read == log.n_items + len(log.quarantine) == 10
    reasons = {q.line: q.reason for q in log.quarantine}
    assert reasons[4].startswith("not JSON") and "list" in reasons[5] and "id" in reasons[6]
    assert all(q.source.endswith("messy.jsonl") for q in log.quarantine)
    assert log.excluded() == {"duplicate_id": ["m2", "m2"], "non_boolean_correct": ["m3", "m4"],
                              "missing_correct": ["m6"]}
    assert log.scored() == {"m1": True, "m5": True}  # 1 is accepted as true; "yes" and 2 are not


def test_integer_ids_become_strings_and_say_so() -> None:
    log = read_eval_log(FIX / "int_ids.jsonl")
    assert log.ids == ("1", "2", "3") and log.ids_converted == 3
    assert log.id_types == ("float", "int")
    assert any("compared as strings" in n for n in log.notes)
    assert read_eval_log(FIX / "str_ids.json").ids == ("1", "2", "3")


def test_lm_eval_bridge() -> None:
    log = read_eval_log(FIX / "samples_gsm8k.jsonl")
    assert log.format == "lm-eval"
    assert log.ids == ("0", "1", "2", "9")  # doc_id 0 kept; doc.idx fallback
    assert log.correct == (True, False, True, False)  # acc; exact_match; substring; substring miss
    assert log.texts[0] == "so #### 18" and log.texts[1] == "answer is 4"
    assert log.notes == ()


def test_gzip_and_custom_fields(tmp_path: Path) -> None:
    p = tmp_path / "log.jsonl.gz"
    p.write_bytes(gzip.compress(b'{"qid": {"n": 7}, "ok": false, "out": "x"}\n'))
    log = read_eval_log(p, FieldNames(id="qid.n", correct="ok", text="out"))
    assert log.ids == ("7",) and log.correct == (False,) and log.texts == ("x",)


def test_json_file_holding_jsonl(tmp_path: Path) -> None:
    p = tmp_path / "log.json"
    p.write_text('{"id": "a", "correct": true}\n{"id": "b", "correct": false}\n')
    assert read_eval_log(p).ids == ("a", "b")


@pytest.mark.parametrize(("name", "data", "match"), [
    ("missing.json", None, "no such file"),
    ("bad.json.gz", b"not gzip at all", "corrupt"),
    ("bad.json", b'{"results": [', "not JSON"),
    ("latin.jsonl", b'{"id": "\xe9"}\n', "UTF-8"),
    ("scalar.json", b"42", "no eval items"),
    ("prose.txt", b"hello\nworld\n", "not JSON or JSONL"),
])
def test_unusable_files_raise_input_error(tmp_path: Path, name: str, data: bytes | None, match: str) -> None:
    p = tmp_path / name
    if data is not None:
        p.write_bytes(data)
    with pytest.raises(InputError, match=match) as err:
        read_nonempty_log(p)
    assert err.value.path == str(p)
    assert err.value.exit_code == 2


def test_empty_log_is_an_input_error() -> None:
    assert read_eval_log(FIX / "empty.json").n_items == 0
    with pytest.raises(InputError, match="no eval items"):
        read_nonempty_log(FIX / "empty.json")


def test_read_numbers(tmp_path: Path) -> None:
    assert read_numbers(FIX / "errors.json") == [0.1, 0.2, 0.3, 0.4, 0.5]
    p = tmp_path / "e.jsonl"
    p.write_text('{"error": 1}\n0.5\n# comment\n')
    assert read_numbers(p) == [1.0, 0.5]
    (tmp_path / "o.json").write_text('{"errors": [1, 2]}')
    assert read_numbers(tmp_path / "o.json") == [1.0, 2.0]
    p.write_text('{"error": "x"}\n')
    with pytest.raises(InputError, match="number"):
        read_numbers(p)


def test_lm_eval_with_explicit_fields_reads_the_raw_sample() -> None:
    log = read_eval_log(FIX / "samples_gsm8k.jsonl", FieldNames(correct="exact_match"))
    assert log.format == "lm-eval" and log.ids == ("0", "1", "2", "9")
    assert log.status == ("missing_correct", "ok", "missing_correct", "missing_correct")
    assert log.correct[1] is False
