"""Sample size for a paired accuracy comparison (normal approximation, reference §3.7)."""

from __future__ import annotations

import math
from statistics import NormalDist


def n_for_power(delta: float, power: float = 0.8, alpha: float = 0.05) -> int | None:
    """Items needed to detect an accuracy difference `delta` at two-sided level alpha.

    n = ceil(((z_{1-alpha/2} + z_power) * 0.5 / |delta|)^2); 0.5 is the worst-case standard
    deviation of a 0/1 outcome, which keeps the estimate conservative. None when delta is 0.
    """
    if not 0.0 < power < 1.0 or not 0.0 < alpha < 1.0:
        raise ValueError("power and alpha must be strictly between 0 and 1")
    if delta == 0 or not math.isfinite(delta):
        return None
    nd = NormalDist()
    z = nd.inv_cdf(1.0 - alpha / 2.0) + nd.inv_cdf(power)
    return math.ceil((z * 0.5 / abs(delta)) ** 2)
