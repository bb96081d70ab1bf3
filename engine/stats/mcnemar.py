"""McNemar's test on discordant pair counts: exact, mid-p and chi-square with continuity correction.

b = #(A right, B wrong), c = #(A wrong, B right). Under H0 each discordant pair falls either way
with probability 1/2, so min(b, c) ~ Bin(b + c, 1/2). The exact p-value is summed with integer
binomial coefficients and divided once, so it is exact up to the final float rounding.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

McNemarTest = Literal["exact", "midp", "chi2"]
TESTS: tuple[McNemarTest, ...] = ("exact", "midp", "chi2")


@dataclass(frozen=True)
class McNemarResult:
    test: McNemarTest
    b: int
    c: int
    p_value: float
    statistic: float | None = None  # chi-square statistic for "chi2"

    def as_dict(self) -> dict[str, object]:
        return {"test": self.test, "b": self.b, "c": self.c, "p_value": self.p_value, "statistic": self.statistic}


def _check(b: int, c: int) -> None:
    if isinstance(b, bool) or isinstance(c, bool) or not isinstance(b, int) or not isinstance(c, int):
        raise TypeError("b and c must be integers")
    if b < 0 or c < 0:
        raise ValueError(f"discordant counts must be non-negative, got b={b}, c={c}")


def lower_tail_half(k: int, n: int) -> Fraction:
    """P[Bin(n, 1/2) <= k] as an exact fraction."""
    if k < 0:
        return Fraction(0)
    if k >= n:
        return Fraction(1)
    # C(n, i+1) = C(n, i) * (n - i) / (i + 1) exactly: one small multiply and divide per term
    # instead of a fresh math.comb each time (matters when b + c runs into the tens of thousands).
    term, total = 1, 1
    for i in range(k):
        term = term * (n - i) // (i + 1)
        total += term
    return Fraction(total, 1 << n)


def exact_p(b: int, c: int) -> float:
    """Two-sided exact p = min(1, 2 * P[Bin(b+c, 1/2) <= min(b, c)]); 1 when b + c = 0."""
    _check(b, c)
    n = b + c
    if n == 0:
        return 1.0
    return float(min(Fraction(1), 2 * lower_tail_half(min(b, c), n)))


def midp(b: int, c: int) -> float:
    """Mid-p: the exact p minus the probability of the observed table (less conservative)."""
    _check(b, c)
    n = b + c
    if n == 0:
        return 1.0
    k = min(b, c)
    point = Fraction(math.comb(n, k), 1 << n)
    return float(min(Fraction(1), 2 * lower_tail_half(k, n) - point))


def chi2_cc(b: int, c: int) -> tuple[float, float]:
    """(statistic, p) of the continuity-corrected chi-square test, 1 degree of freedom.

    The correction is clipped at zero, max(|b - c| - 1, 0)^2 / (b + c), so b = c gives p = 1
    instead of the small positive statistic some packages report.
    """
    _check(b, c)
    n = b + c
    if n == 0:
        return 0.0, 1.0
    stat = max(abs(b - c) - 1, 0) ** 2 / n
    # Survival function of chi-square(1) at x is erfc(sqrt(x / 2)).
    return stat, math.erfc(math.sqrt(stat / 2.0))


def mcnemar(b: int, c: int, test: McNemarTest = "exact") -> McNemarResult:
    if test == "exact":
        return McNemarResult("exact", b, c, exact_p(b, c))
    if test == "midp":
        return McNemarResult("midp", b, c, midp(b, c))
    if test == "chi2":
        stat, p = chi2_cc(b, c)
        return McNemarResult("chi2", b, c, p, stat)
    raise ValueError(f"unknown McNemar test {test!r}; expected one of {', '.join(TESTS)}")


def min_achievable_p(n_discordant: int) -> float:
    """Smallest exact p any split of n discordant pairs can give (all on one side)."""
    return exact_p(n_discordant, 0)
