"""Slow, line-by-line reference of the Evidence Admission Score (original toolkit §3.3).

One Python dict at a time, written to be read next to the reference description rather than to
be fast. The differential test compares `engine.admission` against this on generated records.
Semantics: the original scorer, plus the SPEC §5 corrections and the policy knobs:
- versions come from the policy (default: aep/v0.1 .. aep/v0.5);
- a record that fails structural validation is `reject` with reason `schema_invalid`;
- optional penalties for deny decisions / failed verifiers (zero in the default policy);
- `min_score`: a train_* record scoring below it is demoted to `audit_only`.
"""

from __future__ import annotations

from typing import Any

from engine.policy import DIMENSIONS, AdmissionPolicy

TRAIN = ("train_sft", "train_dpo", "train_repair", "train_router")


def _rejected(reasons: list[str]) -> dict[str, Any]:
    return {"score": 0.0, "category": "reject", "reasons": reasons, "dimensions": {}, "admitted": False}


def score_record(record: dict[str, Any], structural_valid: bool, policy: AdmissionPolicy) -> dict[str, Any]:
    reasons: list[str] = []
    version = record.get("schema_version", "")
    if version not in policy.known_versions:
        reasons.append("invalid schema_version")
    if not structural_valid:
        reasons.append("schema_invalid")
    if reasons:
        return _rejected(reasons)

    dims: dict[str, float] = {"schema_validity": 1.0}

    actions = record.get("actions", [])
    state_changing = [a for a in actions if a.get("state_changing", False)]
    evidenced = [a for a in state_changing if a.get("result_digest") or a.get("precondition_digest")]
    completeness = len(evidenced) / len(state_changing) if state_changing else 1.0
    dims["evidence_completeness"] = completeness

    decisions = record.get("capability_decisions", [])
    if len(decisions) > 0 or len(state_changing) == 0:
        dims["policy_compliance"] = 1.0
    else:
        dims["policy_compliance"] = policy.policy_without_decisions
        reasons.append("no capability_decisions for state-changing run")

    verifiers = record.get("verifier_results", [])
    if verifiers:
        dims["verifier_strength"] = min(1.0, len(verifiers) * policy.verifier_per_result)
    else:
        dims["verifier_strength"] = 0.0
        reasons.append("no verifier_results")

    if bool(record.get("repo_commit")) and bool(record.get("model_id")):
        dims["provenance"] = 1.0
    else:
        dims["provenance"] = policy.provenance_missing
        reasons.append("missing repo_commit or model_id")

    if record.get("tool_manifest_digest"):
        dims["contamination_risk"] = 1.0
    else:
        dims["contamination_risk"] = policy.contamination_missing_digest
        reasons.append("missing tool_manifest_digest — contamination risk elevated")

    bonus = 0.0
    if record.get("recording_mode") == "full":
        bonus = policy.bonus_full
    elif record.get("recording_mode") == "delta":
        bonus = policy.bonus_delta

    weights = dict(policy.weights)
    score = sum(dims[d] * weights[d] for d in DIMENSIONS)
    score = min(1.0, score + bonus)

    if policy.penalised:
        n_deny = sum(1 for d in decisions if d.get("decision") == "deny")
        n_failed = sum(1 for v in verifiers if not v.get("passed"))
        deny_fraction = n_deny / len(decisions) if decisions else 0.0
        failed_fraction = n_failed / len(verifiers) if verifiers else 0.0
        penalty = policy.deny_penalty * deny_fraction + policy.failed_verifier_penalty * failed_fraction
        if penalty > 0.0:
            score = max(0.0, score - penalty)
        if n_deny and policy.deny_penalty > 0.0:
            reasons.append(f"deny decisions penalised: {n_deny} of {len(decisions)}")
        if n_failed and policy.failed_verifier_penalty > 0.0:
            reasons.append(f"failed verifiers penalised: {n_failed} of {len(verifiers)}")

    if score < policy.reject_threshold:
        category = "reject"
        reasons.append(f"score {score:.2f} below reject threshold {policy.reject_threshold:.2f}")
    elif score < policy.admit_threshold:
        category = "audit_only"
    else:
        if any("repair" in str(v.get("verifier_id", "")).lower() for v in verifiers):
            category = "train_repair"
        elif record.get("_dpo_pair_id"):
            category = "train_dpo"
        elif sum(1 for v in verifiers if v.get("passed")) > 0 and completeness >= policy.sft_min_completeness:
            category = "train_sft"
        else:
            category = "train_router"
        if score < policy.min_score:
            category = "audit_only"
            reasons.append(f"score {score:.2f} below min_score {policy.min_score:.2f}")

    return {
        "score": round(score, 4),
        "category": category,
        "reasons": reasons,
        "dimensions": {k: round(v, 4) for k, v in dims.items()},
        "admitted": category in TRAIN,
    }


