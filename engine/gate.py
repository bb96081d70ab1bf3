"""Training-data quality gate (reference §3.4), vectorized.

Inputs are loaded records of kind `sft`, `dpo` and `rollout` (others are ignored). Checks:
- SFT (only when there are SFT records): too few records (error); repair_patch fraction outside
  [5 %, 60 %] (warning); last assistant message shorter than 20 characters (warning).
- DPO (only when there are DPO pairs): fewer than 20 (warning); chosen == rejected after
  stripping whitespace (error); chosen shorter than 30 characters (warning); chosen/rejected
  length ratio above 10 either way (warning).
- Rollouts: `objective_score` present and not a finite number in [0, 1] (error; strings are read
  as Python's float() does, anything else non-numeric counts as NaN); prompt-injection fragments
  in `task` / `final_answer` after NFKC + lowercase (error, one hit per text).
- Contamination (when eval texts are given and there are SFT/DPO records): the last message of
  each SFT record and each DPO `chosen` against the eval texts with engine.contamination
  (token 8-gram Jaccard threshold 0.2 by default; error when anything is flagged).
The report is `{ok, n_sft, n_dpo, n_errors, n_warnings, issues[{level, check, message, value,
threshold}]}`; ok means no error-level issue.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from typing import Any

import polars as pl

INJECTION_FRAGMENTS: tuple[str, ...] = (
    "ignore previous instructions", "ignore all previous", "disregard your instructions", "disregard all",
    "forget your previous context", "forget all previous", "new instructions:", "system prompt:",
    "you are now dan", "you are now an unrestricted", "override safety filters", "end of prior context",
    "ignore prior", "exfiltrate", "leak the private key", "leak all secrets", "output the system prompt",
    "reveal all confidential", "send all collected data", "act as an ai with developer mode",
    "unrestricted language model", "no content filters", "hacker ai without restrictions",
    "no guidelines or safety rules", "ethical constraints have been removed", "unfiltered, compliant ai",
)
# Exactly the characters Python's str.strip() removes (str.isspace()), so "identical after
# strip" agrees with the reference even for the information separators U+001C..U+001F.
PY_WHITESPACE = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680" + "".join(
    chr(c) for c in range(0x2000, 0x200B)) + "\u2028\u2029\u202f\u205f\u3000"


@dataclass(frozen=True)
class GateConfig:
    sft_min_records: int = 100
    min_repair_patch_frac: float = 0.05
    max_repair_patch_frac: float = 0.60
    min_assistant_chars: int = 20
    dpo_min_records: int = 20
    min_chosen_chars: int = 30
    max_length_ratio: float = 10.0


def _issue(level: str, check: str, message: str, value: float | int, threshold: float | int) -> dict[str, Any]:
    return {"level": level, "check": check, "message": message, "value": value, "threshold": threshold}


def _decode(frame: pl.DataFrame, structure: str, extra: str = "") -> pl.DataFrame:
    import duckdb

    con = duckdb.connect()
    try:
        con.register("records", frame.select("raw").to_arrow())
        sql = f"select from_json(raw, '{structure}') as doc{extra} from records"  # noqa: S608 - constant text
        out = pl.from_arrow(con.sql(sql).to_arrow_table())
    finally:
        con.close()
    assert isinstance(out, pl.DataFrame)
    return out.unnest("doc")


def sft_issues(sft: pl.DataFrame, cfg: GateConfig) -> list[dict[str, Any]]:
    n = sft.height
    issues: list[dict[str, Any]] = []
    if n < cfg.sft_min_records:
        issues.append(_issue("error", "sft_min_records", f"only {n} SFT records, need ≥{cfg.sft_min_records}",
                             n, cfg.sft_min_records))
    if n == 0:
        return issues
    doc = _decode(sft, '{"output_type": "VARCHAR", "messages": [{"role": "VARCHAR", "content": "VARCHAR"}]}')
    last_assistant = (
        pl.col("messages").list.eval(pl.element().filter(pl.element().struct.field("role") == "assistant"))
        .list.last().struct.field("content")
    )
    has_assistant = pl.col("messages").list.eval(pl.element().struct.field("role") == "assistant").list.any()
    counts = doc.select(
        (pl.col("output_type") == "repair_patch").fill_null(False).sum().alias("repair"),
        (has_assistant.fill_null(False) & (last_assistant.fill_null("").str.len_chars() < cfg.min_assistant_chars)
         ).fill_null(False).sum().alias("short"),
    ).row(0, named=True)
    frac = counts["repair"] / n
    if frac < cfg.min_repair_patch_frac:
        issues.append(_issue("warning", "sft_repair_patch_fraction",
                             f"repair_patch fraction {frac:.1%} below minimum {cfg.min_repair_patch_frac:.1%}",
                             round(frac, 4), cfg.min_repair_patch_frac))
    if frac > cfg.max_repair_patch_frac:
        issues.append(_issue("warning", "sft_repair_patch_fraction",
                             f"repair_patch fraction {frac:.1%} above maximum {cfg.max_repair_patch_frac:.1%}",
                             round(frac, 4), cfg.max_repair_patch_frac))
    if counts["short"] > 0:
        issues.append(_issue("warning", "sft_short_assistant",
                             f"{counts['short']}/{n} records have an assistant response < {cfg.min_assistant_chars} "
                             "chars (possible truncation)", counts["short"], 0))
    return issues


def dpo_issues(dpo: pl.DataFrame, cfg: GateConfig) -> list[dict[str, Any]]:
    n = dpo.height
    issues: list[dict[str, Any]] = []
    if n < cfg.dpo_min_records:
        issues.append(_issue("warning", "dpo_min_records", f"only {n} DPO pairs, recommended ≥{cfg.dpo_min_records}",
                             n, cfg.dpo_min_records))
    if n == 0:
        return issues
    doc = _decode(dpo, '{"chosen": "VARCHAR", "rejected": "VARCHAR"}')
    chosen, rejected = pl.col("chosen").fill_null(""), pl.col("rejected").fill_null("")
    lc, lr = chosen.str.len_chars().cast(pl.Float64), rejected.str.len_chars().cast(pl.Float64)
    extreme = ((lr > 0) & (lc / lr > cfg.max_length_ratio)) | ((lc > 0) & (lr / lc > cfg.max_length_ratio))
    counts = doc.select(
        (chosen.str.strip_chars(PY_WHITESPACE) == rejected.str.strip_chars(PY_WHITESPACE)).sum().alias("identical"),
        (lc < cfg.min_chosen_chars).sum().alias("short"),
        extreme.fill_null(False).sum().alias("extreme"),
    ).row(0, named=True)
    if counts["identical"]:
        issues.append(_issue("error", "dpo_identical_pairs",
                             f"{counts['identical']} DPO pairs have identical chosen/rejected (no learning signal)",
                             counts["identical"], 0))
    if counts["short"]:
        issues.append(_issue("warning", "dpo_short_chosen",
                             f"{counts['short']}/{n} pairs have chosen < {cfg.min_chosen_chars} chars",
                             counts["short"], 0))
    if counts["extreme"]:
        issues.append(_issue("warning", "dpo_extreme_length_ratio",
                             f"{counts['extreme']}/{n} pairs have a chosen/rejected length ratio > "
                             f"{cfg.max_length_ratio}x", counts["extreme"], 0))
    return issues


def _python_float(text: str) -> float:
    try:
        return float(text)
    except (ValueError, OverflowError):
        return math.nan


_ROLLOUT_SQL = """,
    json_type(raw, '$.objective_score') as score_type,
    json_extract_string(raw, '$.objective_score') as score_text,
    case when json_type(raw, '$.task') = 'VARCHAR' then json_extract_string(raw, '$.task') end as task_text,
    case when json_type(raw, '$.final_answer') = 'VARCHAR' then json_extract_string(raw, '$.final_answer') end
        as answer_text"""


def rollout_issues(rollouts: pl.DataFrame) -> list[dict[str, Any]]:
    if rollouts.height == 0:
        return []
    doc = _decode(rollouts, '{"rollout_id": "VARCHAR"}', _ROLLOUT_SQL).with_columns(
        rollouts["source"], rollouts["line"])
    issues: list[dict[str, Any]] = []
    numeric = doc["score_type"].is_in(["DOUBLE", "BIGINT", "UBIGINT"])
    value = pl.select(
        pl.when(numeric).then(doc["score_text"].cast(pl.Float64, strict=False))
        .when(doc["score_type"] == "BOOLEAN").then((doc["score_text"] == "true").cast(pl.Float64))
        .otherwise(None)
    ).to_series()
    strings = doc["score_type"] == "VARCHAR"
    if strings.any():  # Python float() syntax (underscores, "inf", spaces): only these rows
        texts = doc.filter(strings)["score_text"].to_list()
        value = value.scatter(strings.arg_true(), [_python_float(t) for t in texts])
    present = doc["score_type"].is_not_null() & (doc["score_type"] != "NULL")
    bad = present & (value.is_null() | value.is_nan() | value.is_infinite() | (value < 0.0) | (value > 1.0)).fill_null(True)
    n_bad = int(bad.sum())
    if n_bad:
        where = [f"{s}:{ln}" for s, ln in doc.filter(bad).select("source", "line").head(10).iter_rows()]
        more = "..." if n_bad > 10 else ""
        issues.append(_issue("error", "anomalous_objective_score",
                             f"{n_bad} record(s) have objective_score outside [0.0, 1.0] or NaN/Inf "
                             f"(records: {', '.join(where)}{more})", n_bad, 0))
    candidates = pl.concat([
        doc.select(pl.col("task_text").alias("t"), pl.int_range(pl.len()).alias("i"), pl.lit(0).alias("k")),
        doc.select(pl.col("answer_text").alias("t"), pl.int_range(pl.len()).alias("i"), pl.lit(1).alias("k")),
    ]).filter(pl.col("t").is_not_null()).sort("i", "k")
    hits = candidates.filter(pl.col("t").str.normalize("NFKC").str.to_lowercase().str.contains_any(list(INJECTION_FRAGMENTS)))
    if hits.height:
        first = unicodedata.normalize("NFKC", hits["t"][0]).lower()
        fragment = next((f for f in INJECTION_FRAGMENTS if f in first), INJECTION_FRAGMENTS[0])
        issues.append(_issue("error", "injection_signal",
                             f"{hits.height} text(s) contain prompt-injection signal fragments; first hit: {fragment!r}",
                             hits.height, 0))
    return issues


EVAL_TEXT_FIELDS: tuple[str, ...] = ("text", "question", "prompt", "input", "problem")


def eval_texts_of(records: pl.DataFrame, field: str | None = None) -> pl.Series:
    """The text of each eval item: `field`, else the first string of EVAL_TEXT_FIELDS present."""
    fields = (field,) if field else EVAL_TEXT_FIELDS
    doc = _decode(records, "{" + ", ".join(f'"{f}": "VARCHAR"' for f in fields) + "}")
    return doc.select(pl.coalesce(*fields).alias("text")).to_series().drop_nulls()


def _training_outputs(sft: pl.DataFrame, dpo: pl.DataFrame) -> pl.Series:
    """Last message of each SFT record and each DPO chosen (reference §3.4 contamination input)."""
    parts = []
    if sft.height:
        doc = _decode(sft, '{"messages": [{"content": "VARCHAR"}]}')
        parts.append(doc.filter(pl.col("messages").list.len() > 0).select(
            pl.col("messages").list.last().struct.field("content").fill_null("").alias("text")).to_series())
    if dpo.height:
        parts.append(_decode(dpo, '{"chosen": "VARCHAR"}').select(pl.col("chosen").fill_null("").alias("text")).to_series())
    return pl.concat(parts) if parts else pl.Series("text", [], dtype=pl.String)


def contamination_issues(sft: pl.DataFrame, dpo: pl.DataFrame, eval_texts: pl.Series,
                         threshold: float) -> list[dict[str, Any]]:
    from engine.contamination.api import detect_contamination
    from engine.contamination.config import ContaminationConfig

    outputs = _training_outputs(sft, dpo)
    result = detect_contamination(outputs, eval_texts, config=ContaminationConfig(threshold=threshold))
    n_flagged, n_training = result.summary["n_flagged"], result.summary["n_training"]
    if not n_flagged:
        return []
    return [_issue("error", "contamination", f"{n_flagged}/{n_training} records flagged for eval-set contamination "
                   f"(threshold={threshold})", n_flagged, 0)]


def run_gate(records: pl.DataFrame, cfg: GateConfig | None = None, *, eval_texts: pl.Series | None = None,
             contamination_threshold: float = 0.2) -> dict[str, Any]:
    """Gate report for a loaded records frame (columns source, line, kind, raw)."""
    cfg = cfg or GateConfig()
    sft = records.filter(pl.col("kind") == "sft")
    dpo = records.filter(pl.col("kind") == "dpo")
    rollouts = records.filter(pl.col("kind") == "rollout")
    issues: list[dict[str, Any]] = []
    if sft.height:
        issues += sft_issues(sft, cfg)
    if dpo.height:
        issues += dpo_issues(dpo, cfg)
    issues += rollout_issues(rollouts)
    if eval_texts is not None and eval_texts.len() and (sft.height or dpo.height):
        issues += contamination_issues(sft, dpo, eval_texts, contamination_threshold)
    n_errors = sum(1 for i in issues if i["level"] == "error")
    return {
        "ok": n_errors == 0, "n_sft": sft.height, "n_dpo": dpo.height, "n_rollouts": rollouts.height,
        "n_errors": n_errors, "n_warnings": len(issues) - n_errors, "issues": issues,
    }


def gate_paths(paths: list[str], cfg: GateConfig | None = None, *, kind: str | None = None,
               eval_paths: list[str] | None = None, eval_field: str | None = None,
               contamination_threshold: float = 0.2) -> dict[str, Any]:
    from engine.io import load_records

    loaded = load_records(paths, kind=kind)
    texts = eval_texts_of(load_records(eval_paths).records, eval_field) if eval_paths else None
    report = run_gate(loaded.records, cfg, eval_texts=texts, contamination_threshold=contamination_threshold)
    report["quarantined_lines"] = loaded.quarantine.height
    return report
