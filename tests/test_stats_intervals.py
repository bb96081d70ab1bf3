"""Wilson and split-conformal intervals: acceptance values, scipy cross-check, references."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from engine.stats.intervals import split_conformal, wilson, z_two_sided
from tests.reference.stats import conformal_numpy, wilson_by_quadratic

WILSON = [((13, 22), (0.387348, 0.767442)), ((12, 22), (0.346598, 0.730797)), ((135, 199), (0.610645, 0.739382)),
          ((137, 199), (0.621039, 0.748708)), ((10, 10), (0.722467, 1.0))]


@pytest.mark.parametrize(("kn", "expected"), WILSON)
def test_wilson_acceptance(kn: tuple[int, int], expected: tuple[float, float]) -> None:
    lo, hi = wilson(*kn)
    assert lo == pytest.approx(expected[0], abs=5e-7)
    assert hi == pytest.approx(expected[1], abs=5e-7)


@given(st.integers(1, 400).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
       st.sampled_from([0.8, 0.9, 0.95, 0.99]))
@settings(max_examples=150, deadline=None)
def test_wilson_matches_scipy_and_quadratic(kn: tuple[int, int], conf: float) -> None:
    k, n = kn
    lo, hi = wilson(k, n, conf)
    ref = sps.binomtest(k, n).proportion_ci(confidence_level=conf, method="wilson")
    assert lo == pytest.approx(ref.low, abs=1e-12)
    assert hi == pytest.approx(ref.high, abs=1e-12)
    q = wilson_by_quadratic(k, n, conf)
    assert lo == pytest.approx(q[0], abs=1e-9) and hi == pytest.approx(q[1], abs=1e-9)
    assert 0.0 <= lo <= k / n <= hi <= 1.0  # never inverted (the original's evomerge bug)


def test_wilson_edges() -> None:
    assert wilson(0, 0) == (0.0, 1.0)
    lo, hi = wilson(0, 10)
    assert lo < 1e-15 and hi > 0
    lo, hi = wilson(80, 100)
    assert lo < 0.8 < hi
    with pytest.raises(ValueError):
        wilson(3, 2)
    with pytest.raises(ValueError):
        z_two_sided(1.0)


def test_conformal_acceptance() -> None:
    ci = split_conformal([0.1, 0.2, 0.3, 0.4, 0.5], 7.5, 0.1)
    assert (ci.lower + ci.upper) / 2 == pytest.approx(7.5)
    assert ci.width == pytest.approx(2 * ci.q)
    assert (ci.lower, ci.upper) == pytest.approx((7.0, 8.0))
    assert split_conformal([0.5, 0.5, 0.5], 1.0, 0.01).q == pytest.approx(0.5)
    one = split_conformal([0.3], 2.0)
    assert one.width == 0.0 and one.lower == 2.0


@given(st.lists(st.floats(-100, 100), min_size=0, max_size=60), st.floats(0.01, 0.5))
@settings(max_examples=150, deadline=None)
def test_conformal_matches_numpy_quantile(errors: list[float], alpha: float) -> None:
    ci = split_conformal(errors, 3.0, alpha)
    lo, hi = conformal_numpy(errors, 3.0, alpha)
    assert ci.lower == pytest.approx(lo, abs=1e-9) and ci.upper == pytest.approx(hi, abs=1e-9)


def test_conformal_rejects_bad_alpha_and_nan() -> None:
    with pytest.raises(ValueError):
        split_conformal([0.1, 0.2], 1.0, 1.5)
    with pytest.raises(ValueError):
        split_conformal([0.1, float("nan")], 1.0)
