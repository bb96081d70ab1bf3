"""The char n-gram path: the anchor filter is sound, and adversarial inputs for its fast paths
(size-window edges, repeated n-grams, loose eval items, wide rows, ASCII / non-ASCII and
clean / messy whitespace rows in one batch) agree with the slow reference."""

from __future__ import annotations

import random

import numpy as np
import polars as pl
import pytest

from engine.contamination.charexact import exact_char_best
from engine.contamination.charfilter import char_candidates
from engine.contamination.config import ContaminationConfig, Rule
from engine.contamination.index import build_eval_index, featurize
from tests.reference.contamination import char_ngrams, jaccard
from tests.test_contamination_diff import _compare, _corpus

LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _ref_char(train: list[str], evals: list[str]) -> np.ndarray:
    out = []
    for t in train:
        a = [char_ngrams(t, n) for n in range(5, 11)]
        out.append(max((max(jaccard(x, char_ngrams(e, n)) for n, x in zip(range(5, 11), a, strict=True))
                        for e in evals), default=0.0))
    return np.array(out)


def _distinct(rng: random.Random, k: int) -> str:
    """A string whose 5-grams are (almost surely) all distinct."""
    return "".join(rng.choice(LETTERS) for _ in range(k))


def test_filter_keeps_every_row_at_or_above_threshold() -> None:
    train, evals = _corpus(5, 600, 120)
    rng = random.Random(9)
    base = [_distinct(rng, 40) for _ in range(10)]
    evals += base
    # near-copies of eval items, some just above and some just below 0.7
    for b in base:
        for cut in range(0, 8):
            train.append(b[cut:] + _distinct(rng, cut // 2))
    index = build_eval_index(pl.Series(evals), 8, 0.7)
    f = featurize(pl.Series(train))
    cand = char_candidates(f, index.char)
    ref = _ref_char([train[i] for i in f.stream.order], evals)
    assert (ref >= 0.7).sum() > 10
    assert np.all(cand[ref >= 0.7])
    best, _ = exact_char_best(f, index.char, np.arange(f.n_rows))
    np.testing.assert_allclose(best, ref, atol=1e-12, rtol=0)


@pytest.mark.parametrize("extra", [0, 1, 2, 3, 4, 5])
def test_size_window_edges(extra: int) -> None:
    # |B_5| = 7 (11 distinct-gram chars); A = B + extra chars: J_5 = 7 / (7 + extra), so 3 extra is
    # exactly 0.7 (flagged) and 4 extra is below (not flagged); the other n behave alike
    rng = random.Random(extra)
    b = "qwertyuiopa"
    a = b + "zxcvbnm"[:extra]
    train = [a, b[1:] + "z" * extra, a.upper(), f"  {a}\t"]
    evals = [b, _distinct(rng, 30)]
    _compare(train, evals, ContaminationConfig(rule=Rule.jaccard))
    _compare(train, evals, ContaminationConfig(rule=Rule.jaccard, char_threshold=7 / 10))


def test_repeated_ngrams_loose_and_wide() -> None:
    train = ["abc" * 40, "abcabcabd" * 12, "a" * 300, "ab " * 100, "xyzxy" * 3, "abcab", "aaaaa",
             "the cat " * 30 + "sat", ("lorem ipsum " * 50).strip(), "abcabcabcabc", "ab"]
    evals = ["abcab", "abc" * 5, "aaaaaa", "ab ab ab", "cat sat", "lorem ipsum lorem ipsum",
             "xyzxyzxyz", "zzzzz", "the cat the cat"]
    for rule in (Rule.jaccard, Rule.any):
        _compare(train, evals, ContaminationConfig(rule=rule, batch_size=4))
        _compare(train, evals, ContaminationConfig(rule=rule, exact_char_scores=True))


def test_ascii_and_unicode_rows_share_ngrams() -> None:
    # the same text prepared on the ASCII fast path, the messy-whitespace numpy path and the
    # Unicode path (NFKC, invisible characters) must give the same n-grams
    core = "the quick brown fox jumps over the lazy dog near the river bank side today"
    train = [core, f" {core} ", core.replace(" ", "\t"), core.replace("o", "ｏ"), core.replace(" ", "\u200b"),
             core.replace("e", "é"), core + " café", "   ", "\t\n", "", "ÀÉÎ", core.upper()]
    evals = [core, core.replace("e", "é"), "café " + core[:40]]
    for rule in (Rule.jaccard, Rule.containment, Rule.any):
        _compare(train, evals, ContaminationConfig(rule=rule, batch_size=5))
    _compare(train, evals, ContaminationConfig(exact_char_scores=True))
    _compare(["   ", "\t"], evals, ContaminationConfig())  # a batch of whitespace only


def test_many_bands_and_runs_in_one_batch() -> None:
    rng = random.Random(3)
    evals = [_distinct(rng, rng.randint(5, 400)) for _ in range(60)]
    train = []
    for _ in range(400):
        e = rng.choice(evals)
        k = rng.randint(0, max(1, len(e) // 3))
        train.append(rng.choice([e[k:], e + _distinct(rng, k), _distinct(rng, rng.randint(0, 500))]))
    _compare(train, evals, ContaminationConfig(rule=Rule.jaccard, batch_size=150))
    _compare(train, evals, ContaminationConfig(rule=Rule.jaccard, char_threshold=0.5, batch_size=1000))