# ---------------------------------------------------------------------------------------------
# Adversarial AEP records for the differential tests (admission, trust, verifier audit)
# ---------------------------------------------------------------------------------------------

_VERSIONS = ("aep/v0.1", "aep/v0.2", "aep/v0.3", "aep/v0.4", "aep/v0.5")
_DPO_VALUES: tuple[Any, ...] = ("pair-1", "", "0", 0, 1, 0.0, -0.0, 2.5, True, False, None, [], [0], {}, {"a": 1})


def _digest(rng: Any) -> Any:
    return rng.choice(("", "ab" * 32, "sha256:00ff", None, "x"))


def _action(rng: Any, i: int) -> dict[str, Any]:
    action: dict[str, Any] = {
        "action_id": f"a{i}", "tool_name": rng.choice(("write_file", "read_file", "http_post")),
        "state_changing": rng.random() < 0.6, "timestamp_ms": 1750900000000 + i,
    }
    for key in ("result_digest", "precondition_digest"):
        value = _digest(rng)
        if value is not None:
            action[key] = value
    if rng.random() < 0.5:
        action["evidence_refs"] = rng.choice(([], ["ref://1"], ["", "ref://2"]))
    return action


def _verifier(rng: Any) -> dict[str, Any]:
    result: dict[str, Any] = {
        "verifier_id": rng.choice(("build-passes", "tests-pass", "Repair-check", "REPAIR", "prepaired",
                                   "oracle-match", "ground_truth_eq", "lint")),
        "passed": rng.random() < 0.7,
    }
    if rng.random() < 0.7:
        result["score"] = rng.choice((0.0, 1.0, 0.5, 0.25, round(rng.random(), 3)))
    if rng.random() < 0.6:
        result["claim_ids"] = rng.choice(([], ["c1"], ["c1", "c2"]))
    return result


def adversarial_record(base: dict[str, Any], rng: Any) -> dict[str, Any]:
    """Perturb one valid generated record: versions, missing/extra fields, digests, empty lists."""
    rec = dict(base)
    roll = rng.random()
    if roll < 0.03:
        rec["schema_version"] = rng.choice(("aep/v0.6", "", "AEP/v0.1", "aep/v0.1 "))
    elif roll < 0.04:
        rec.pop("schema_version", None)
    else:
        rec["schema_version"] = rng.choice(_VERSIONS)
    for key in ("repo_commit", "model_id", "tool_manifest_digest", "trace_id", "recording_mode",
                "actions", "capability_decisions", "verifier_results", "budget_ledger"):
        r = rng.random()
        if r < 0.12:
            rec.pop(key, None)
        elif r < 0.18 and key in ("repo_commit", "model_id", "tool_manifest_digest"):
            rec[key] = ""
    if rng.random() < 0.5:
        rec["actions"] = [_action(rng, i) for i in range(rng.choice((0, 1, 2, 3, 5, 7, 11, 13, 30)))]
    if rng.random() < 0.4:
        rec["capability_decisions"] = [
            {"capability": "fs", "subject": "agent", "resource": "r",
             "decision": rng.choice(("allow", "deny", "ask_user", "dry_run"))}
            for _ in range(rng.choice((0, 1, 2, 3)))
        ]
    if rng.random() < 0.5:
        rec["verifier_results"] = [_verifier(rng) for _ in range(rng.choice((0, 1, 2, 3, 4)))]
    if rng.random() < 0.3:
        rec["recording_mode"] = rng.choice(("full", "delta", "validation"))
    if rng.random() < 0.25:
        rec["_dpo_pair_id"] = rng.choice(_DPO_VALUES)
    if rng.random() < 0.1:
        rec["extra"] = {"_dpo_pair_id": "nested-does-not-count", "task": "t"}
    if rng.random() < 0.05:
        rec["objective_score"] = rng.random()
    return rec
