"""`engine export`: rollouts (and compliance / AEP records) → gated, redacted training files with lineage.

Order of work: read → decode → redaction → branch gates (unredactable, contaminated, injection,
unadmitted) → lineage digests (computed in the background since the read, see engine.export.lineage) →
messages → SFT / DPO / PPO rows → row gates (structural validity) → write training files (on a writer
thread), quarantine, card, manifest (last, so a manifest always describes complete files).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Literal

import polars as pl
import pyarrow as pa

from engine.export import gates
from engine.export.lineage import DigestJob, evidence_digests, sha16
from engine.export.quarantine import QUARANTINE_COLUMNS, quarantine_rows, redact_excerpts
from engine.export.redact import RedactionReport, redact_frame
from engine.export.rollouts import decode_rollouts
from engine.export.source import Inputs, MappedFile, empty_inputs, read_inputs
from engine.export.writers import Format, WrittenFile

Config = Literal["sft", "dpo", "ppo"]
ALL_CONFIGS: tuple[Config, ...] = ("sft", "dpo", "ppo")


@dataclass(frozen=True)
class ExportOptions:
    out_dir: Path
    rollout: tuple[str, ...] = ()
    compliance: tuple[str, ...] = ()
    aep: tuple[str, ...] = ()
    eval_items: tuple[str, ...] = ()
    fmt: Format = "jsonl"
    configs: tuple[Config, ...] = ALL_CONFIGS
    include_failing: bool = False
    max_pairs_per_task: int = 1
    contamination_threshold: float = 0.2
    containment_threshold: float = 0.5
    min_admission: float | None = None
    redact: bool = True
    hf_layout: bool = False
    max_shard_bytes: int = 500 * 1024 * 1024
    legacy_records: bool = False
    license: str = "apache-2.0"
    dataset_name: str | None = None

    def manifest_options(self) -> dict[str, object]:
        d = asdict(self)
        del d["out_dir"]  # the manifest sits in it; naming it would make moved copies differ
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in sorted(d.items())}


@dataclass
class ExportResult:
    out_dir: Path
    files: list[WrittenFile] = field(default_factory=list)
    counts: dict[str, object] = field(default_factory=dict)
    quarantined_by_reason: dict[str, int] = field(default_factory=dict)
    redaction: dict[str, object] = field(default_factory=dict)
    contamination: dict[str, object] = field(default_factory=dict)
    admission: dict[str, object] = field(default_factory=dict)
    quality: dict[str, object] = field(default_factory=dict)
    input_digests: dict[str, str] = field(default_factory=dict)

    def summary(self) -> dict[str, object]:
        return {"out_dir": str(self.out_dir), "counts": self.counts,
                "quarantined_by_reason": self.quarantined_by_reason,
                "files": [f.to_dict() for f in self.files]}


Stage = Callable[[str], None]


def _eval_texts(paths: tuple[str, ...]) -> pl.DataFrame:
    """Eval items → eid, text (the first present of the usual text fields)."""
    inputs = read_inputs(list(paths))
    fields = ("text", "question", "prompt", "input", "problem", "task", "final_answer", "gen_text")
    dtype = pl.Struct({f: pl.String for f in ("id", *fields)})
    recs = pl.from_arrow(inputs.records.select(["source", "line", "raw"]))
    assert isinstance(recs, pl.DataFrame)
    dec = recs.with_columns(pl.col("raw").str.strip_chars().str.json_decode(dtype).alias("j"))
    j = pl.col("j").struct
    return dec.select(
        pl.coalesce(j.field("id"), pl.format("{}:{}", "source", "line")).alias("eid"),
        pl.coalesce([j.field(f) for f in fields]).alias("text"),
    ).drop_nulls("text")


def _branch_gates(branches: pl.DataFrame, unredactable: pl.Series, opts: ExportOptions,
                  result: ExportResult) -> pl.DataFrame:
    """Add `reason` (first failing branch-level gate, null when the branch may be exported) and scores."""
    b = branches.with_columns(unredactable.alias("unredactable"))
    b = b.with_columns((gates.injection_flags(b.get_column("task"))
                        | gates.injection_flags(b.get_column("final_answer"))).alias("injection"))
    if opts.eval_items:
        evals = _eval_texts(opts.eval_items)
        texts = pl.concat([
            b.select((pl.col("rid") * 2).alias("tid"), pl.col("final_answer").alias("text")),
            b.select((pl.col("rid") * 2 + 1).alias("tid"), pl.col("task").alias("text")),
        ])
        sc = gates.contamination_scores(texts, evals, threshold=opts.contamination_threshold,
                                        containment_threshold=opts.containment_threshold)
        per_branch = (sc.with_columns((pl.col("tid") // 2).alias("rid"))
                      .sort("rid", "token_jaccard", "containment", descending=[False, True, True])
                      .group_by("rid", maintain_order=True)
                      .agg(pl.col("best_eval").first(), pl.col("token_jaccard").max(),
                           pl.col("char_jaccard").max(), pl.col("containment").max(),
                           pl.col("flagged").any().alias("contaminated")))
        b = b.join(per_branch, on="rid", how="left", maintain_order="left")
        result.contamination = {"eval_items": len(evals), "threshold": opts.contamination_threshold,
                                "containment_threshold": opts.containment_threshold, "rule": "any",
                                "n_flagged_branches": int(b.get_column("contaminated").sum())}
    else:
        b = b.with_columns(pl.lit(None, dtype=pl.String).alias("best_eval"),
                           pl.lit(None, dtype=pl.Float64).alias("token_jaccard"),
                           pl.lit(None, dtype=pl.Float64).alias("char_jaccard"),
                           pl.lit(None, dtype=pl.Float64).alias("containment"),
                           pl.lit(False).alias("contaminated"))
        result.contamination = {"eval_items": 0, "n_flagged_branches": 0}
    unadmitted = pl.lit(False)
    if opts.min_admission is not None and opts.aep:
        unadmitted = pl.col("admission_score").is_null() | (pl.col("admission_score") < opts.min_admission)
    reason = (pl.when(pl.col("unredactable")).then(pl.lit("unredactable"))
              .when(pl.col("contaminated")).then(pl.lit("contaminated"))
              .when(pl.col("injection")).then(pl.lit("quality: injection fragment"))
              .when(unadmitted).then(pl.lit("unadmitted"))
              .otherwise(pl.lit(None, dtype=pl.String)))
    return b.with_columns(reason.alias("reason"))


def run_export(opts: ExportOptions, *, stage: Stage | None = None) -> ExportResult:
    say = stage or (lambda _s: None)
    result = ExportResult(out_dir=opts.out_dir)
    say("reading rollouts")
    inputs = read_inputs(list(opts.rollout)) if opts.rollout else empty_inputs()
    result.input_digests.update(inputs.digests)
    digests = DigestJob(inputs)  # in the background (a child process for big inputs) until the rows need them
    box = [inputs]  # handed over, so that no frame of this function keeps the raw lines alive
    del inputs
    try:
        return _export_rollouts(opts, result, say, box, digests)
    except BaseException:
        digests.cancel()
        raise


def _release(mapped: tuple[MappedFile, ...], lo: int, hi: int) -> None:
    """Records lo..hi-1 are decoded: their input pages may leave this process's memory."""
    for f in mapped:
        f.release(lo, hi)


