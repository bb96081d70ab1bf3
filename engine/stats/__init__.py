"""Claim-audit statistics: eval-log reading, paired tests, intervals, truncation, verdicts.

Deliberately light: the two-file path (`engine paired --a A --b B`) must start in well under a
second, so these modules use the standard library plus numpy only. The many-pairs path
(`many_pairs`) is the one place that imports duckdb and scipy, and only when called.
"""

from __future__ import annotations
