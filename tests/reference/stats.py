"""Slow, obviously-correct references for engine.stats (loops, exact fractions, no vectorization)."""

from __future__ import annotations

import math
from fractions import Fraction
from statistics import NormalDist
from typing import Any

import numpy as np


def binom_pmf_half(n: int, k: int) -> Fraction:
    return Fraction(math.comb(n, k), 2**n)


def mcnemar_exact(b: int, c: int) -> Fraction:
    n = b + c
    if n == 0:
        return Fraction(1)
    tail = Fraction(0)
    for k in range(0, min(b, c) + 1):
        tail += binom_pmf_half(n, k)
    return min(Fraction(1), 2 * tail)


def mcnemar_midp(b: int, c: int) -> Fraction:
    n = b + c
    if n == 0:
        return Fraction(1)
    k = min(b, c)
    tail = sum((binom_pmf_half(n, i) for i in range(k + 1)), Fraction(0))
    # Twice the tail counting the observed table half (Fagerland et al. 2013), before capping at 1.
    return min(Fraction(1), 2 * tail - binom_pmf_half(n, k))


def wilson_by_quadratic(k: int, n: int, conf: float) -> tuple[float, float]:
    """Roots in p of (p_hat - p)^2 = z^2 p (1 - p) / n, the definition of the Wilson interval."""
    if n == 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf(1 - (1 - conf) / 2)
    ph = k / n
    # (1 + z^2/n) p^2 - (2 ph + z^2/n) p + ph^2 = 0
    qa = 1 + z * z / n
    qb = -(2 * ph + z * z / n)
    qc = ph * ph
    disc = max(qb * qb - 4 * qa * qc, 0.0)
    lo = (-qb - math.sqrt(disc)) / (2 * qa)
    hi = (-qb + math.sqrt(disc)) / (2 * qa)
    return max(0.0, lo), min(1.0, hi)


def bootstrap_looped(a: list[bool], b: list[bool], n_iter: int, conf: float, seed: int) -> dict[str, float]:
    """One resample per loop iteration with the same generator calls as the vectorized version."""
    n = len(a)
    rng = np.random.default_rng(seed)
    deltas = []
    for _ in range(n_iter):
        idx = rng.integers(0, n, size=n)
        total = 0
        for i in idx.tolist():
            total += int(a[i]) - int(b[i])
        deltas.append(Fraction(total, n))
    deltas.sort()
    point = Fraction(sum(a) - sum(b), n)
    alpha = (1 - conf) / 2
    lo = deltas[int(alpha * n_iter)]
    hi = deltas[min(n_iter - 1, int((1 - alpha) * n_iter))]
    if point > 0:
        extreme = sum(1 for d in deltas if d <= 0)
    elif point < 0:
        extreme = sum(1 for d in deltas if d >= 0)
    else:
        extreme = n_iter
    return {"delta": float(point), "ci_lo": float(lo), "ci_hi": float(hi),
            "p_two_sided": min(1.0, 2 * (extreme + 1) / (n_iter + 1))}


def pair_counts_looped(rows: list[tuple[str, str, bool]]) -> dict[tuple[str, str], tuple[int, int, int]]:
    """(model_a, model_b) -> (n, b, c) for rows already cleaned to one boolean per (model, item)."""
    by_model: dict[str, dict[str, bool]] = {}
    for model, item, correct in rows:
        by_model.setdefault(model, {})[item] = correct
    out: dict[tuple[str, str], tuple[int, int, int]] = {}
    models = sorted(by_model)
    for i, ma in enumerate(models):
        for mb in models[i + 1:]:
            n = b = c = 0
            for item, ca in by_model[ma].items():
                if item in by_model[mb]:
                    cb = by_model[mb][item]
                    n += 1
                    b += ca and not cb
                    c += cb and not ca
            if n:
                out[(ma, mb)] = (n, b, c)
    return out


def holm_looped(p: list[float]) -> list[float]:
    m = len(p)
    order = sorted(range(m), key=lambda i: (p[i], i))
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
    return adjusted


def conformal_numpy(errors: list[float], prediction: float, alpha: float) -> tuple[float, float]:
    n = len(errors)
    if n < 2:
        return prediction, prediction
    level = min(math.ceil((n + 1) * (1 - alpha)) / n, 1.0)
    q = float(np.quantile(np.abs(np.asarray(errors)), level))
    return prediction - q, prediction + q


def truncated_looped(items: list[dict[str, Any]], cap: int, margin: int) -> list[str]:
    import re

    out = []
    for it in items:
        if it.get("correct") is not False:
            continue
        text = it.get("gen_text") or ""
        if re.search(r"####\s*-?\d", text):
            continue
        if len(text) // 2 >= max(cap - margin, 0):
            out.append(str(it["id"]))
    return out


def pair_by_id_looped(items_a: list[dict[str, Any]], items_b: list[dict[str, Any]]) -> dict[str, Any]:
    """The documented pairing rules, spelled out item by item: ids as strings, duplicates and
    non-boolean / missing `correct` excluded, b and c over ids scored in both logs."""

    def norm(v: Any) -> str | None:
        if isinstance(v, bool) or v is None:
            return None
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return v if isinstance(v, str) and v else str(v) if isinstance(v, int | float) else None

    def scored(items: list[dict[str, Any]]) -> tuple[dict[str, bool], set[str]]:
        seen: dict[str, int] = {}
        for it in items:
            i = norm(it.get("id"))
            if i is not None:
                seen[i] = seen.get(i, 0) + 1
        out = {}
        for it in items:
            i = norm(it.get("id"))
            if i is None or seen[i] > 1:
                continue
            c = it.get("correct")
            if isinstance(c, bool):
                out[i] = c
            elif isinstance(c, int | float) and c in (0, 1):
                out[i] = bool(c)
        return out, set(seen)

    sa, ia = scored(items_a)
    sb, ib = scored(items_b)
    common = sorted(set(sa) & set(sb))
    return {
        "ids": common,
        "b": sum(1 for i in common if sa[i] and not sb[i]),
        "c": sum(1 for i in common if sb[i] and not sa[i]),
        "only_in_a": sorted(ia - ib),
        "only_in_b": sorted(ib - ia),
    }
