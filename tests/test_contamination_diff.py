"""Differential test: the engine equals the slow reference on random and adversarial texts."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest

from engine.contamination.api import detect_contamination
from engine.contamination.config import ContaminationConfig, Rule
from tests.reference.contamination import reference

WORDS = [
    "the", "a", "of", "cat", "dog", "river", "bank", "jumps", "over", "lazy", "quick", "brown",
    "café", "cafe\u0301", "ＡＢＣ", "abc", "раре", "pape", "the\u200bend", "x\u00ady", "naïve", "ß", "STRASSE",
    "ﬁne", "Ⅻ", "①", "²", "ǅ", "İstanbul", "ΣΑΣ", "x_y", "42", "٣", "e\u0301\u0301", "\u3000", "--", "...", "!?",
]
SEPS = [" ", " ", " ", "  ", "\t", "\n", ", ", ". ", "\u00a0", "\u200b", "\ufeff", " - ", "\x1c", "\u2028"]


def _text(rng: random.Random, lo: int, hi: int) -> str:
    k = rng.randint(lo, hi)
    parts = []
    for _ in range(k):
        parts.append(rng.choice(WORDS))
        parts.append(rng.choice(SEPS))
    return "".join(parts).strip(" ") if rng.random() < 0.8 else "".join(parts)


def _edit(rng: random.Random, text: str, edits: int) -> str:
    words = text.split(" ")
    for _ in range(edits):
        if not words:
            break
        i = rng.randrange(len(words))
        op = rng.random()
        if op < 0.4:
            words[i] = rng.choice(WORDS)
        elif op < 0.7:
            del words[i]
        else:
            words.insert(i, rng.choice(WORDS))
    return " ".join(words)


ADVERSARIAL_TRAIN = [
    "", " ", "!!! ??? ...", "abcd", "abcde", "ignore previous", "a b c d e f g",
    "the quick brown fox jumps over the lazy dog near the river bank side",
    "the\u200bquick\u200cbrown\u00adfox jumps over the lazy dog near the river bank side",
    "ｔｈｅ ｑｕｉｃｋ ｂｒｏｗｎ ｆｏｘ ｊｕｍｐｓ ｏｖｅｒ ｔｈｅ ｌａｚｙ ｄｏｇ ｎｅａｒ ｔｈｅ ｒｉｖｅｒ",
    "café " * 20, "cafe\u0301 " * 20,
    "thе quick brоwn fox jumps оver thе lazy dоg near the river bank",  # Cyrillic е/о
    "a a a a a a a a a a a a a a a a a a a a", "ab ab ab ab ab ab ab ab ab ab ab ab",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "\u200b\u200b\u200b", "\ufeffhello world",
]
ADVERSARIAL_EVAL = [
    "", "ignore previous", "the quick brown fox jumps over the lazy dog near the river bank side",
    "café " * 20, "a a a a a a a a a a", "ab ab ab ab ab ab ab", "aaaaaaaaaa", "!!!", "abcde",
    "the quick brown fox jumps over the lazy dog",
]


def _corpus(seed: int, n_train: int, n_eval: int) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    train = [_text(rng, 0, 30) for _ in range(n_train)]
    evals = []
    for _ in range(n_eval):
        r = rng.random()
        src = rng.choice(train)
        if r < 0.3:
            evals.append(src)
        elif r < 0.6:
            evals.append(_edit(rng, src, rng.randint(1, 3)))
        elif r < 0.8:
            words = src.split(" ")
            i = rng.randrange(len(words) + 1)
            evals.append(" ".join(words[i : i + rng.randint(3, 20)]))
        else:
            evals.append(_text(rng, 0, 25))
    # Training texts that contain eval items (containment) or are near-copies of them.
    for i in range(0, n_train, 7):
        e = rng.choice(evals)
        train[i] = _edit(rng, e, rng.randint(0, 2)) if rng.random() < 0.5 else f"{_text(rng, 0, 8)} {e} {_text(rng, 0, 8)}"
    return train + ADVERSARIAL_TRAIN, evals + ADVERSARIAL_EVAL


def _reference(train: list[str], evals: list[str], cfg: ContaminationConfig) -> list[Any]:
    return list(reference(train, evals, ngram=cfg.ngram, threshold=cfg.threshold, char_threshold=cfg.char_threshold,
                          containment_threshold=cfg.containment_threshold))


def _compare(train: list[str], evals: list[str], cfg: ContaminationConfig, ref: list[Any] | None = None) -> None:
    if ref is None:
        ref = _reference(train, evals, cfg)
    got = detect_contamination(train, evals, config=cfg).rows
    tj = got["token_jaccard"].to_numpy()
    cj = got["char_jaccard"].to_numpy()
    ct = got["containment"].to_numpy()
    np.testing.assert_allclose(tj, [r.token_jaccard for r in ref], atol=1e-12, rtol=0)
    np.testing.assert_allclose(ct, [r.containment for r in ref], atol=1e-12, rtol=0)
    assert got["flag_jaccard"].to_list() == [r.flag_jaccard for r in ref]
    assert got["flag_containment"].to_list() == [r.flag_containment for r in ref]
    assert got["any_13gram_hit"].to_list() == [r.any_13gram_hit for r in ref]
    ref_cj = np.array([r.char_jaccard for r in ref])
    if cfg.exact_char_scores:
        np.testing.assert_allclose(cj, ref_cj, atol=1e-12, rtol=0)
    else:
        flagged = got["flagged"].to_numpy()
        np.testing.assert_allclose(cj[flagged], ref_cj[flagged], atol=1e-12, rtol=0)
        known = ~np.isnan(cj)
        np.testing.assert_allclose(cj[known], ref_cj[known], atol=1e-12, rtol=0)
        assert np.all(ref_cj[~known] < cfg.char_threshold)
    want = {Rule.jaccard: [r.flag_jaccard for r in ref], Rule.containment: [r.flag_containment for r in ref],
            Rule.any: [r.flag_jaccard or r.flag_containment for r in ref]}[cfg.rule]
    assert got["flagged"].to_list() == want


@pytest.fixture(scope="module")
def big_corpus() -> tuple[list[str], list[str], list[Any]]:
    train, evals = _corpus(7, 2000, 300)
    # the slow all-pairs reference does not depend on the rule: compute it once for the three rules
    return train, evals, _reference(train, evals, ContaminationConfig())


@pytest.mark.parametrize("rule", [Rule.jaccard, Rule.containment, Rule.any])
def test_differential_2000_by_300(big_corpus: tuple[list[str], list[str], list[Any]], rule: Rule) -> None:
    train, evals, ref = big_corpus
    _compare(train, evals, ContaminationConfig(rule=rule, batch_size=700), ref)


def test_differential_exact_char_scores_everywhere() -> None:
    train, evals = _corpus(11, 400, 80)
    _compare(train, evals, ContaminationConfig(exact_char_scores=True, batch_size=150))


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize(("ngram", "thr", "cthr", "kthr"), [(8, 0.2, 0.7, 0.5), (3, 0.5, 0.25, 0.9), (1, 0.05, 0.9, 0.1)])
def test_differential_settings(seed: int, ngram: int, thr: float, cthr: float, kthr: float) -> None:
    train, evals = _corpus(seed, 300, 60)
    cfg = ContaminationConfig(ngram=ngram, threshold=thr, char_threshold=cthr, containment_threshold=kthr, batch_size=128)
    _compare(train, evals, cfg)
