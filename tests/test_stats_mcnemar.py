"""McNemar exact / mid-p / chi-square and sample size: acceptance values, scipy cross-checks, references."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from engine.stats.mcnemar import chi2_cc, exact_p, mcnemar, midp, min_achievable_p
from engine.stats.power import n_for_power
from tests.reference.stats import mcnemar_exact, mcnemar_midp

ACCEPTANCE = [((29, 27), 0.8938530948), ((21, 41), 0.0151340810), ((10, 0), 0.001953125), ((0, 0), 1.0),
              ((1, 0), 1.0), ((5, 5), 1.0)]


@pytest.mark.parametrize(("bc", "expected"), ACCEPTANCE)
def test_exact_acceptance_values(bc: tuple[int, int], expected: float) -> None:
    assert abs(exact_p(*bc) - expected) < 1e-10


@pytest.mark.parametrize("bc", [(29, 27), (21, 41), (10, 0), (3, 17), (100, 130), (10_000, 10_400)])
def test_exact_matches_scipy_binomtest(bc: tuple[int, int]) -> None:
    b, c = bc
    ref = sps.binomtest(min(b, c), b + c, 0.5, alternative="two-sided").pvalue
    assert exact_p(b, c) == pytest.approx(ref, rel=1e-12, abs=1e-15)


@given(st.integers(0, 150), st.integers(0, 150))
@settings(max_examples=200, deadline=None)
def test_exact_and_midp_equal_fraction_reference(b: int, c: int) -> None:
    assert exact_p(b, c) == float(mcnemar_exact(b, c))
    assert midp(b, c) == float(mcnemar_midp(b, c))
    assert exact_p(b, c) == exact_p(c, b)
    assert 0.0 < exact_p(b, c) <= 1.0
    assert midp(b, c) <= exact_p(b, c)


def test_midp_closed_form_with_scipy() -> None:
    b, c = 21, 41
    n, k = b + c, min(b, c)
    ref = 2 * (sps.binom.cdf(k, n, 0.5) - 0.5 * sps.binom.pmf(k, n, 0.5))
    assert midp(b, c) == pytest.approx(ref, rel=1e-10)


def test_chi2_continuity_corrected_matches_scipy() -> None:
    stat, p = chi2_cc(21, 41)
    assert stat == pytest.approx((abs(21 - 41) - 1) ** 2 / 62)
    assert p == pytest.approx(sps.chi2.sf(stat, 1), rel=1e-12)
    assert chi2_cc(0, 0) == (0.0, 1.0)
    assert chi2_cc(5, 5)[1] == 1.0  # correction clipped at zero: equal counts are no evidence
    res = mcnemar(21, 41, "chi2")
    assert res.statistic == pytest.approx(stat) and res.test == "chi2"


def test_dispatch_and_bad_arguments() -> None:
    assert mcnemar(29, 27).p_value == exact_p(29, 27)
    assert mcnemar(29, 27, "midp").p_value == midp(29, 27)
    with pytest.raises(ValueError):
        mcnemar(1, 2, "fisher")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        exact_p(-1, 2)
    with pytest.raises(TypeError):
        exact_p(True, 2)


def test_min_achievable_p() -> None:
    assert min_achievable_p(5) == 0.0625
    assert min_achievable_p(6) == 0.03125


@pytest.mark.parametrize(("delta", "expected"), [(0.045, 969), (0.10, 197), (0.15, 88), (0.01, 19623)])
def test_n_for_power_acceptance(delta: float, expected: int) -> None:
    assert n_for_power(delta) == expected
    assert n_for_power(-delta) == expected


def test_n_for_power_closed_form_and_edges() -> None:
    z = sps.norm.ppf(0.975) + sps.norm.ppf(0.8)
    assert n_for_power(0.07) == math.ceil((z * 0.5 / 0.07) ** 2)
    assert n_for_power(0.0) is None
    with pytest.raises(ValueError):
        n_for_power(0.1, power=1.0)
