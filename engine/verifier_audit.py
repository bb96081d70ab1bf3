"""Verifier audit (reference §3.13): per verifier id, how much can its verdicts be trusted?

All verifier results of the structurally valid AEP records are exploded into one frame and
aggregated per `verifier_id` in a single group-by; the seven findings are then read off the
per-verifier counts (a loop over verifiers, not over results):

| check_id            | severity | condition                                              |
|---------------------|----------|--------------------------------------------------------|
| empty_results       | high     | no results for the verifier (pass rate 0)              |
| oracle_leakage_risk | critical | id (lowercased) contains "oracle" or "ground_truth"    |
| high_pass_rate      | high     | pass rate > 0.95 with n >= 10                          |
| no_score_signal     | medium   | no result carries a score                              |
| binary_score_only   | medium   | otherwise, at most 2 distinct scores                   |
| low_pass_rate       | medium   | pass rate < 0.05 with n >= 10                          |
| missing_claim_ids   | low      | more than half of the results lack non-empty claim_ids |

strength_score = clamp(1 - 0.30 x critical - 0.15 x high, 0, 1). Structurally invalid records
are skipped (their verifier results cannot be read reliably) and counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

SEVERITY_PENALTY = {"critical": 0.30, "high": 0.15}


@dataclass(frozen=True)
class Finding:
    severity: str
    check_id: str
    description: str
    evidence: str = ""


@dataclass(frozen=True)
class VerifierAudit:
    verifier_id: str
    total_results: int
    pass_rate: float
    findings: tuple[Finding, ...] = field(default_factory=tuple)

    @property
    def critical_count(self) -> int:
        return sum(1 for f in self.findings if f.severity == "critical")

    @property
    def high_count(self) -> int:
        return sum(1 for f in self.findings if f.severity == "high")

    @property
    def strength_score(self) -> float:
        penalty = self.critical_count * SEVERITY_PENALTY["critical"] + self.high_count * SEVERITY_PENALTY["high"]
        return max(0.0, min(1.0, 1.0 - penalty))

    def to_dict(self) -> dict[str, Any]:
        return {
            "verifier_id": self.verifier_id,
            "total_results": self.total_results,
            "pass_rate": self.pass_rate,
            "strength_score": self.strength_score,
            "critical_count": self.critical_count,
            "high_count": self.high_count,
            "findings": [
                {"severity": f.severity, "check_id": f.check_id, "description": f.description, "evidence": f.evidence}
                for f in self.findings
            ],
        }


def verifier_rows(decoded: pl.DataFrame) -> pl.DataFrame:
    """One flat row per verifier result of the structurally valid records of `decoded`."""
    frame = decoded.filter(pl.col("structural_valid")) if "structural_valid" in decoded.columns else decoded
    return (
        frame.select(pl.col("verifier_results"))
        .explode("verifier_results")
        .filter(pl.col("verifier_results").is_not_null())
        .select(*(pl.col("verifier_results").struct.field(f) for f in ("verifier_id", "passed", "score", "claim_ids")))
    )


def verifier_stats(rows: pl.DataFrame) -> pl.DataFrame:
    """One row per verifier id: n, passed, scored, distinct scores, results lacking claim ids."""
    # + 0.0 folds -0.0 into 0.0, as Python's set() does for equal floats
    score = pl.col("score") + 0.0
    return (
        rows.group_by(pl.col("verifier_id").fill_null("<unknown>"))
        .agg(
            pl.len().alias("n"),
            pl.col("passed").fill_null(False).sum().alias("n_passed"),
            pl.col("score").is_not_null().sum().alias("n_scored"),
            score.drop_nulls().unique().sort().alias("distinct_scores"),
            (pl.col("claim_ids").is_null() | (pl.col("claim_ids").list.len() == 0)).sum().alias("n_missing_claims"),
        )
        .sort("verifier_id")
    )


def _findings(verifier_id: str, n: int, n_passed: int, n_scored: int, distinct: list[float],
              n_missing_claims: int) -> tuple[float, list[Finding]]:
    if n == 0:
        return 0.0, [Finding("high", "empty_results", "no results were recorded for this verifier", "total_results=0")]
    found: list[Finding] = []
    rate = n_passed / n
    lowered = verifier_id.lower()
    if "oracle" in lowered or "ground_truth" in lowered:
        found.append(Finding("critical", "oracle_leakage_risk",
                             "the verifier id names an oracle / ground truth: it may see the labels it grades",
                             f"verifier_id={verifier_id!r}"))
    if rate > 0.95 and n >= 10:
        found.append(Finding("high", "high_pass_rate", f"passes {rate:.1%} of {n} results: possibly too lenient",
                             f"pass_rate={rate:.4f}, total={n}"))
    if n_scored == 0:
        found.append(Finding("medium", "no_score_signal", "no result carries a score: pass/fail only",
                             f"non_none_scores=0 out of {n}"))
    elif len(distinct) <= 2:
        found.append(Finding("medium", "binary_score_only",
                             f"only {len(distinct)} distinct score value(s) {distinct}: effectively binary",
                             f"unique_score_values={distinct}, non_none_count={n_scored}"))
    if rate < 0.05 and n >= 10:
        found.append(Finding("medium", "low_pass_rate", f"passes {rate:.1%} of {n} results: possibly broken",
                             f"pass_rate={rate:.4f}, total={n}"))
    if n_missing_claims > n * 0.5:
        found.append(Finding("low", "missing_claim_ids",
                             f"{n_missing_claims}/{n} results have no claim_ids: failures cannot be traced",
                             f"missing_claim_ids_count={n_missing_claims}, total={n}"))
    return rate, found


def audit_rows(rows: pl.DataFrame) -> list[VerifierAudit]:
    """Audit every verifier seen in flat verifier-result rows (see `verifier_rows`)."""
    stats = verifier_stats(rows)
    audits: list[VerifierAudit] = []
    for row in stats.to_dicts():  # one row per verifier id, not per result
        rate, found = _findings(row["verifier_id"], row["n"], row["n_passed"], row["n_scored"],
                                row["distinct_scores"], row["n_missing_claims"])
        audits.append(VerifierAudit(row["verifier_id"], row["n"], rate, tuple(found)))
    return audits


def audit_decoded(decoded: pl.DataFrame) -> list[VerifierAudit]:
    """Audit every verifier seen in decoded AEP records (invalid ones skipped when marked)."""
    return audit_rows(verifier_rows(decoded))


def audit_paths(paths: list[str], *, progress: bool = False) -> dict[str, Any]:
    from engine.admission_run import iter_evidence

    rows: list[pl.DataFrame] = []
    records = invalid = 0
    for _, frame in iter_evidence(paths, progress=progress):
        records += frame.height
        invalid += int((~frame["structural_valid"]).sum())
        rows.append(verifier_rows(frame))
    flat = pl.concat(rows) if rows else pl.DataFrame(schema={"verifier_id": pl.String, "passed": pl.Boolean,
                                                             "score": pl.Float64, "claim_ids": pl.List(pl.String)})
    return {"records": records, "skipped_invalid": invalid, "verifiers": [a.to_dict() for a in audit_rows(flat)]}
