"""Confidence intervals: Wilson score interval for a proportion, split-conformal interval.

The Wilson bounds are computed from the exact inverse normal (statistics.NormalDist), so
lower <= upper always holds; the original's second Wilson (evomerge, an approximation that went
negative above 0.5 and inverted the bounds) has no counterpart here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist


def z_two_sided(conf: float) -> float:
    """z such that P[|Z| <= z] = conf."""
    if not 0.0 < conf < 1.0:
        raise ValueError(f"confidence level must be strictly between 0 and 1, got {conf}")
    return NormalDist().inv_cdf(1.0 - (1.0 - conf) / 2.0)


def wilson(k: int, n: int, conf: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for k successes in n trials, clipped to [0, 1]; n = 0 gives (0, 1)."""
    z = z_two_sided(conf)
    if n < 0 or k < 0 or k > n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if n == 0:
        return 0.0, 1.0
    p = k / n
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1.0 - p) / n + z2 / (4 * n * n)) / denom
    # At k = 0 and k = n the bound is exactly 0 or 1; rounding would leave ~1e-17 instead.
    lower = 0.0 if k == 0 else max(0.0, centre - half)
    upper = 1.0 if k == n else min(1.0, centre + half)
    return lower, upper


@dataclass(frozen=True)
class ConformalInterval:
    prediction: float
    lower: float
    upper: float
    q: float
    level: float
    n: int
    alpha: float

    @property
    def width(self) -> float:
        return self.upper - self.lower

    def as_dict(self) -> dict[str, float | int]:
        return {"prediction": self.prediction, "lower": self.lower, "upper": self.upper,
                "width": self.width, "q": self.q, "level": self.level, "n": self.n, "alpha": self.alpha}


def split_conformal(errors: Sequence[float], prediction: float, alpha: float = 0.10) -> ConformalInterval:
    """Split-conformal interval prediction ± q, q the ceil((n+1)(1-alpha))/n quantile of |errors|.

    Fewer than two calibration errors give a zero-width interval (no coverage claim possible).
    The quantile uses linear interpolation between order statistics (numpy's default method).
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be strictly between 0 and 1, got {alpha}")
    n = len(errors)
    if any(not math.isfinite(e) for e in errors):
        raise ValueError("calibration errors must be finite numbers")
    if n < 2:
        return ConformalInterval(prediction, prediction, prediction, 0.0, 1.0, n, alpha)
    level = min(math.ceil((n + 1) * (1.0 - alpha)) / n, 1.0)
    xs = sorted(abs(e) for e in errors)
    pos = level * (n - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, n - 1)
    q = xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)
    return ConformalInterval(prediction, prediction - q, prediction + q, q, level, n, alpha)
