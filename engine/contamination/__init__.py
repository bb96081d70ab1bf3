"""Exact train/eval contamination detection (SPEC §6).

Public entry: `engine.contamination.api.detect_contamination` (two text columns -> one row per
training text + summary); `engine.contamination.run.run_contamination` is the CLI pipeline.

Modules, one concept each: config (thresholds, rule), normalize (NFKC, invisible characters,
whitespace, lower-case -> a flat code-point stream), tokens (`\\w+` exactly as Python's `re`),
hashing (64-bit polynomial n-gram hashes from prefix sums; collision bound), index (featurising
and the eval-side index), join (membership filter, prefix filter, exact intersection counts),
scores (token Jaccard, containment, 13-gram hits), charsim (char n-gram path: length filters,
anchor count filter, prefix filter), rules (flags), records (texts and ids from input records),
run (reading, scoring, writing flagged rows).
"""

from __future__ import annotations

from engine.contamination.config import ContaminationConfig, Rule

__all__ = ["ContaminationConfig", "Rule"]
