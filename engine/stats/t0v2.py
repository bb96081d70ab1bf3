"""T0v2 triage aggregate (reference §3.9 `aggregate`): from channel counts to a next-step decision.

Channels: A_truncated, A_extract_v2, B_stepwise, B_selfcorrect_regress, C_token (first-class:
fixable failure modes) and Class2 (reasoning errors). Decision order: a self-consistency lottery
rate >= beta_threshold says "beta" (majority voting first); else a first-class rate of all items
>= alpha_threshold says "alpha" (repair); else "gamma" (reasoning is the bottleneck).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

CHANNELS: tuple[str, ...] = ("A_truncated", "A_extract_v2", "B_stepwise", "B_selfcorrect_regress", "C_token", "Class2")
FIRST_CLASS: tuple[str, ...] = CHANNELS[:-1]
Case = Literal["alpha", "beta", "gamma"]


@dataclass(frozen=True)
class T0v2Thresholds:
    alpha: float = 0.15
    beta: float = 0.30


def aggregate(n_total: int, n_wrong: int, counts: Mapping[str, int], lottery_rate: float | None = None,
              thresholds: T0v2Thresholds | None = None) -> dict[str, Any]:
    th = thresholds or T0v2Thresholds()
    unknown = sorted(set(counts) - set(CHANNELS))
    if unknown:
        raise ValueError(f"unknown T0v2 channel(s) {', '.join(unknown)}; expected {', '.join(CHANNELS)}")
    if n_total < 0 or n_wrong < 0 or n_wrong > n_total:
        raise ValueError(f"need 0 <= n_wrong <= n_total, got n_wrong={n_wrong}, n_total={n_total}")
    if any(v < 0 for v in counts.values()):
        raise ValueError("channel counts must be non-negative")
    verdict_counts = {ch: int(counts.get(ch, 0)) for ch in CHANNELS}
    n_first = sum(verdict_counts[ch] for ch in FIRST_CLASS)
    rate_total = n_first / n_total if n_total else 0.0
    rate_wrong = n_first / n_wrong if n_wrong else 0.0
    case: Case
    if lottery_rate is not None and lottery_rate >= th.beta:
        case, action = "beta", f"switch to SC-k majority before claiming (lottery={lottery_rate:.0%})"
    elif rate_total >= th.alpha:
        case, action = "alpha", f"first-class rate {rate_total:.1%} meets threshold; consider repair"
    else:
        case, action = "gamma", "reasoning bottleneck dominates; accept cap or change approach"
    return {
        "n_total": n_total,
        "n_wrong": n_wrong,
        "n_first_class": n_first,
        "first_class_rate_of_total": rate_total,
        "first_class_rate_of_wrong": rate_wrong,
        "verdict_counts": verdict_counts,
        "lottery_rate": lottery_rate,
        "decision_v2": {"case": case, "action": action, "alpha_threshold": th.alpha, "beta_threshold": th.beta},
    }
