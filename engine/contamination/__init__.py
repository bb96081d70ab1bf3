"""Exact train/eval contamination detection (SPEC §6).

Public entry: `engine.contamination.api.detect_contamination` (two text columns -> one row per
training text + summary); `engine.contamination.run.run_contamination` is the CLI pipeline.

Modules, one concept each: config (thresholds, rule), normalize (NFKC, invisible characters,
whitespace, lower-case -> a flat code-point stream), tokens (`\\w+` exactly as Python's `re`),
hashing (64-bit polynomial n-gram hashes from prefix sums; collision bound), index (featurising
and the eval-side index), join (hashed sets, exact intersection counts, membership filter),
scores (token Jaccard, containment, 13-gram hits), charindex (eval side of the char path: exact
incidence matrices, level-5 anchors in size bands), charfilter (which training rows can reach
the char threshold: size bounds and the anchor count filter), charexact (exact best char
Jaccard of chosen rows by sparse products), rules (flags), records (texts and ids from input
records), run (reading, scoring, writing flagged rows).

How a batch of training texts is scored (`api.score_batch`): featurise in length order; token
scores and 13-gram hits for every row (membership bitmap, then exact joins for rows that share
something); the char filter picks the rows that can have char Jaccard >= `char_threshold`; their
exact best char score, and that of every flagged row, comes from `charexact`. Unflagged rows
below the char threshold report `char_jaccard` null (known to be below it); everything else is
exact. Two batches are scored at once.
"""

from __future__ import annotations

from engine.contamination.config import ContaminationConfig, Rule

__all__ = ["ContaminationConfig", "Rule"]
