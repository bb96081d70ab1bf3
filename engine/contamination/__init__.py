"""Exact train/eval contamination detection (SPEC §6).

Public entry: `engine.contamination.api.detect_contamination`. The modules hold one concept each:
normalize (text preparation), tokens (Python-`re` compatible `\\w+` tokens), hashing (64-bit
n-gram hashes), index (eval side), join (candidate generation and exact intersections),
charsim (the char n-gram path with length and prefix filters), scores/rules (scores and flags).
"""

from __future__ import annotations

from engine.contamination.config import ContaminationConfig, Rule

__all__ = ["ContaminationConfig", "Rule"]
