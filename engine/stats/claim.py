"""`audit-claim`: is "A beats B" real, or an artefact of truncated generations? (SPEC §7)

Verdicts, decided in this order (alpha = the significance level, 0.05 by default):
- `insufficient-pairs`: fewer than `min_pairs` items are scored in both logs.
- `confounded-by-truncation`: the naive paired test and the test on items truncated in neither
  arm disagree, and truncation is lopsided. When the naive test is significant, "agree" means the
  untruncated test is significant in the same direction (a significant reversal is a
  disagreement), and lopsided means the losing arm has more truncated wrong answers or the McNemar
  test on the truncation flags is significant. When only the untruncated test is significant,
  the truncation test must be significant.
- `significant`: the naive exact McNemar p < alpha (and the above does not apply).
- `no-evidence-of-improvement`: otherwise.
Every finding carries the numbers it rests on, so the verdict can be checked by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from engine.stats.evallog import EvalLog
from engine.stats.mcnemar import exact_p
from engine.stats.paired import PairedConfig, PairedResult, Pairing, compare, pair_logs, paired_json
from engine.stats.truncation import (
    DEFAULT_MARGIN,
    Tokenizer,
    TruncationReport,
    classify,
    resolve_max_new_tokens,
)

Verdict = Literal["no-evidence-of-improvement", "significant", "confounded-by-truncation", "insufficient-pairs"]


@dataclass(frozen=True)
class AuditConfig:
    paired: PairedConfig = field(default_factory=PairedConfig)
    alpha: float = 0.05
    min_pairs: int = 20
    max_new_tokens: int | None = None
    margin: int = DEFAULT_MARGIN


@dataclass(frozen=True)
class Finding:
    code: str
    message: str
    numbers: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "numbers": self.numbers}


@dataclass(frozen=True)
class AuditReport:
    verdict: Verdict
    findings: tuple[Finding, ...]
    pairing: Pairing
    naive: PairedResult
    untruncated: PairedResult
    trunc_a: TruncationReport
    trunc_b: TruncationReport
    trunc_flags_a: npt.NDArray[np.bool_]
    trunc_flags_b: npt.NDArray[np.bool_]
    trunc_b_count: int
    trunc_c_count: int
    trunc_p: float
    config: AuditConfig
    json_paired: dict[str, Any]


def _aligned(report: TruncationReport, ids: tuple[str, ...]) -> npt.NDArray[np.bool_]:
    flags = dict(zip(report.ids, report.truncated, strict=True))
    return np.fromiter((flags.get(i, False) for i in ids), dtype=bool, count=len(ids))


def _pct(x: float) -> str:
    return f"{x:.1%}"


def _p(x: float) -> str:
    return f"{x:.4g}"


def audit_claim(log_a: EvalLog, log_b: EvalLog, config: AuditConfig | None = None,
                tokenizer: Tokenizer | None = None) -> AuditReport:
    cfg = config or AuditConfig()
    pairing = pair_logs(log_a, log_b)
    naive = compare(pairing.a, pairing.b, cfg.paired)
    cap_a, src_a = resolve_max_new_tokens(cfg.max_new_tokens, log_a)
    cap_b, src_b = resolve_max_new_tokens(cfg.max_new_tokens, log_b)
    trunc_a = classify(log_a, cap_a, src_a, cfg.margin, tokenizer)
    trunc_b = classify(log_b, cap_b, src_b, cfg.margin, tokenizer)
    ta, tb = _aligned(trunc_a, pairing.ids), _aligned(trunc_b, pairing.ids)
    bt, ct = int(np.count_nonzero(ta & ~tb)), int(np.count_nonzero(~ta & tb))
    trunc_p = exact_p(bt, ct)
    clean = pairing.subset(~ta & ~tb)
    untrunc = compare(clean.a, clean.b, replace(cfg.paired, bootstrap=0))
    findings, verdict = _judge(pairing, naive, untrunc, trunc_a, trunc_b, ta, tb, bt, ct, trunc_p, cfg)
    return AuditReport(verdict, tuple(findings), pairing, naive, untrunc, trunc_a, trunc_b, ta, tb, bt, ct,
                       trunc_p, cfg, paired_json(naive, pairing, log_a, log_b))


def _judge(pairing: Pairing, naive: PairedResult, untrunc: PairedResult, trunc_a: TruncationReport,
           trunc_b: TruncationReport, ta: npt.NDArray[np.bool_], tb: npt.NDArray[np.bool_], bt: int, ct: int,
           trunc_p: float, cfg: AuditConfig) -> tuple[list[Finding], Verdict]:
    alpha = cfg.alpha
    f: list[Finding] = []
    n_ta, n_tb = int(ta.sum()), int(tb.sum())
    boot = naive.bootstrap
    ci = f", bootstrap {cfg.paired.conf:.0%} CI of delta [{boot.ci_lo:+.3f}, {boot.ci_hi:+.3f}]" if boot else ""
    f.append(Finding("paired-test", (
        f"On {naive.n} paired items A scores {_pct(naive.acc_a)} and B {_pct(naive.acc_b)} "
        f"(delta {naive.delta:+.1%}); A-only right b={naive.b}, B-only right c={naive.c}, "
        f"exact McNemar p={_p(naive.p_value)}{ci}."),
        {"n": naive.n, "acc_a": naive.acc_a, "acc_b": naive.acc_b, "delta": naive.delta, "b": naive.b,
         "c": naive.c, "p_value": naive.p_value,
         "bootstrap_ci": [boot.ci_lo, boot.ci_hi] if boot else None}))
    for arm, only in (("A", pairing.only_in_a), ("B", pairing.only_in_b)):
        if only:
            f.append(Finding(f"only-in-{arm.lower()}", (
                f"{len(only)} item id(s) appear only in {arm} and were left out (e.g. {', '.join(only[:3])})."),
                {"count": len(only), "ids": list(only[:10])}))
    for arm, excl in (("A", pairing.excluded_a), ("B", pairing.excluded_b)):
        if excl:
            parts = ", ".join(f"{k.replace('_', ' ')}: {len(v)}" for k, v in sorted(excl.items()))
            f.append(Finding(f"excluded-{arm.lower()}", (
                f"{sum(len(v) for v in excl.values())} item(s) of {arm} were excluded ({parts}); they count "
                "as neither right nor wrong."), {k: len(v) for k, v in sorted(excl.items())}))
    for note in pairing.notes:
        f.append(Finding("ids", note, {}))
    mode = trunc_a.token_count_mode
    f.append(Finding("truncation-rates", (
        f"Truncated wrong answers among the paired items: A {n_ta} ({_pct(n_ta / naive.n if naive.n else 0)}), "
        f"B {n_tb} ({_pct(n_tb / naive.n if naive.n else 0)}); cap {trunc_a.max_new_tokens}/{trunc_b.max_new_tokens} "
        f"tokens, margin {cfg.margin}, counted as {mode}."),
        {"truncated_a": n_ta, "truncated_b": n_tb, "n": naive.n, "max_new_tokens_a": trunc_a.max_new_tokens,
         "max_new_tokens_b": trunc_b.max_new_tokens, "margin": cfg.margin, "token_count_mode": mode}))
    more = "A" if bt > ct else "B" if ct > bt else None
    f.append(Finding("truncation-test", (
        f"Truncated only in A: {bt}, only in B: {ct}; exact McNemar p={_p(trunc_p)} "
        + (f"({more} is truncated more often)." if more and trunc_p < alpha else
           "(no significant difference in truncation).")),
        {"b": bt, "c": ct, "p_value": trunc_p}))
    f.append(Finding("untruncated-test", (
        f"On the {untrunc.n} items truncated in neither arm: A {_pct(untrunc.acc_a)}, B {_pct(untrunc.acc_b)} "
        f"(delta {untrunc.delta:+.1%}), b={untrunc.b}, c={untrunc.c}, exact McNemar p={_p(untrunc.p_value)}."),
        {"n": untrunc.n, "acc_a": untrunc.acc_a, "acc_b": untrunc.acc_b, "delta": untrunc.delta,
         "b": untrunc.b, "c": untrunc.c, "p_value": untrunc.p_value}))
    if mode == "char/2":
        f.append(Finding("token-count-mode", (
            "Token counts are characters/2, an estimate: pass --tokenizer for exact counts."),
            {"token_count_mode": mode}))

    naive_sig, clean_sig = naive.p_value < alpha, untrunc.p_value < alpha
    same_direction = (naive.delta > 0 and untrunc.delta > 0) or (naive.delta < 0 and untrunc.delta < 0)
    clean_agrees = clean_sig and same_direction
    loser_more = (naive.delta > 0 and n_tb > n_ta) or (naive.delta < 0 and n_ta > n_tb)
    trunc_sig = trunc_p < alpha
    verdict: Verdict
    if naive.n < cfg.min_pairs:
        verdict = "insufficient-pairs"
        why = f"only {naive.n} paired items (< {cfg.min_pairs} required); no conclusion either way."
    elif naive_sig and not clean_agrees and (loser_more or trunc_sig):
        verdict = "confounded-by-truncation"
        loser = "B" if naive.delta > 0 else "A"
        flip = " and points the other way" if clean_sig and not same_direction else ""
        why = (f"the difference is significant only because of truncated answers: delta {naive.delta:+.1%} with "
               f"p={_p(naive.p_value)} on all {naive.n} items, but delta {untrunc.delta:+.1%} with "
               f"p={_p(untrunc.p_value)} on the {untrunc.n} untruncated ones{flip}; truncated wrong answers: "
               f"losing arm {loser} {n_tb if loser == 'B' else n_ta}, other arm {n_ta if loser == 'B' else n_tb} "
               f"(truncation p={_p(trunc_p)}).")
    elif not naive_sig and clean_sig and trunc_sig:
        verdict = "confounded-by-truncation"
        why = (f"no significant difference overall (p={_p(naive.p_value)}), but one appears on the "
               f"{untrunc.n} untruncated items (p={_p(untrunc.p_value)}) and truncation is lopsided "
               f"(p={_p(trunc_p)}): truncation is masking a difference.")
    elif naive_sig:
        verdict = "significant"
        better = "A" if naive.delta > 0 else "B"
        why = (f"{better} is better by {abs(naive.delta):.1%} (p={_p(naive.p_value)} < {alpha}); "
               + (f"the difference holds on the {untrunc.n} untruncated items (p={_p(untrunc.p_value)})."
                  if clean_agrees else
                  f"on the {untrunc.n} untruncated items p={_p(untrunc.p_value)}, but truncation does not favour "
                  f"the better arm (truncated wrong answers A {n_ta}, B {n_tb}; truncation p={_p(trunc_p)})."))
    else:
        verdict = "no-evidence-of-improvement"
        why = (f"p={_p(naive.p_value)} >= {alpha}: the {naive.b} vs {naive.c} discordant items are what chance "
               f"alone gives often.")
    f.append(Finding("verdict", f"{verdict}: {why}",
                     {"alpha": alpha, "naive_p": naive.p_value, "untruncated_p": untrunc.p_value,
                      "truncation_p": trunc_p, "n": naive.n, "min_pairs": cfg.min_pairs}))
    return f, verdict


def audit_json(report: AuditReport) -> dict[str, Any]:
    u = report.untruncated
    cfg = report.config
    return {
        "verdict": report.verdict,
        "findings": [x.as_dict() for x in report.findings],
        "paired": report.json_paired,
        "truncation": {
            "a": report.trunc_a.as_dict(items=False),
            "b": report.trunc_b.as_dict(items=False),
            "paired_truncated_a": int(report.trunc_flags_a.sum()),
            "paired_truncated_b": int(report.trunc_flags_b.sum()),
            "mcnemar": {"b": report.trunc_b_count, "c": report.trunc_c_count,
                        "p_value": round(report.trunc_p, 4), "p_value_full": report.trunc_p},
        },
        "untruncated": {"n": u.n, "b": u.b, "c": u.c, "acc_a": round(u.acc_a, 6), "acc_b": round(u.acc_b, 6),
                        "delta": round(u.delta, 6), "p_value": round(u.p_value, 4), "p_value_full": u.p_value},
        "config": {"alpha": cfg.alpha, "min_pairs": cfg.min_pairs, "margin": cfg.margin,
                   "max_new_tokens": cfg.max_new_tokens, "test": cfg.paired.test, "conf": cfg.paired.conf,
                   "bootstrap": cfg.paired.bootstrap, "seed": cfg.paired.seed},
    }