def _export_rollouts(opts: ExportOptions, result: ExportResult, say: Stage, box: list[Inputs],
                     digests: DigestJob) -> ExportResult:
    from engine.export.output import write_outputs

    inputs = box.pop()
    say("decoding")

    _release(inputs.mapped, 0, inputs.height)  # reading checked every byte (UTF-8); decode maps them back
    dec = decode_rollouts(inputs.records, after_chunk=partial(_release, inputs.mapped))
    branches = dec.branches.with_columns(sha16(dec.branches.get_column("task")).alias("task_hash"))
    n_read, input_quarantine = inputs.height + inputs.quarantine.height, inputs.quarantine
    del inputs  # the raw lines (the mapped input file) are no longer needed: release them before the big frames
    tools, rejected_inputs, n_tree = dec.tool_items, dec.rejected, dec.n_tree_records
    del dec
    redaction = RedactionReport()
    unredactable = pl.Series("unredactable", [False] * branches.height, dtype=pl.Boolean)
    if opts.redact:
        say("redacting")
        branches, unr_b, rep_b = redact_frame(branches, ["task", "final_answer"])
        tools, unr_t, rep_t = redact_frame(tools, ["error"], ["arguments", "result"])
        bad_rids = tools.filter(unr_t).get_column("rid")
        unredactable = unr_b | branches.get_column("rid").is_in(bad_rids.implode())
        redaction = RedactionReport(
            n_values_scanned=rep_b.n_values_scanned + rep_t.n_values_scanned,
            n_values_modified=rep_b.n_values_modified + rep_t.n_values_modified,
            modified_by_column={**rep_b.modified_by_column,
                                **{f"tool_{k}": v for k, v in rep_t.modified_by_column.items()}},
            n_unredactable=int(unredactable.sum()))
        result.redaction = redaction.to_dict()
    else:
        result.redaction = {"enabled": False}
    aep_scored = None
    if opts.aep:
        from engine.export.admission import admission_scores, score_aep

        say("scoring AEP evidence")
        aep_scored, aep_digests = score_aep(opts.aep)
        result.input_digests.update(aep_digests)
        adm = admission_scores(aep_scored, result, opts.min_admission)
        branches = branches.join(adm, on="run_id", how="left", maintain_order="left")
    else:
        branches = branches.with_columns(pl.lit(None, dtype=pl.Float64).alias("admission_score"))
    say("gates")
    gated = _branch_gates(branches, unredactable, opts, result)
    say("lineage digests")
    gated = gated.with_columns(digests.result().gather(gated.get_column("rid")))
    all_ok = gated.get_column("reason").null_count() == gated.height
    eligible = gated if all_ok else gated.filter(pl.col("reason").is_null())  # no copy in the common case
    say("messages and rows")
    from engine.export.stream import build_rows_streaming

    rows, row_q, used, written, quality = build_rows_streaming(opts, eligible, calls_from=tools, all_ok=all_ok,
                                                               stage=say)
    del tools
    extra_q: list[pl.DataFrame] = []
    if opts.compliance:
        from engine.export.compliance import export_compliance

        say("compliance records")
        c_rows, c_q, c_counts, c_digests = export_compliance(opts.compliance, opts.redact)
        rows.update(c_rows)
        extra_q.append(c_q)
        result.input_digests.update(c_digests)
        compliance_counts: dict[str, object] | None = c_counts
    else:
        compliance_counts = None
    if aep_scored is not None:
        from engine.export.router import router_rows

        say("router records")
        aep_tab = pa.table({"rid": pa.array(range(aep_scored.height), type=pa.int64()),
                            "raw": aep_scored.get_column("raw").to_arrow()})
        aep_scored = aep_scored.with_columns(evidence_digests(aep_tab.column("raw")))
        rows["router"] = router_rows(aep_scored, opts.min_admission)
    quarantine = pl.concat([
        redact_excerpts(input_quarantine.select(
            pl.lit("input").alias("stage"), "source", "line", pl.lit(None, dtype=pl.String).alias("rollout_id"),
            pl.lit(None, dtype=pl.Int64).alias("branch_index"), "reason", "excerpt"), opts.redact),
        quarantine_rows(rejected_inputs.with_columns(pl.format("invalid input: {}", "reason").alias("reason")),
                        "input", None),
        quarantine_rows(gated.filter(pl.col("reason").is_not_null()), "branch", None),
        *row_q,
        *extra_q,
    ], how="diagonal_relaxed").select(QUARANTINE_COLUMNS).sort("stage", "source", "line", maintain_order=True)
    _reconcile(result, n_read, n_tree, gated, used, {k: n for k, n in quality["rows"].items()}, quarantine)
    if compliance_counts is not None:
        result.counts["compliance"] = compliance_counts
    if "router" in rows:
        result.counts["router_rows"] = rows["router"].height
    result.quality = {"issues": _quality_issues(quality)}
    result.files.extend(written)
    write_outputs(opts, result, rows, quarantine, stage=say)
    return result


