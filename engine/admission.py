"""Evidence Admission Score (SPEC §5, reference §3.3) as vectorized Polars expressions.

Pipeline, one pass per stage over the whole frame (no per-record Python):
1. `decode_evidence`: one lenient DuckDB JSON parse per record into typed columns
   (sql/admission/decode.sql), plus the truthiness of the extra `_dpo_pair_id` field.
2. `evidence_counts`: per-record counts (state-changing actions, evidenced ones, decisions,
   denies, verifiers, passes, repair verifiers) as small named `pl.Expr` builders.
3. `admission_terms`: the six dimensions, the recording-mode bonus, min(1, ·) and the optional
   policy penalties, from the policy (engine/policies/*.toml).
4. rounding and categories: scores are rounded exactly as Python's round(x, 4) (see `py_round`),
   thresholds compare the unrounded score as the reference does.

Corrections to the original (SPEC §5): aep/v0.5 is a known version; `min_score` is honoured
(a train_* record below it becomes audit_only); a record that fails structural validation is
`reject` with reason `schema_invalid`.
"""

from __future__ import annotations

import re

import numpy as np
import polars as pl

from engine.policy import DIMENSIONS, AdmissionPolicy

CATEGORIES: tuple[str, ...] = ("train_sft", "train_dpo", "train_repair", "train_router", "audit_only", "reject")
TRAIN_CATEGORIES: tuple[str, ...] = CATEGORIES[:4]

# ---------------------------------------------------------------------------------------------
# Python-compatible rounding: round(x, n) rounds the exact binary value half-to-even, which a
# naive x * 10**n rounding gets wrong whenever the product itself is rounded. Dekker's exact
# product gives the decision without extended precision.
# ---------------------------------------------------------------------------------------------

_VELTKAMP = 134217729.0  # 2**27 + 1


