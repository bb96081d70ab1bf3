"""Unit tests of contamination: known values, preparation/tokenisation equivalence, hashing, CLI."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from engine.contamination.api import detect_contamination
from engine.contamination.config import ContaminationConfig, Rule
from engine.contamination.hashing import max_valuation
from engine.contamination.index import featurize
from engine.contamination.normalize import prepare_one, prepare_stream, stream_strings
from engine.errors import UsageError
from tests.reference.contamination import normalize as ref_normalize
from tests.reference.contamination import tokens as ref_tokens

SENT = "The quick brown fox jumps over the lazy dog near the river"  # 12 tokens
ROOT = Path(__file__).resolve().parent.parent


def _row(train: list[str], evals: list[str], **kw: object) -> dict:
    return detect_contamination(train, evals, config=ContaminationConfig(**kw)).rows.row(0, named=True)


def test_identical_12_token_sentence() -> None:
    row = _row([SENT], [SENT])
    assert row["token_jaccard"] == 1.0 and row["char_jaccard"] == 1.0 and row["flagged"]


def test_ignore_previous_flagged_by_char_fallback() -> None:
    row = _row(["ignore previous"], ["ignore previous"], rule=Rule.jaccard)
    assert row["token_jaccard"] == 0.0 and row["char_jaccard"] == 1.0 and row["flagged"]
    assert row["containment"] == 0.0  # fewer than 8 tokens: no n-grams, containment 0


def test_first_14_of_21_tokens_is_half() -> None:
    words = [f"word{i}" for i in range(21)]
    row = _row([" ".join(words)], [" ".join(words[:14])])
    assert row["token_jaccard"] == 0.5 and row["containment"] == 1.0 and row["shared_ngrams"] == 7


@pytest.mark.parametrize("variant", [
    "the\u200bquick\u200cbrown\u00adfox jumps over the lazy dog near the river bank side",
    "ｔｈｅ ｑｕｉｃｋ ｂｒｏｗｎ ｆｏｘ ｊｕｍｐｓ ｏｖｅｒ ｔｈｅ ｌａｚｙ ｄｏｇ ｎｅａｒ ｔｈｅ ｒｉｖｅｒ ｂａｎｋ ｓｉｄｅ",
])
def test_zero_width_and_full_width_both_directions(variant: str) -> None:
    base = "the quick brown fox jumps over the lazy dog near the river bank side"
    assert _row([variant], [base], rule=Rule.jaccard)["flagged"]
    assert _row([base], [variant], rule=Rule.jaccard)["flagged"]
    assert not _row(["stars form in giant molecular clouds of cold hydrogen gas"], [base])["flagged"]


def test_nfc_vs_nfd_and_cyrillic() -> None:
    assert _row(["café " * 20], ["cafe\u0301 " * 20], rule=Rule.jaccard)["flagged"]
    lat = "the quick brown fox jumps over the lazy dog near the river bank"
    cyr = lat.replace("e", "е").replace("a", "а")
    assert not _row([cyr], [lat], rule=Rule.jaccard)["flagged"]
    assert _row([cyr], [lat], rule=Rule.jaccard, char_threshold=0.25)["flagged"]


def test_threshold_above_one_and_empty_training() -> None:
    assert not _row(["ignore previous"], ["ignore previous"], threshold=1.01, char_threshold=1.01,
                    containment_threshold=1.01)["flagged"]
    res = detect_contamination([], ["x"])
    assert res.summary["flag_rate"] == 0.0 and res.summary["n_training"] == 0


def test_config_rejects_bad_values() -> None:
    with pytest.raises(UsageError):
        ContaminationConfig(threshold=0.0)
    with pytest.raises(UsageError):
        ContaminationConfig(ngram=0)


def _random_texts(seed: int, n: int) -> list[str]:
    rng = random.Random(seed)
    alphabet = (" \t\n\x0b\x0c\r\x1c\x1f\x85\xa0\u2028\u3000AbZz09_.,-'"
                "éÉßİΣσςﬁ①²٣\u0301\u200b\u00ad\ufeff\u2060ｗＯ𝔸ǅ\U0001f600")
    return [''.join(rng.choice(alphabet) for _ in range(rng.randint(0, 25))) for _ in range(n)]


def test_prepare_matches_definition() -> None:
    texts = _random_texts(3, 3000) + ["", "   ", "A  B\t\tC  "]
    stream = prepare_stream(pl.Series(texts))
    got = stream_strings(stream)
    want = [ref_normalize(texts[i]).lower() for i in stream.order]
    assert got == want
    assert all(prepare_one(t) == ref_normalize(t).lower() for t in texts[:200])


def test_tokens_match_python_re() -> None:
    texts = _random_texts(4, 2000)
    f = featurize(pl.Series(texts))
    counts = f.tokens.counts
    want = [len(ref_tokens(texts[i])) for i in f.stream.order]
    assert counts.tolist() == want
    # identical token strings get identical values, different ones different values
    strings = [t for i in f.stream.order for t in re.findall(r"\w+", ref_normalize(texts[i]).lower())]
    values = f.tokens.values.tolist()
    by_string: dict[str, int] = {}
    for s, v in zip(strings, values, strict=True):
        assert by_string.setdefault(s, v) == v
    assert len(set(by_string.values())) == len(by_string)


def test_hash_collision_bound_constant() -> None:
    # documented in hashing.py: worst-case 2-adic valuation of the n-gram difference forms
    assert max_valuation(8) <= 12
    assert max_valuation(10) <= 14


def test_cli_json_and_out(tmp_path: Path) -> None:
    train = tmp_path / "train.jsonl"
    test = tmp_path / "test.jsonl"
    train.write_text("\n".join(json.dumps(r) for r in [
        {"id": "t1", "text": SENT}, {"id": "t2", "final_answer": "nothing in common at all here"},
        {"id": "t3", "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": SENT}]},
        {"id": "t4"},
    ]) + "\nnot json\n", encoding="utf-8")
    test.write_text(json.dumps({"id": "e1", "text": SENT}) + "\n", encoding="utf-8")
    out = tmp_path / "flagged.parquet"
    proc = subprocess.run([sys.executable, "-m", "engine", "contamination", "--train", str(train), "--test", str(test),
                           "--format", "json", "--out", str(out)], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert {"n_training", "n_eval", "n_flagged", "flag_rate", "threshold", "char_threshold"} <= summary.keys()
    assert summary["n_training"] == 4 and summary["n_flagged"] == 2 and summary["n_missing_text_training"] == 1
    assert summary["n_quarantined_training"] == 1
    flagged = pl.read_parquet(out)
    assert flagged["train_id"].to_list() == ["t1", "t3"]
    assert flagged["best_eval_id"].to_list() == ["e1", "e1"]
    assert np.all(flagged["any_13gram_hit"].to_numpy() == [False, False])


def test_cli_missing_file_exit_2(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "engine", "contamination", "--train", str(tmp_path / "nope.jsonl"),
                           "--test", str(tmp_path / "nope.jsonl")], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_result_columns_and_dtypes_are_stable() -> None:
    rows = detect_contamination([SENT, "short", SENT.upper()], [SENT], config=ContaminationConfig(batch_size=2)).rows
    assert rows.schema == {
        "train_index": pl.Int64, "train_id": pl.String, "best_eval_index": pl.Int64, "best_eval_id": pl.String,
        "token_jaccard": pl.Float64, "char_jaccard": pl.Float64, "shared_ngrams": pl.Int64,
        "containment": pl.Float64, "any_13gram_hit": pl.Boolean, "flag_jaccard": pl.Boolean,
        "flag_containment": pl.Boolean, "flagged": pl.Boolean,
    }
    assert rows["train_index"].to_list() == [0, 1, 2]
