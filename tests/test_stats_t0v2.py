"""T0v2 aggregate: the reference §6.2 cases and edge cases."""

from __future__ import annotations

import pytest

from engine.stats.t0v2 import CHANNELS, T0v2Thresholds, aggregate

COUNTS = {"A_truncated": 17, "A_extract_v2": 1, "B_stepwise": 4, "C_token": 8, "Class2": 35}


def test_reference_alpha_and_beta() -> None:
    r = aggregate(200, 65, COUNTS)
    assert r["n_first_class"] == 30 and r["first_class_rate_of_total"] == pytest.approx(0.15)
    assert r["first_class_rate_of_wrong"] == pytest.approx(30 / 65)
    assert r["decision_v2"]["case"] == "alpha"
    assert list(r["verdict_counts"]) == list(CHANNELS) and r["verdict_counts"]["B_selfcorrect_regress"] == 0
    assert aggregate(200, 65, COUNTS, lottery_rate=0.3846)["decision_v2"]["case"] == "beta"


def test_gamma_and_thresholds() -> None:
    assert aggregate(200, 65, {"Class2": 65})["decision_v2"]["case"] == "gamma"
    assert aggregate(200, 65, COUNTS, thresholds=T0v2Thresholds(alpha=0.2))["decision_v2"]["case"] == "gamma"
    zero = aggregate(0, 0, {})
    assert zero["first_class_rate_of_total"] == 0.0 and zero["decision_v2"]["case"] == "gamma"


def test_rejects_bad_counts() -> None:
    with pytest.raises(ValueError, match="unknown"):
        aggregate(10, 5, {"Z": 1})
    with pytest.raises(ValueError):
        aggregate(10, 11, {})
    with pytest.raises(ValueError):
        aggregate(10, 5, {"Class2": -1})
