"""Gates applied before anything is written: failing rows go to the quarantine with a reason.

- structural validity of the output rows (reference §3.6) as Polars expressions per config;
- the quality gate's per-record checks (prompt-injection fragments in task/answer, reference §3.4),
  taken from `engine.gate` when it is available;
- contamination of a branch's task or answer against eval items (`engine.contamination` when available,
  else an exact token 8-gram Jaccard / containment join);
- admission (an AEP run's score below --min-admission).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

INJECTION_FRAGMENTS = (
    "ignore previous instructions", "ignore all previous", "disregard your instructions", "disregard all",
    "forget your previous context", "forget all previous", "new instructions:", "system prompt:",
    "you are now dan", "you are now an unrestricted", "override safety filters", "end of prior context",
    "ignore prior", "exfiltrate", "leak the private key", "leak all secrets", "output the system prompt",
    "reveal all confidential", "send all collected data", "act as an ai with developer mode",
    "unrestricted language model", "no content filters", "hacker ai without restrictions",
    "no guidelines or safety rules", "ethical constraints have been removed", "unfiltered, compliant ai",
)
ZERO_WIDTH = ("\u200b", "\u200c", "\u200d", "\u00ad", "\u2060", "\ufeff", "\u2061", "\u2062", "\u2063", "\u2064")
NGRAM = 8


def _blank(e: pl.Expr) -> pl.Expr:
    return e.is_null() | (e.str.strip_chars() == "")


def _first_role(col: str) -> pl.Expr:
    return pl.col(col).list.first().struct.field("role")


def _last(col: str, field: str) -> pl.Expr:
    return pl.col(col).list.last().struct.field(field)


def _first_reason(*checks: tuple[pl.Expr, str]) -> pl.Expr:
    expr = pl.lit(None, dtype=pl.String)
    for cond, reason in reversed(checks):
        expr = pl.when(cond.fill_null(True)).then(pl.lit(reason)).otherwise(expr)
    return expr


def sft_invalid_reason() -> pl.Expr:
    return _first_reason(
        (pl.col("messages").list.len() == 0, "invalid: messages empty"),
        (_first_role("messages") != "user", "invalid: first message not from user"),
        (_last("messages", "role") != "assistant", "invalid: last message not from assistant"),
        (_blank(_last("messages", "content")), "invalid: last assistant message blank"),
    )


def dpo_invalid_reason() -> pl.Expr:
    return _first_reason(
        (pl.col("prompt").list.len() == 0, "invalid: prompt empty"),
        (_first_role("prompt") != "user", "invalid: first message not from user"),
        (_blank(pl.col("chosen_text")), "invalid: chosen blank"),
        (_blank(pl.col("rejected_text")), "invalid: rejected blank"),
        (pl.col("chosen_text").str.strip_chars() == pl.col("rejected_text").str.strip_chars(),
         "invalid: chosen identical to rejected"),
    )


def ppo_invalid_reason() -> pl.Expr:
    return _first_reason(
        (pl.col("prompt").list.len() == 0, "invalid: prompt empty"),
        (_first_role("prompt") != "user", "invalid: first message not from user"),
        (_blank(_last("prompt", "content")), "invalid: prompt blank"),
        (~pl.col("reward").is_finite() | (pl.col("reward") < 0) | (pl.col("reward") > 1),
         "invalid: reward outside [0, 1]"),
    )


def normalized(e: pl.Expr) -> pl.Expr:
    """Reference §3.4/§3.5 normalisation: NFKC, zero-width characters as spaces, collapsed whitespace."""
    e = e.str.normalize("NFKC")
    for ch in ZERO_WIDTH:
        e = e.str.replace_all(ch, " ", literal=True)
    return e.str.replace_all(r"\s+", " ").str.strip_chars()


def injection_flags(texts: pl.Series) -> pl.Series:
    """injection_hit per value. A pure-ASCII value is its own NFKC form, and lower-casing it is ASCII
    lower-casing, so with lower-case ASCII fragments an ASCII case-insensitive search over the raw value gives
    the same answer without normalising; only the other values (each distinct one once) take the full path."""
    frags = list(_fragments())
    if not all(f.isascii() and f == f.lower() for f in frags):
        return _injection_flags_unique(texts)
    hit = texts.str.contains_any(frags, ascii_case_insensitive=True).fill_null(False)
    other = (texts.str.len_bytes() != texts.str.len_chars()).fill_null(False)  # not pure ASCII
    if other.any():
        idx = other.arg_true()
        hit = hit.scatter(idx, _injection_flags_unique(texts.gather(idx)))
    return hit


def _injection_flags_unique(texts: pl.Series) -> pl.Series:
    """injection_hit per value, evaluated once per distinct value (tasks repeat across branches)."""
    uniq = texts.unique().drop_nulls()
    hit = pl.DataFrame({"k": uniq}).with_columns(injection_hit(pl.col("k")).alias("hit"))
    return (texts.alias("k").to_frame().join(hit, on="k", how="left", maintain_order="left")
            .get_column("hit").fill_null(False))


def _fragments() -> tuple[str, ...]:
    """The quality gate's list (engine.gate) when present: one source of truth for both commands."""
    try:
        from engine.gate import INJECTION_FRAGMENTS as shared
    except ImportError:
        return INJECTION_FRAGMENTS
    return tuple(shared)


