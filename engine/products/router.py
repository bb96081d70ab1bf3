"""Router features, labels, the rule classifier and its evaluation (reference §3.14), as frame operations.

Feature frames have the 15 RouterFeatures columns (FEATURES, in the original's feature-vector order) plus
`task_id` and `label` (null when no label is known). Three sources:
- RouterRecord lines `{task_id, features{...15}, label}` (what `engine export` writes for routing);
- TaskSpec + EvalRecord lines (`router_from_specs`): constraints / hard constraints / allowed tools / max
  repair rounds (default 3) from the spec; from the eval record repair_rounds, violation_count :=
  repair_rounds (the original's proxy), hard_violation_count 0, tool totals, validity = valid / total
  (1.0 without calls), escalated, latency, prompt / generation tokens; without an eval record every eval
  feature is 0 and validity 1.0. Label from the eval record: escalated or repair_rounds > 3 → need_large_model;
  pass with 0 rounds → small_model_can_handle; pass with rounds → need_repair; fail with < 2 rounds →
  need_repair; else need_large_model;
- AEP records (`router_from_aep`, the AEP bridge, reusing the export's SQL): tool_calls_total = #actions,
  valid = state-changing actions without an error, violation_count = #failed verifiers, hard violations =
  #deny decisions, escalated = any failed verifier, has_tools = any action; label ≥ 2 deny →
  need_human_review, 1 deny → need_large_model, a failed verifier → need_repair, else small_model_can_handle.
The rule classifier (first match wins) and `evaluate` (confusion matrix rows = true label, columns =
predicted, labels in enum order; accuracy; per-label tp / fp / fn) follow the reference exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from engine.export.router import FEATURES

LABELS = ("small_model_can_handle", "need_repair", "need_large_model", "need_human_review")
_FLOATS = ("eval_tool_validity_rate", "eval_latency_ms")
FEATURE_SCHEMA = {n: (pl.Float64 if n in _FLOATS else pl.Int64) for n in FEATURES}


@dataclass(frozen=True)
class Thresholds:
    max_repair_rounds: int = 3
    max_violations: int = 3
    min_tool_validity: float = 0.8
    max_latency_ms: float = 30000.0
    hard_constraint_limit: int = 10


def _decode(raw: pl.Series, spec: dict[str, Any]) -> pl.DataFrame:
    from engine.normalize.decode import decode

    return decode(raw, spec)


def from_router_records(raw: pl.Series) -> pl.DataFrame:
    """RouterRecord JSON texts → task_id, label, the 15 features (missing features are null)."""
    spec: dict[str, Any] = {"task_id": pl.String(), "label": pl.String(),
                            "features": {n: t() for n, t in FEATURE_SCHEMA.items()}}
    d = _decode(raw, spec)
    return d.select("task_id", "label", *[pl.col("features").struct.field(n).alias(n) for n in FEATURES])


def _idx(n: int) -> pa.Array:
    return pa.array(np.arange(n, dtype=np.int64))


def from_aep(raw: pl.Series) -> pl.DataFrame:
    """AEP JSON texts → router features and labels via the AEP bridge."""
    from engine.export.duck import run_sql

    f = run_sql("aep_router", pa.table({"rid": _idx(raw.len()), "raw": raw.to_arrow()})).sort("rid")
    zero = pl.lit(0, dtype=pl.Int64)
    values = {n: zero for n in FEATURES}
    values.update({
        "taskspec_has_tools": (pl.col("n_actions") > 0).cast(pl.Int64),
        "eval_violation_count": pl.col("n_failed_verifiers"),
        "eval_hard_violation_count": pl.col("n_deny"),
        "eval_tool_calls_total": pl.col("n_actions"),
        "eval_tool_calls_valid": pl.col("n_valid"),
        "eval_tool_validity_rate": pl.when(pl.col("n_actions") > 0).then(pl.col("n_valid") / pl.col("n_actions"))
        .otherwise(1.0),
        "eval_escalated": (pl.col("n_failed_verifiers") > 0).cast(pl.Int64),
        "eval_latency_ms": pl.lit(0.0),
    })
    label = (pl.when(pl.col("n_deny") >= 2).then(pl.lit("need_human_review"))
             .when(pl.col("n_deny") == 1).then(pl.lit("need_large_model"))
             .when(pl.col("n_failed_verifiers") > 0).then(pl.lit("need_repair"))
             .otherwise(pl.lit("small_model_can_handle")))
    return f.select(pl.col("run_id").alias("task_id"), label.alias("label"),
                    *[values[n].cast(FEATURE_SCHEMA[n]).alias(n) for n in FEATURES])


_SPEC: dict[str, Any] = {"id": pl.String(), "constraints": [{"level": pl.String()}],
                         "tools": {"allowed": [pl.String()]}, "repair": {"max_rounds": pl.Int64()}}
_EVAL: dict[str, Any] = {"task_id": pl.String(), "final_pass": pl.Boolean(), "repair_rounds": pl.Int64(),
                         "tool_calls_total": pl.Int64(), "tool_calls_valid": pl.Int64(), "escalated": pl.Boolean(),
                         "latency_ms": pl.Float64(), "prompt_tokens": pl.Int64(), "generation_tokens": pl.Int64()}


def eval_label(max_repair_before_escalate: int = 3, escalate_on_repeated_failure: int = 2) -> pl.Expr:
    rounds, passed = pl.col("repair_rounds").fill_null(0), pl.col("final_pass").fill_null(False)
    return (pl.when(pl.col("escalated").fill_null(False) | (rounds > max_repair_before_escalate))
            .then(pl.lit("need_large_model"))
            .when(passed & (rounds == 0)).then(pl.lit("small_model_can_handle"))
            .when(passed).then(pl.lit("need_repair"))
            .when(rounds < escalate_on_repeated_failure).then(pl.lit("need_repair"))
            .otherwise(pl.lit("need_large_model")))


def from_specs(spec_raw: pl.Series, eval_raw: pl.Series) -> pl.DataFrame:
    """TaskSpec and EvalRecord JSON texts → one row per spec (joined to its eval record by task id)."""
    specs = _decode(spec_raw, _SPEC)
    evals = _decode(eval_raw, _EVAL).unique("task_id", keep="last", maintain_order=True) if eval_raw.len() \
        else pl.DataFrame(schema={k: (pl.String if k == "task_id" else v) for k, v in _EVAL.items()})
    d = specs.join(evals.with_columns(pl.lit(True).alias("has_eval")), left_on="id", right_on="task_id",
                   how="left", maintain_order="left")
    allowed = pl.col("tools").struct.field("allowed").list.len().fill_null(0)
    total, valid = pl.col("tool_calls_total").fill_null(0), pl.col("tool_calls_valid").fill_null(0)
    rounds = pl.col("repair_rounds").fill_null(0)
    values = {
        "taskspec_n_constraints": pl.col("constraints").list.len().fill_null(0),
        "taskspec_n_hard": pl.col("constraints").list.eval((pl.element().struct.field("level") == "hard")
                                                          .cast(pl.Int64)).list.sum().fill_null(0),
        "taskspec_has_tools": (allowed > 0).cast(pl.Int64),
        "taskspec_n_allowed_tools": allowed,
        "taskspec_max_repair_rounds": pl.col("repair").struct.field("max_rounds").fill_null(3),
        "eval_repair_rounds": rounds,
        "eval_violation_count": rounds,
        "eval_hard_violation_count": pl.lit(0),
        "eval_tool_calls_total": total,
        "eval_tool_calls_valid": valid,
        "eval_tool_validity_rate": pl.when(total > 0).then(valid / total).otherwise(1.0),
        "eval_escalated": pl.col("escalated").fill_null(False).cast(pl.Int64),
        "eval_latency_ms": pl.col("latency_ms").fill_null(0.0),
        "eval_prompt_tokens": pl.col("prompt_tokens").fill_null(0),
        "eval_generation_tokens": pl.col("generation_tokens").fill_null(0),
    }
    return d.select(pl.col("id").alias("task_id"),
                    pl.when(pl.col("has_eval").fill_null(False)).then(eval_label()).alias("label"),
                    *[values[n].cast(FEATURE_SCHEMA[n]).alias(n) for n in FEATURES])


def classify(features: pl.DataFrame, t: Thresholds = Thresholds()) -> pl.DataFrame:
    """Add `predicted_label` and `reason` (the first rule that fires)."""
    c = pl.col
    rules: list[tuple[pl.Expr, str, pl.Expr]] = [
        (c("eval_escalated") > 0, "need_large_model", pl.lit("already escalated in prior round")),
        (c("eval_repair_rounds") > t.max_repair_rounds, "need_large_model",
         pl.format("repair_rounds {} > max {}", c("eval_repair_rounds"), pl.lit(t.max_repair_rounds))),
        (c("eval_violation_count") > t.max_violations, "need_large_model",
         pl.format("violation_count {} > max {}", c("eval_violation_count"), pl.lit(t.max_violations))),
        ((c("eval_tool_calls_total") > 0) & (c("eval_tool_validity_rate") < t.min_tool_validity), "need_repair",
         pl.format("tool validity {} < min {}", c("eval_tool_validity_rate").round(3), pl.lit(t.min_tool_validity))),
        (c("taskspec_n_hard") > t.hard_constraint_limit, "need_large_model",
         pl.format("hard constraints {} > limit {}", c("taskspec_n_hard"), pl.lit(t.hard_constraint_limit))),
        (c("eval_latency_ms") > t.max_latency_ms, "need_large_model",
         pl.format("latency {} ms > max {} ms", c("eval_latency_ms"), pl.lit(t.max_latency_ms))),
        (c("eval_repair_rounds") > 0, "need_repair",
         pl.format("{} repair round(s) needed", c("eval_repair_rounds"))),
    ]
    label: Any = pl
    reason: Any = pl
    for cond, lab, why in rules:
        cond = cond.fill_null(False)
        label = label.when(cond).then(pl.lit(lab))
        reason = reason.when(cond).then(why)
    return features.with_columns(label.otherwise(pl.lit("small_model_can_handle")).alias("predicted_label"),
                                 reason.otherwise(pl.lit("all thresholds satisfied")).alias("reason"))


def evaluate(predicted: pl.DataFrame) -> dict[str, Any]:
    """Summary over rows with a known label: n, n_correct, accuracy (4 dp), confusion matrix, per-label counts."""
    labelled = predicted.filter(pl.col("label").is_not_null())
    n = labelled.height
    counts = {(t, p): k for t, p, k in labelled.group_by("label", "predicted_label").len().iter_rows()}
    matrix = [[int(counts.get((t, p), 0)) for p in LABELS] for t in LABELS]
    correct = sum(matrix[i][i] for i in range(len(LABELS)))
    per_label = {lab: {"tp": matrix[i][i],
                       "fp": sum(matrix[j][i] for j in range(len(LABELS))) - matrix[i][i],
                       "fn": sum(matrix[i]) - matrix[i][i]} for i, lab in enumerate(LABELS)}
    failures = (labelled.filter(pl.col("label") != pl.col("predicted_label"))
                .group_by("label", "predicted_label").len().sort("label", "predicted_label"))
    return {
        "n": n, "n_correct": correct, "accuracy": round(correct / n, 4) if n else 0.0,
        "confusion_matrix": {"labels": list(LABELS), "matrix": matrix},
        "per_label": per_label,
        "failure_buckets": {f"{t}->{p}": int(k) for t, p, k in failures.iter_rows()},
        "n_unlabelled": predicted.height - n,
    }


def predictions(predicted: pl.DataFrame) -> pl.DataFrame:
    return predicted.select("task_id", "predicted_label", pl.col("label").alias("stored_label"), "reason",
                            (pl.col("label") == pl.col("predicted_label")).alias("correct"))


def router_inputs(paths: list[str], eval_paths: list[str] | None = None) -> pl.DataFrame:
    """Features and labels from any mix of RouterRecord, AEP and TaskSpec files (+ EvalRecord files).

    AEP records go through the bridge; records with `features` are RouterRecords; records with `intent`
    are TaskSpecs, joined to EvalRecords (records with `final_pass`) from `eval_paths` or the same inputs."""
    from engine.io import load_records

    recs = load_records(paths).records
    is_aep = pl.col("kind") == "aep"
    has = lambda key: pl.col("raw").str.contains(f'"{key}"', literal=True)  # noqa: E731
    others = recs.filter(~is_aep)
    routed = others.filter(has("features"))
    specs = others.filter(~has("features") & has("intent"))
    evals = others.filter(~has("features") & ~has("intent") & has("final_pass"))
    if eval_paths:
        evals = pl.concat([evals, load_records(eval_paths).records])
    parts = [from_router_records(routed["raw"]) if routed.height else None,
             from_aep(recs.filter(is_aep)["raw"]) if recs.filter(is_aep).height else None,
             from_specs(specs["raw"], evals["raw"]) if specs.height else None]
    frames = [p.cast({n: FEATURE_SCHEMA[n] for n in FEATURES}) for p in parts if p is not None]  # type: ignore[misc]
    if not frames:
        return pl.DataFrame(schema={"task_id": pl.String, "label": pl.String, **FEATURE_SCHEMA})
    return pl.concat(frames, how="vertical_relaxed")