def _split(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = _VELTKAMP * a
    hi = t - (t - a)
    return hi, a - hi


def round_scaled(x: np.ndarray, ndigits: int) -> np.ndarray:
    """m (integer-valued float64) such that m / 10**ndigits equals Python's round(x, ndigits)."""
    x = np.asarray(x, dtype=np.float64)
    scale = 10.0**ndigits
    ax = np.abs(x)
    with np.errstate(invalid="ignore", over="ignore"):
        p = ax * scale
        ah, al = _split(ax)
        sh, sl = _split(np.full_like(ax, scale))
        err = ((ah * sh - p) + ah * sl + al * sh) + al * sl
        n = np.floor(p)
        frac = p - n
        tie = frac == 0.5
        up = (frac > 0.5) | (tie & ((err > 0) | ((err == 0) & (np.fmod(n, 2.0) == 1.0))))
        m = n + up
    return np.copysign(m, x)


def _round_values(values: np.ndarray, ndigits: int) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.where(np.isfinite(values), round_scaled(values, ndigits) / 10.0**ndigits, values)


def py_round(values: pl.Series, ndigits: int = 4) -> pl.Series:
    """Element-wise Python round(v, ndigits) of a Float64 series (nulls and non-finite kept).

    Scores take few distinct values, so only the distinct ones are rounded."""
    values = values.cast(pl.Float64)
    distinct = values.drop_nulls().unique()
    if distinct.len() == 0:
        return values
    rounded = pl.Series(_round_values(distinct.to_numpy(), ndigits), dtype=pl.Float64)
    return values.replace_strict(distinct, rounded, return_dtype=pl.Float64).alias(values.name)


def format_2f(values: pl.Series) -> pl.Series:
    """f"{v:.2f}" for non-negative finite floats, vectorized (same rounding as Python)."""
    values = values.cast(pl.Float64).fill_null(0.0)
    if values.len() == 0:
        return pl.Series(values.name, [], dtype=pl.String)
    distinct = values.unique()
    m = pl.Series("m", round_scaled(distinct.to_numpy(), 2)).cast(pl.Int64)
    text = pl.DataFrame({"m": m}).select(
        pl.format("{}.{}", pl.col("m") // 100, (pl.col("m") % 100).cast(pl.String).str.zfill(2))
    ).to_series()
    return values.replace_strict(distinct, text, return_dtype=pl.String).alias(values.name)


# ---------------------------------------------------------------------------------------------
# Decoding
# ---------------------------------------------------------------------------------------------

_LONE_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")


def _reserialise(raw: str) -> str:
    import json

    text = json.dumps(json.loads(raw), ensure_ascii=False)
    return text.encode("utf-8", "replace").decode("utf-8")


def _duckdb(sql_name: str, table: str, frame: pl.DataFrame) -> pl.DataFrame:
    import duckdb

    from engine.paths import load_sql

    con = duckdb.connect()
    try:
        con.register(table, frame.to_arrow())
        out = pl.from_arrow(con.sql(load_sql(sql_name)).to_arrow_table())
    finally:
        con.close()
    assert isinstance(out, pl.DataFrame)
    return out.sort("row_nr") if not out["row_nr"].is_sorted() else out


def _with_fixed_surrogates(frame: pl.DataFrame) -> pl.DataFrame:
    """DuckDB refuses lone UTF-16 surrogate escapes that Python's json accepts: re-serialise
    only the rows that contain surrogate escapes (U+FFFD-free '?' replacement keeps truthiness)."""
    suspects = frame.filter(pl.col("raw").str.contains(_LONE_SURROGATE.pattern))
    fixed = suspects.with_columns(
        pl.Series("raw", [_reserialise(r) for r in suspects["raw"].to_list()], dtype=pl.String)
    )
    return frame.update(fixed, on="row_nr")


def _run_duckdb(sql_name: str, table: str, frame: pl.DataFrame) -> pl.DataFrame:
    import duckdb

    try:
        return _duckdb(sql_name, table, frame)
    except duckdb.Error:
        return _duckdb(sql_name, table, _with_fixed_surrogates(frame))


def dpo_flags(raw: pl.Series) -> pl.Series:
    """Truthiness of each record's top-level `_dpo_pair_id` (False when absent)."""
    frame = pl.DataFrame({"raw": raw}).with_row_index("row_nr").with_columns(pl.col("row_nr").cast(pl.Int64))
    candidates = frame.filter(pl.col("raw").str.contains('"_dpo_pair_id"', literal=True))
    flags = pl.Series("dpo_pair", [False] * raw.len(), dtype=pl.Boolean)
    if candidates.height:
        found = _run_duckdb("admission/dpo_pair", "candidates", candidates)
        flags = flags.scatter(found["row_nr"], found["dpo_pair"])
    return flags


def decode_evidence(records: pl.DataFrame) -> pl.DataFrame:
    """`records` (needs `raw`) plus the decoded AEP fields as top-level columns and `dpo_pair`."""
    frame = records.select(pl.int_range(pl.len(), dtype=pl.Int64).alias("row_nr"), pl.col("raw"))
    decoded = _run_duckdb("admission/decode", "records", frame)
    return pl.concat([records, decoded.select("aep").unnest("aep")], how="horizontal").with_columns(
        dpo_flags(records["raw"]))


TYPED_COLUMNS: tuple[str, ...] = (
    "schema_version", "run_id", "trace_id", "repo_commit", "model_id", "tool_manifest_digest", "recording_mode",
    "created_at_ms", "actions", "capability_decisions", "verifier_results", "budget_ledger",
)


def typed_evidence(typed: pl.DataFrame) -> pl.DataFrame:
    """The same view as `decode_evidence`, from a batch the typed AEP reader already decoded
    (engine.io: declared Arrow schema), so the JSON is not parsed a second time."""
    return typed.select("line", "raw", *TYPED_COLUMNS).with_columns(dpo_flags(typed["raw"]))


# ---------------------------------------------------------------------------------------------
# Per-record evidence counts (small named expressions; `el` is one list element)
# ---------------------------------------------------------------------------------------------


def truthy_str(expr: pl.Expr) -> pl.Expr:
    """Python truthiness of a decoded string (None and "" are falsy)."""
    return expr.is_not_null() & (expr.str.len_bytes() > 0)


def _field(name: str) -> pl.Expr:
    return pl.element().struct.field(name)


def count_where(list_column: str, predicate: pl.Expr) -> pl.Expr:
    """How many elements of a list column satisfy `predicate` (0 for a missing list)."""
    return pl.col(list_column).list.eval(predicate.fill_null(False).cast(pl.Int64)).list.sum().fill_null(0)


def list_len(list_column: str) -> pl.Expr:
    return pl.col(list_column).list.len().fill_null(0).cast(pl.Int64)


def state_changing() -> pl.Expr:
    return _field("state_changing").fill_null(False)


def admission_evidenced() -> pl.Expr:
    """Admission's evidence rule: result_digest or precondition_digest (reference §3.1 note)."""
    return state_changing() & (truthy_str(_field("result_digest")) | truthy_str(_field("precondition_digest")))


def trust_evidenced() -> pl.Expr:
    """Trust score's evidence rule: result_digest or a non-empty evidence_refs."""
    return state_changing() & (
        truthy_str(_field("result_digest")) | (_field("evidence_refs").list.len().fill_null(0) > 0)
    )


def evidence_counts() -> list[pl.Expr]:
    return [
        count_where("actions", state_changing()).alias("n_state_changing"),
        count_where("actions", admission_evidenced()).alias("n_evidenced"),
        list_len("capability_decisions").alias("n_decisions"),
        count_where("capability_decisions", _field("decision") == "deny").alias("n_deny"),
        list_len("verifier_results").alias("n_verifiers"),
        count_where("verifier_results", _field("passed")).alias("n_passed"),
        count_where(
            "verifier_results", _field("verifier_id").str.to_lowercase().str.contains("repair", literal=True)
        ).alias("n_repair_verifiers"),
    ]


# ---------------------------------------------------------------------------------------------
# Dimensions and score
# ---------------------------------------------------------------------------------------------


def completeness() -> pl.Expr:
    n = pl.col("n_state_changing")
    return pl.when(n > 0).then(pl.col("n_evidenced").cast(pl.Float64) / n.cast(pl.Float64)).otherwise(1.0)


def dimension_exprs(policy: AdmissionPolicy) -> dict[str, pl.Expr]:
    has_policy = (pl.col("n_decisions") > 0) | (pl.col("n_state_changing") == 0)
    n_ver = pl.col("n_verifiers")
    verifier = pl.min_horizontal(pl.lit(1.0), n_ver.cast(pl.Float64) * policy.verifier_per_result)
    provenance_ok = truthy_str(pl.col("repo_commit")) & truthy_str(pl.col("model_id"))
    return {
        "schema_validity": pl.lit(1.0),
        "evidence_completeness": completeness(),
        "policy_compliance": pl.when(has_policy).then(1.0).otherwise(policy.policy_without_decisions),
        "verifier_strength": pl.when(n_ver > 0).then(verifier).otherwise(0.0),
        "provenance": pl.when(provenance_ok).then(1.0).otherwise(policy.provenance_missing),
        "contamination_risk": pl.when(truthy_str(pl.col("tool_manifest_digest")))
        .then(1.0)
        .otherwise(policy.contamination_missing_digest),
    }


def recording_bonus(policy: AdmissionPolicy) -> pl.Expr:
    mode = pl.col("recording_mode")
    return pl.when(mode == "full").then(policy.bonus_full).when(mode == "delta").then(policy.bonus_delta).otherwise(0.0)


def weighted_score(policy: AdmissionPolicy) -> pl.Expr:
    # Left-to-right in DIMENSIONS order, exactly like the reference's sum(): float addition is
    # not associative and the differential test compares bits.
    terms = [pl.col(f"dim_{d}") * w for d, w in policy.weights]
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    capped = total + recording_bonus(policy)
    return pl.when(capped > 1.0).then(1.0).otherwise(capped)


def penalty(policy: AdmissionPolicy) -> pl.Expr:
    def fraction(num: str, den: str) -> pl.Expr:
        return pl.when(pl.col(den) > 0).then(pl.col(num).cast(pl.Float64) / pl.col(den).cast(pl.Float64)).otherwise(0.0)

    failed = (pl.col("n_verifiers") - pl.col("n_passed")).alias("n_failed")
    return policy.deny_penalty * fraction("n_deny", "n_decisions") + policy.failed_verifier_penalty * (
        pl.when(pl.col("n_verifiers") > 0).then(failed.cast(pl.Float64) / pl.col("n_verifiers").cast(pl.Float64)).otherwise(0.0)
    )


def penalised_score(policy: AdmissionPolicy) -> pl.Expr:
    if not policy.penalised:
        return pl.col("score_raw")
    p = pl.col("penalty")
    return pl.when(p > 0.0).then(pl.max_horizontal(pl.lit(0.0), pl.col("score_raw") - p)).otherwise(pl.col("score_raw"))


def category_expr(policy: AdmissionPolicy) -> pl.Expr:
    s = pl.col("score_unrounded")
    sft = (pl.col("n_passed") > 0) & (pl.col("dim_evidence_completeness_unrounded") >= policy.sft_min_completeness)
    train = (
        pl.when(pl.col("n_repair_verifiers") > 0).then(pl.lit("train_repair"))
        .when(pl.col("dpo_pair")).then(pl.lit("train_dpo"))
        .when(sft).then(pl.lit("train_sft"))
        .otherwise(pl.lit("train_router"))
    )
    return (
        pl.when(~pl.col("scorable")).then(pl.lit("reject"))
        .when(s < policy.reject_threshold).then(pl.lit("reject"))
        .when(s < policy.admit_threshold).then(pl.lit("audit_only"))
        .when(s < policy.min_score).then(pl.lit("audit_only"))
        .otherwise(train)
    )


def reasons_expr(policy: AdmissionPolicy) -> pl.Expr:
    s = pl.col("score_unrounded")
    unknown = ~pl.col("schema_version").is_in(list(policy.known_versions)).fill_null(False)
    ok = pl.col("scorable")
    items = [
        pl.when(unknown).then(pl.lit("invalid schema_version")),
        pl.when(~pl.col("structural_valid")).then(pl.lit("schema_invalid")),
        pl.when(ok & (pl.col("n_decisions") == 0) & (pl.col("n_state_changing") > 0)).then(
            pl.lit("no capability_decisions for state-changing run")
        ),
        pl.when(ok & (pl.col("n_verifiers") == 0)).then(pl.lit("no verifier_results")),
        pl.when(ok & ~(truthy_str(pl.col("repo_commit")) & truthy_str(pl.col("model_id")))).then(
            pl.lit("missing repo_commit or model_id")
        ),
        pl.when(ok & ~truthy_str(pl.col("tool_manifest_digest"))).then(
            pl.lit("missing tool_manifest_digest — contamination risk elevated")
        ),
    ]
    if policy.penalised:
        if policy.deny_penalty > 0.0:
            items.append(pl.when(ok & (pl.col("n_deny") > 0)).then(
                pl.format("deny decisions penalised: {} of {}", pl.col("n_deny"), pl.col("n_decisions"))))
        if policy.failed_verifier_penalty > 0.0:
            n_failed = pl.col("n_verifiers") - pl.col("n_passed")
            items.append(pl.when(ok & (n_failed > 0)).then(
                pl.format("failed verifiers penalised: {} of {}", n_failed, pl.col("n_verifiers"))))
    items.append(pl.when(ok & (s < policy.reject_threshold)).then(
        pl.format(f"score {{}} below reject threshold {policy.reject_threshold:.2f}", pl.col("score_2f"))))
    items.append(pl.when(ok & (s >= policy.admit_threshold) & (s < policy.min_score)).then(
        pl.format(f"score {{}} below min_score {policy.min_score:.2f}", pl.col("score_2f"))))
    return pl.concat_list(items).list.drop_nulls()


def _rounded(name: str, ndigits: int = 4) -> pl.Expr:
    return pl.col(name).map_batches(lambda s: py_round(s, ndigits), return_dtype=pl.Float64, is_elementwise=True)


def score_frame(records: pl.DataFrame, policy: AdmissionPolicy) -> pl.DataFrame:
    """Score decoded records (output of `decode_evidence` with a `structural_valid` column).

    One lazy query: Polars fuses the stages and evaluates independent expressions in parallel."""
    frame = records.lazy()
    if "structural_valid" not in records.columns:
        frame = frame.with_columns(pl.lit(True).alias("structural_valid"))
    known = pl.col("schema_version").is_in(list(policy.known_versions)).fill_null(False)
    dims = dimension_exprs(policy)
    frame = (
        frame.with_columns(*evidence_counts(), (known & pl.col("structural_valid")).alias("scorable"))
        .with_columns(*(e.alias(f"dim_{d}") for d, e in dims.items()))
        .with_columns(weighted_score(policy).alias("score_raw"), penalty(policy).alias("penalty"))
        .with_columns(
            pl.when(pl.col("scorable")).then(penalised_score(policy)).otherwise(0.0).alias("score_unrounded"),
            pl.col("dim_evidence_completeness").alias("dim_evidence_completeness_unrounded"),
        )
        .with_columns(
            _rounded("score_unrounded").alias("score"),
            pl.col("score_unrounded").map_batches(format_2f, return_dtype=pl.String, is_elementwise=True)
            .alias("score_2f"),
            *(pl.when(pl.col("scorable")).then(_rounded(f"dim_{d}")).otherwise(None).alias(f"dim_{d}")
              for d in DIMENSIONS),
        )
        .with_columns(category_expr(policy).alias("category"), reasons_expr(policy).alias("reasons"))
        .with_columns(pl.col("category").is_in(list(TRAIN_CATEGORIES)).alias("admitted"))
    )
    return frame.collect()


OUTPUT_COLUMNS: tuple[str, ...] = (
    "source", "line", "run_id", "trace_id", "schema_version", "structural_valid",
    "score", "category", "admitted", "reasons", *(f"dim_{d}" for d in DIMENSIONS),
)


def admit_records(records: pl.DataFrame, policy: AdmissionPolicy) -> pl.DataFrame:
    """Score loaded records (`source`, `line`, `raw`, optional `structural_valid`) in memory.

    Without a `structural_valid` column every record is taken as structurally valid: callers
    that have not validated should add `engine.validate.structural_valid(records)` first (the
    streaming `engine.admission_run.admit_paths` does this batch by batch). Returns one row per
    input record with OUTPUT_COLUMNS plus `raw` (kept for partitions).
    """
    for name in ("source", "line"):
        if name not in records.columns:
            records = records.with_columns(pl.lit(None, dtype=pl.String if name == "source" else pl.Int64).alias(name))
    base = records.select("source", "line", "raw", *(["structural_valid"] if "structural_valid" in records.columns else []))
    scored = score_frame(decode_evidence(base), policy)
    return scored.select(*OUTPUT_COLUMNS, "raw")