def _reconcile(result: ExportResult, n_input: int, n_tree: int, gated: pl.DataFrame, used: pl.DataFrame,
               row_counts: dict[str, int], quarantine: pl.DataFrame) -> None:
    """Every input record is exported (≥1 training row), quarantined, or not selected; counts add up."""
    eligible = gated.filter(pl.col("reason").is_null()).select("rid")
    exported = eligible.join(used, on="rid", how="semi").height
    row_rejected = quarantine.filter(pl.col("stage").is_in(list(ALL_CONFIGS))).select("rid").unique()
    only_rejected = eligible.join(used, on="rid", how="anti").join(row_rejected, on="rid", how="semi").height
    input_q = quarantine.filter(pl.col("stage") == "input").height
    branch_q = gated.filter(pl.col("reason").is_not_null()).height
    not_selected = eligible.height - exported - only_rejected + n_tree
    result.counts = {
        "input_records": n_input,
        "exported": exported,
        "quarantined": input_q + branch_q + only_rejected,
        "not_selected": not_selected,
        "tree_records_skipped": n_tree,
        "rows": row_counts,
        "quarantine_rows": quarantine.height,
    }
    assert n_input == exported + input_q + branch_q + only_rejected + not_selected, result.counts
    result.quarantined_by_reason = dict(sorted(quarantine.group_by("reason").len().iter_rows()))


def _quality_issues(q: dict[str, dict[str, int]]) -> list[dict[str, object]]:
    """Dataset-level quality-gate warnings (reference §3.4); they annotate, they do not drop rows."""
    issues: list[dict[str, object]] = []
    n_sft, n_dpo = q["rows"].get("sft", 0), q["rows"].get("dpo", 0)
    if n_sft:
        if n_sft < 100:
            issues.append({"level": "warning", "check": "sft_min_records", "value": n_sft, "threshold": 100})
        if q["short"].get("sft"):
            issues.append({"level": "warning", "check": "sft_short_assistant", "value": q["short"]["sft"],
                           "threshold": 20})
    if n_dpo:
        if n_dpo < 20:
            issues.append({"level": "warning", "check": "dpo_min_records", "value": n_dpo, "threshold": 20})
        if q["short"].get("dpo"):
            issues.append({"level": "warning", "check": "dpo_short_chosen", "value": q["short"]["dpo"],
                           "threshold": 30})
    return issues
