"""Configuration of a contamination run (thresholds, n-gram size, rule)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from engine.errors import UsageError

CHAR_NS: tuple[int, ...] = (5, 6, 7, 8, 9, 10)
HIT_NGRAM = 13


class Rule(StrEnum):
    """How a training text is flagged. Every score is computed whatever the rule."""

    jaccard = "jaccard"  # the original: token Jaccard >= threshold or char Jaccard >= char_threshold
    containment = "containment"  # share of an eval item's n-grams found in the training text
    any = "any"  # either of the above


@dataclass(frozen=True)
class ContaminationConfig:
    ngram: int = 8
    threshold: float = 0.2
    char_threshold: float = 0.7
    containment_threshold: float = 0.5
    rule: Rule = Rule.any
    batch_size: int = 5_000
    # Compute the exact max char Jaccard for every training text, not only for flagged ones
    # (slow on large inputs: the differential tests use it).
    exact_char_scores: bool = False

    def __post_init__(self) -> None:
        if self.ngram < 1:
            raise UsageError(f"--ngram must be >= 1, got {self.ngram}")
        for name in ("threshold", "char_threshold", "containment_threshold"):
            value = getattr(self, name)
            if not value > 0.0 or value != value:
                raise UsageError(f"{name} must be > 0, got {value}", hint="a threshold of 0 would flag everything")
        if self.batch_size < 1:
            raise UsageError("batch_size must be >= 1")
