"""Slow, line-by-line reference of the quality gate (reference §3.4) over parsed dicts."""

from __future__ import annotations

import math
import unicodedata
from typing import Any

from engine.gate import INJECTION_FRAGMENTS, GateConfig


def _issue(level: str, check: str, message: str, value: float | int, threshold: float | int) -> dict[str, Any]:
    return {"level": level, "check": check, "message": message, "value": value, "threshold": threshold}


def sft_issues(records: list[dict[str, Any]], cfg: GateConfig) -> list[dict[str, Any]]:
    n = len(records)
    issues = []
    if n < cfg.sft_min_records:
        issues.append(_issue("error", "sft_min_records", f"only {n} SFT records, need ≥{cfg.sft_min_records}",
                             n, cfg.sft_min_records))
    if n == 0:
        return issues
    frac = sum(1 for r in records if r.get("output_type") == "repair_patch") / n
    if frac < cfg.min_repair_patch_frac:
        issues.append(_issue("warning", "sft_repair_patch_fraction",
                             f"repair_patch fraction {frac:.1%} below minimum {cfg.min_repair_patch_frac:.1%}",
                             round(frac, 4), cfg.min_repair_patch_frac))
    if frac > cfg.max_repair_patch_frac:
        issues.append(_issue("warning", "sft_repair_patch_fraction",
                             f"repair_patch fraction {frac:.1%} above maximum {cfg.max_repair_patch_frac:.1%}",
                             round(frac, 4), cfg.max_repair_patch_frac))
    short = 0
    for r in records:
        turns = [m for m in r.get("messages", []) if m.get("role") == "assistant"]
        if turns and len(turns[-1].get("content") or "") < cfg.min_assistant_chars:
            short += 1
    if short:
        issues.append(_issue("warning", "sft_short_assistant",
                             f"{short}/{n} records have an assistant response < {cfg.min_assistant_chars} "
                             "chars (possible truncation)", short, 0))
    return issues


def dpo_issues(records: list[dict[str, Any]], cfg: GateConfig) -> list[dict[str, Any]]:
    n = len(records)
    issues = []
    if n < cfg.dpo_min_records:
        issues.append(_issue("warning", "dpo_min_records", f"only {n} DPO pairs, recommended ≥{cfg.dpo_min_records}",
                             n, cfg.dpo_min_records))
    if n == 0:
        return issues
    identical = sum(1 for r in records if r["chosen"].strip() == r["rejected"].strip())
    short = sum(1 for r in records if len(r["chosen"]) < cfg.min_chosen_chars)
    extreme = 0
    for r in records:
        lc, lr = len(r["chosen"]), len(r["rejected"])
        if lr > 0 and lc / lr > cfg.max_length_ratio:
            extreme += 1
        elif lc > 0 and lr / lc > cfg.max_length_ratio:
            extreme += 1
    if identical:
        issues.append(_issue("error", "dpo_identical_pairs",
                             f"{identical} DPO pairs have identical chosen/rejected (no learning signal)", identical, 0))
    if short:
        issues.append(_issue("warning", "dpo_short_chosen",
                             f"{short}/{n} pairs have chosen < {cfg.min_chosen_chars} chars", short, 0))
    if extreme:
        issues.append(_issue("warning", "dpo_extreme_length_ratio",
                             f"{extreme}/{n} pairs have a chosen/rejected length ratio > {cfg.max_length_ratio}x",
                             extreme, 0))
    return issues


def rollout_issues(records: list[dict[str, Any]], where: list[str]) -> list[dict[str, Any]]:
    issues = []
    bad: list[int] = []
    for i, rec in enumerate(records):
        score = rec.get("objective_score")
        if score is None:
            continue
        try:
            value = float(score)
        except (TypeError, ValueError, OverflowError):
            value = math.nan
        if math.isnan(value) or math.isinf(value) or value < 0.0 or value > 1.0:
            bad.append(i)
    if bad:
        shown = ", ".join(where[i] for i in bad[:10])
        more = "..." if len(bad) > 10 else ""
        issues.append(_issue("error", "anomalous_objective_score",
                             f"{len(bad)} record(s) have objective_score outside [0.0, 1.0] or NaN/Inf "
                             f"(records: {shown}{more})", len(bad), 0))
    hits: list[str] = []
    for rec in records:
        for name in ("task", "final_answer"):
            text = rec.get(name)
            if isinstance(text, str):
                normalised = unicodedata.normalize("NFKC", text).lower()
                for fragment in INJECTION_FRAGMENTS:
                    if fragment in normalised:
                        hits.append(fragment)
                        break
    if hits:
        issues.append(_issue("error", "injection_signal",
                             f"{len(hits)} text(s) contain prompt-injection signal fragments; first hit: {hits[0]!r}",
                             len(hits), 0))
    return issues
