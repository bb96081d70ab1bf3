"""Paired bootstrap: vectorized chunks equal the looped reference draw for draw; §6.2 cases."""

from __future__ import annotations

import numpy as np
import pytest

from engine.stats.bootstrap import paired_bootstrap
from tests.reference.stats import bootstrap_looped


@pytest.mark.parametrize(("n", "seed", "chunk"), [(7, 0, 3), (50, 1, 1_000_000), (199, 2, 500), (64, 3, 64)])
def test_vectorized_equals_looped_reference(n: int, seed: int, chunk: int) -> None:
    rng = np.random.default_rng(100 + seed)
    a = (rng.random(n) < 0.6).tolist()
    b = (rng.random(n) < 0.5).tolist()
    got = paired_bootstrap(a, b, n_iter=300, conf=0.9, seed=seed, chunk_cells=chunk)
    ref = bootstrap_looped(a, b, 300, 0.9, seed)
    assert got.delta == pytest.approx(ref["delta"])
    assert got.ci_lo == pytest.approx(ref["ci_lo"])
    assert got.ci_hi == pytest.approx(ref["ci_hi"])
    assert got.p_two_sided == pytest.approx(ref["p_two_sided"])


def test_chunk_size_does_not_change_results() -> None:
    rng = np.random.default_rng(5)
    a, b = rng.random(301) < 0.7, rng.random(301) < 0.6
    one = paired_bootstrap(a, b, 2000, seed=9)
    many = paired_bootstrap(a, b, 2000, seed=9, chunk_cells=1000)
    assert one == many


def test_reference_cases_of_section_6_2() -> None:
    same = [True, False, True, True] * 10
    r = paired_bootstrap(same, same, 500)
    assert r.delta == 0 and r.ci_lo <= 0 <= r.ci_hi and r.p_two_sided == 1.0
    r = paired_bootstrap([True] * 50, [True] * 30 + [False] * 20, 1000, seed=0)
    assert r.delta == pytest.approx(0.4)
    assert 0.2 < r.ci_lo < 0.4 < r.ci_hi < 0.6  # original (Python MT stream): [0.26, 0.54]
    assert r.p_two_sided == pytest.approx(2 / 1001)
    with pytest.raises(ValueError, match="same length"):
        paired_bootstrap([True], [True, False])


def test_empty_and_argument_checks() -> None:
    r = paired_bootstrap([], [], 100)
    assert (r.delta, r.ci_lo, r.ci_hi, r.p_two_sided) == (0.0, 0.0, 0.0, 1.0)
    with pytest.raises(ValueError):
        paired_bootstrap([True], [False], 0)
    with pytest.raises(ValueError):
        paired_bootstrap([True], [False], 10, conf=1.0)


def test_seeded_determinism() -> None:
    a, b = [True, False] * 40, [False, False, True, True] * 20
    assert paired_bootstrap(a, b, 1000, seed=3) == paired_bootstrap(a, b, 1000, seed=3)
