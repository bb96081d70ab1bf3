"""Slow, line-by-line reference of the group trust score and the calibrated trust score.

Follows reference §3.12 with the documented aggregation (engine/trust.py docstring): counts are
summed over the structurally valid records of a group, then turned into ratios.
"""

from __future__ import annotations

import math
from typing import Any


def group_key(record: dict[str, Any]) -> str:
    return record.get("trace_id") or record.get("run_id") or "__ungrouped__"


def _evidenced(action: dict[str, Any]) -> bool:
    return bool(action.get("result_digest") or action.get("evidence_refs"))


def calibrated(record: dict[str, Any]) -> dict[str, float]:
    """Unrounded calibrated components of one record (reference §3.12.7)."""
    required = ("schema_version", "run_id", "model_id", "repo_commit", "tool_manifest_digest", "actions",
                "capability_decisions", "verifier_results", "created_at_ms")
    actions = record.get("actions") or []
    decisions = record.get("capability_decisions") or []
    verifiers = record.get("verifier_results") or []
    missing = [k for k in required if k not in record]
    schema_valid = 1.0 if not missing else max(0.0, 1.0 - len(missing) / len(required))
    has_actions = 1.0 if actions else 0.0
    sc = [a for a in actions if a.get("state_changing")]
    coverage = sum(1 for a in sc if _evidenced(a)) / len(sc) if sc else 1.0
    health = schema_valid * 0.4 + has_actions * 0.3 + coverage * 0.3
    deny = sum(1 for d in decisions if d.get("decision") == "deny") / len(decisions) if decisions else 0.0
    digest = (len(sc) - sum(1 for a in sc if _evidenced(a))) / len(sc) if sc else 0.0
    risk = max(0.0, 1.0 - (deny * 0.6 + digest * 0.4))
    pass_rate = sum(1 for v in verifiers if v.get("passed", False)) / len(verifiers) if verifiers else 0.5
    provenance = (1.0 if record.get("repo_commit") else 0.0) * 0.5 + (1.0 if record.get("tool_manifest_digest") else 0.0) * 0.5
    eligibility = pass_rate * 0.45 + coverage * 0.30 + provenance * 0.25
    composite = max(0.0, min(1.0, health * 0.35 + risk * 0.35 + eligibility * 0.30))
    return {"evidence_health": health, "policy_risk": risk, "training_eligibility": eligibility, "composite": composite}


def label(composite: float) -> str:
    if composite >= 0.8:
        return "high_trust"
    if composite >= 0.6:
        return "medium_trust"
    if composite >= 0.4:
        return "low_trust"
    return "untrusted"


def grade(overall: float | None, known: int) -> str:
    if overall is None:
        return "F"
    if overall >= 0.9 and known >= 6:
        return "A"
    if overall >= 0.75 and known >= 4:
        return "B"
    if overall >= 0.6:
        return "C"
    if overall >= 0.4:
        return "D"
    return "F"


def group_score(records: list[dict[str, Any]], *, task_passed: bool = False, benchmark_trust: float | None = None,
                supply: float = 0.5) -> dict[str, Any]:
    """Trust score of one group: `records` are its structurally valid records, in order."""
    sc = evidenced = n_dec = n_deny = n_ver = n_pass = checks = over = 0
    for record in records:
        for action in record.get("actions", []):
            if action.get("state_changing"):
                sc += 1
                evidenced += _evidenced(action)
        for decision in record.get("capability_decisions", []):
            n_dec += 1
            n_deny += decision.get("decision") == "deny"
        for verifier in record.get("verifier_results", []):
            n_ver += 1
            n_pass += bool(verifier.get("passed", False))
        budget = record.get("budget_ledger")
        if budget:
            for name in ("token_budget", "retry_budget", "tool_budget"):
                b = budget.get(name)
                if b and b.get("limit") is not None:
                    checks += 1
                    over += b["spent"] > b["limit"]
    dims: dict[str, float | None] = {
        "evidence_completeness": evidenced / sc if sc else None,
        "policy_compliance": max(0.0, 1.0 - n_deny / n_dec) if n_dec else None,
        "verifier_agreement": n_pass / n_ver if n_ver else None,
    }
    if checks:
        dims["budget_compliance"] = max(0.0, 1.0 - over / checks)
    if task_passed:
        dims["task_success"] = 1.0
    if benchmark_trust is not None:
        dims["benchmark_trust"] = max(0.0, min(1.0, benchmark_trust))
    dims["supply_chain_integrity"] = supply
    known = [v for v in dims.values() if v is not None]
    if not known:
        overall = None
    elif any(v <= 0 for v in known):
        overall = 0.0
    else:
        overall = math.exp(sum(math.log(v) for v in known) / len(known))
    return {
        "overall": None if overall is None else round(overall, 4),
        "grade": grade(overall, len(known)),
        "known_dimensions": len(known),
        "breakdown": {k: (None if v is None else round(v, 4)) for k, v in dims.items()},
    }
