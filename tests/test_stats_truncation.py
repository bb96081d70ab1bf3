"""A_truncated channel: §6.2 cases, cap resolution, missing `correct`, tokenizer loading."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from engine.errors import UsageError
from engine.stats.evallog import read_eval_log
from engine.stats.truncation import classify, hit_cap, load_tokenizer, resolve_max_new_tokens
from tests.reference.stats import truncated_looped

FIX = Path(__file__).parents[1] / "fixtures" / "stats"
REF_DATA = Path(__file__).parents[1].parent / "shared/reference/data"
needs_ref = pytest.mark.skipif(not (REF_DATA / "data").is_dir(), reason="reference data not present")


class WordTokenizer:
    """1 token per word plus 1 per punctuation mark (the fake of reference §6.2)."""

    def encode(self, text: str) -> list[str]:
        return text.split() + [ch for ch in text if ch in ".,!?"]


def test_section_6_2_cases() -> None:
    tok = WordTokenizer()
    assert hit_cap(["lots of words " * 200 + "#### 42"], 200, tokenizer=tok)[0] == [False]
    assert hit_cap(["w " * 200], 200, tokenizer=tok)[0] == [True]
    assert hit_cap(["w " * 195], 200, margin=8, tokenizer=tok)[0] == [True]
    assert hit_cap(["w " * 195], 200, margin=10, tokenizer=tok)[0] == [True]
    assert hit_cap(["w " * 180], 200, tokenizer=tok)[0] == [False]
    assert hit_cap(["x" * 800], 400)[0] == [True]
    assert hit_cap(["x" * 100], 400)[0] == [False]
    assert hit_cap([""], 8)[0] == [True]  # cap <= margin: threshold 0, everything is cut off


def test_classify_fixture_like_reference(tmp_path: Path) -> None:
    p = tmp_path / "log.json"
    p.write_text(json.dumps({"results": [
        {"id": "a", "correct": True, "gen_text": "#### 1"},
        {"id": "b", "correct": False, "gen_text": "wrong\n#### 2"},
        {"id": "c", "correct": False, "gen_text": "word " * 100},
    ]}))
    r = classify(read_eval_log(p), 100, tokenizer=WordTokenizer())
    assert (r.n_total, r.n_wrong, r.n_truncated) == (3, 2, 1)
    assert r.truncated_ids() == ["c"] and r.not_truncated_wrong_ids() == ["b"]
    assert r.token_count_mode == "tokens"


def test_missing_correct_is_not_counted_as_correct_or_wrong(tmp_path: Path) -> None:
    p = tmp_path / "log.json"
    p.write_text(json.dumps({"results": [{"id": "x", "gen_text": "y" * 500},
                                         {"id": "z", "correct": False, "gen_text": "y" * 500}]}))
    r = classify(read_eval_log(p), 100)
    assert r.n_scored == 1 and r.n_wrong == 1 and r.truncated_ids() == ["z"]
    assert r.n_excluded == {"missing_correct": 1}
    assert r.as_dict()["items"][0] == {"id": "x", "correct": None, "tokens": 250, "answer_line": False,
                                       "truncated": False}


def test_cap_resolution() -> None:
    log = read_eval_log(FIX / "a.json")
    assert resolve_max_new_tokens(None, log) == (40, "meta.max_new_tokens")
    assert resolve_max_new_tokens(64, log) == (64, "option")
    with pytest.raises(UsageError, match="max-new-tokens"):
        resolve_max_new_tokens(None, read_eval_log(FIX / "b.jsonl"))
    with pytest.raises(UsageError):
        resolve_max_new_tokens(0, log)
    r = classify(log, 40)
    assert r.truncated_ids() == ["q4"] and r.as_dict()["threshold"] == 32


def test_differential_against_looped_reference(tmp_path: Path) -> None:
    import random

    rnd = random.Random(4)
    items: list[dict[str, Any]] = []
    for k in range(300):
        text = "x" * rnd.randrange(0, 400) + ("\n#### 12" if rnd.random() < 0.3 else "")
        items.append({"id": f"t{k}", "correct": rnd.choice([True, False, None]), "gen_text": text})
    p = tmp_path / "log.json"
    p.write_text(json.dumps({"results": items}))
    r = classify(read_eval_log(p), 150, margin=8)
    assert r.truncated_ids() == truncated_looped(items, 150, 8)


@needs_ref
def test_case_study_winner_log() -> None:
    r = classify(read_eval_log(REF_DATA / "data/winner_max_new768.json"), 768)
    assert (r.n_total, r.n_wrong, r.n_truncated) == (200, 64, 6)
    assert r.token_count_mode == "char/2"
    assert r.truncated_ids()[:5] == ["gsm8k-015", "gsm8k-029", "gsm8k-037", "gsm8k-094", "gsm8k-181"]
    r = classify(read_eval_log(REF_DATA / "data/instruct_max_new768.json"), 768)
    assert (r.n_total, r.n_wrong, r.n_truncated) == (200, 62, 6)


def test_tokenizer_not_installed_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tokenizers", None)
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(UsageError, match="not installed"):
        load_tokenizer("gpt2")


def test_tokenizer_from_local_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    class FakeEncoding:
        def __init__(self, n: int) -> None:
            self.ids = list(range(n))

    class FakeTokenizer:
        @staticmethod
        def from_file(path: str) -> FakeTokenizer:
            assert path.endswith("tokenizer.json")
            return FakeTokenizer()

        def encode(self, text: str, add_special_tokens: bool = True) -> FakeEncoding:
            return FakeEncoding(len(text.split()))

        def encode_batch(self, texts: list[str], add_special_tokens: bool = True) -> list[FakeEncoding]:
            return [self.encode(t) for t in texts]

    fake = types.ModuleType("tokenizers")
    fake.Tokenizer = FakeTokenizer  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tokenizers", fake)
    (tmp_path / "tokenizer.json").write_text("{}")
    tok = load_tokenizer(str(tmp_path))
    assert hit_cap(["a b c d", "a"], 4, margin=0, tokenizer=tok)[1] == [4, 1]