def injection_hit(text: pl.Expr) -> pl.Expr:
    """True when the NFKC-lower-cased text contains one of the injection fragments (reference §3.4)."""
    low = text.str.normalize("NFKC").str.to_lowercase()
    return low.str.contains_any(list(_fragments())).fill_null(False)


@dataclass(frozen=True)
class ContaminationResult:
    """Per training text: best eval id, token Jaccard, containment, flagged."""

    scores: pl.DataFrame  # tid, best_eval, token_jaccard, containment, flagged


def _token_ngrams(texts: pl.DataFrame, id_col: str) -> pl.DataFrame:
    """Distinct hashed 8-grams of `\\w+` tokens of the normalised lower-cased text: id, gram."""
    toks = texts.select(
        pl.col(id_col).alias("id"),
        normalized(pl.col("text")).str.to_lowercase().str.extract_all(r"\w+").alias("tok"),
    ).explode("tok").drop_nulls("tok")
    toks = toks.with_columns(pl.col("tok").hash(seed=7).alias("h"))
    grams = pl.col("h")
    for i in range(1, NGRAM):
        # combine the next i-th token hash (a simple order-sensitive mix; collisions are 2^-64 events)
        grams = grams * 1_000_003 + pl.col("h").shift(-i).over("id")
    return (toks.with_columns(grams.alias("gram"))
            .filter(pl.int_range(pl.len()).over("id") <= pl.len().over("id") - NGRAM)
            .select("id", "gram").unique())


def contamination_scores(train: pl.DataFrame, evals: pl.DataFrame, *, threshold: float = 0.2,
                         containment_threshold: float = 0.5) -> pl.DataFrame:
    """train: tid, text; evals: eid, text → tid, best_eval, token_jaccard, char_jaccard, containment, flagged.

    Uses the shared exact detector `engine.contamination` (SPEC §6, rule `any`: token or char Jaccard of
    the original, or containment). Without it: exact token 8-gram Jaccard and containment only."""
    try:
        from engine.contamination.api import detect_contamination
        from engine.contamination.config import ContaminationConfig
    except ImportError:
        return _fallback_scores(train, evals, threshold, containment_threshold)
    res = detect_contamination(
        train.get_column("text"), evals.get_column("text"), train_ids=train.get_column("tid").cast(pl.String),
        eval_ids=evals.get_column("eid").cast(pl.String),
        config=ContaminationConfig(threshold=threshold, containment_threshold=containment_threshold))
    return res.rows.select(
        train.get_column("tid"), pl.col("best_eval_id").alias("best_eval"),
        pl.col("token_jaccard").fill_null(0.0).round(4), pl.col("char_jaccard").round(4),
        pl.col("containment").fill_null(0.0).round(4), pl.col("flagged"))


def _fallback_scores(train: pl.DataFrame, evals: pl.DataFrame, threshold: float,
                     containment_threshold: float) -> pl.DataFrame:
    tg = _token_ngrams(train.rename({"tid": "id"}).select("id", "text"), "id").rename({"id": "tid"})
    eg = _token_ngrams(evals.rename({"eid": "id"}).select("id", "text"), "id").rename({"id": "eid"})
    tn = tg.group_by("tid").agg(pl.len().alias("nt"))
    en = eg.group_by("eid").agg(pl.len().alias("ne"))
    shared = tg.join(eg, on="gram").group_by("tid", "eid").agg(pl.len().alias("shared"))
    s = (shared.join(tn, on="tid").join(en, on="eid")
         .with_columns((pl.col("shared") / (pl.col("nt") + pl.col("ne") - pl.col("shared"))).alias("jac"),
                       (pl.col("shared") / pl.col("ne")).alias("cont")))
    best = (s.sort(["tid", "jac", "cont", "eid"], descending=[False, True, True, False])
            .group_by("tid", maintain_order=True)
            .agg(pl.col("eid").first().alias("best_eval"), pl.col("jac").max().alias("token_jaccard"),
                 pl.col("cont").max().alias("containment")))
    out = train.select("tid").join(best, on="tid", how="left", maintain_order="left").with_columns(
        pl.col("token_jaccard").fill_null(0.0).round(4), pl.col("containment").fill_null(0.0).round(4))
    return out.with_columns(pl.lit(None, dtype=pl.Float64).alias("char_jaccard"),
                            ((pl.col("token_jaccard") >= threshold)
                             | (pl.col("containment") >= containment_threshold)).alias("flagged"))
