"""Compliance records → SFT (answerer and repairer) and DPO (repair rounds), reference §4.2, as frames.

- answerer SFT (final_pass records): user = `{"task_id": "<id>", "mode": "<mode>"}` plus, when the
  record had violations, "\n\nConstraint violations:\n- [level/category] hint" lines; assistant = artifact.
- repairer SFT: per ok repair round of a passing record whose violation_ids match at least one violation:
  user = the same task context + "\n\nRound <r> violations:\n- [level] hint" lines; assistant = the final
  artifact (output_type repair_patch). The original also took rounds of failing records; training on an
  artifact that failed its checks is what the gate exists to prevent, so only passing records count here.
- DPO: per such round, prompt `task_id=<id>`, chosen = artifact, rejected = the synthetic pre-repair draft
  "[pre-repair draft — round r]\nViolations present:\n- hint...\n\nDraft artifact (incomplete):\n<artifact>".
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
import pyarrow as pa

from engine.export.duck import run_sql
from engine.export.messages import message
from engine.export.sft import META_COLUMNS


@dataclass(frozen=True)
class ComplianceRows:
    sft: pl.DataFrame  # rid, user, assistant, output_type, round + lineage
    dpo: pl.DataFrame  # rid, user, chosen_text, rejected_text, round + lineage
    rejected: pl.DataFrame  # source, line, reason


def _json_str(e: pl.Expr) -> pl.Expr:
    return pl.format('"{}"', e.str.replace_all("\\", "\\\\", literal=True).str.replace_all('"', '\\"', literal=True))


def compliance_rows(records: pa.Table) -> ComplianceRows:
    dec = run_sql("compliance_records", records)
    meta = pl.from_arrow(records.select(["rid", "source", "line"]))
    assert isinstance(meta, pl.DataFrame)
    dec = dec.join(meta, on="rid", how="left", maintain_order="left")
    sv = pl.col("schema_version")
    reason = (pl.when(pl.col("invalid_json")).then(pl.lit("invalid JSON"))
              .when(sv.is_not_null() & (sv != "compliance-eval-record/v1"))
              .then(pl.format("not a compliance-eval-record/v1 record (schema_version {})", sv))
              .when(pl.col("task_id").is_null()).then(pl.lit("missing task_id"))
              .when(pl.col("final_pass").is_null()).then(pl.lit("missing final_pass"))
              .when(pl.col("artifact").is_null()).then(pl.lit("missing artifact")))
    dec = dec.with_columns(reason.alias("reason"))
    rejected = dec.filter(pl.col("reason").is_not_null()).select("source", "line", "reason")
    ok = dec.filter(pl.col("reason").is_null() & pl.col("final_pass"))
    context = pl.concat_str([pl.lit('{"task_id": '), _json_str(pl.col("task_id")), pl.lit(', "mode": '),
                             _json_str(pl.col("mode").fill_null("")), pl.lit("}")])
    viol = ok.select("rid", "violations").explode("violations").drop_nulls("violations").unnest("violations")
    block = viol.group_by("rid", maintain_order=True).agg(
        pl.format("- [{}/{}] {}", "level", "category", "hint").str.join("\n").alias("block"))
    base = ok.join(block, on="rid", how="left", maintain_order="left").with_columns(context.alias("context"))
    answerer = base.select(
        "rid", "source", "line", "task_id",
        pl.when(pl.col("block").is_not_null())
        .then(pl.format("{}\n\nConstraint violations:\n{}", "context", "block"))
        .otherwise(pl.col("context")).alias("user"),
        pl.col("artifact").alias("assistant"), pl.lit("final_answer").alias("output_type"),
        pl.lit(0, dtype=pl.Int64).alias("round"))
    rounds = (ok.select("rid", "repair_trace").explode("repair_trace").drop_nulls("repair_trace")
              .unnest("repair_trace").filter(pl.col("ok").fill_null(False))
              .with_columns(pl.int_range(pl.len()).over("rid").alias("entry")))
    matched = (rounds.explode("violation_ids").rename({"violation_ids": "constraint_id"})
               .join(viol, on=["rid", "constraint_id"], how="inner")
               .sort("rid", "entry")
               .group_by("rid", "entry", "round", maintain_order=True)
               .agg(pl.format("- [{}] {}", "level", "hint").str.join("\n").alias("lines"),
                    pl.format("- {}", "hint").str.join("\n").alias("hints")))
    rep = matched.join(base.select("rid", "source", "line", "task_id", "context", "artifact"), on="rid")
    repairer = rep.select(
        "rid", "source", "line", "task_id",
        pl.format("{}\n\nRound {} violations:\n{}", "context", "round", "lines").alias("user"),
        pl.col("artifact").alias("assistant"), pl.lit("repair_patch").alias("output_type"),
        pl.col("round").cast(pl.Int64))
    sft = pl.concat([answerer, repairer]).sort("rid", "round", maintain_order=True)
    dpo = rep.select(
        "rid", "source", "line", "task_id", pl.format("task_id={}", "task_id").alias("user"),
        pl.col("artifact").alias("chosen_text"),
        pl.format("[pre-repair draft — round {}]\nViolations present:\n{}\n\nDraft artifact (incomplete):\n{}",
                  "round", "hints", "artifact").alias("rejected_text"),
        pl.col("round").cast(pl.Int64)).sort("rid", "round", maintain_order=True)
    return ComplianceRows(sft, dpo, rejected)


def finish_sft(frame: pl.DataFrame) -> pl.DataFrame:
    """Message lists and lineage for (redacted) compliance SFT rows."""
    return frame.select(
        "rid", pl.concat_list(message("user", pl.col("user")), message("assistant", pl.col("assistant")))
        .alias("messages"), "output_type", *META_COLUMNS)


def finish_dpo(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(
        "rid", pl.concat_list(message("user", pl.col("user"))).alias("prompt"),
        pl.concat_list(message("assistant", pl.col("chosen_text"))).alias("chosen"),
        pl.concat_list(message("assistant", pl.col("rejected_text"))).alias("rejected"),
        *META_COLUMNS, "chosen_text", "rejected_text")


def export_compliance(paths: tuple[str, ...], redact: bool) -> tuple[dict[str, pl.DataFrame], pl.DataFrame,
                                                                     dict[str, object], dict[str, str]]:
    """Read, convert, redact and validate compliance records.

    Returns rows per config (compliance_sft, compliance_dpo), quarantine rows, counts and input digests."""
    from engine.export import gates
    from engine.export.lineage import evidence_digests, sha16
    from engine.export.quarantine import quarantine_rows
    from engine.export.redact import redact_frame
    from engine.export.source import read_inputs

    inputs = read_inputs(list(paths))
    conv = compliance_rows(inputs.records)
    digests = pl.DataFrame({"rid": inputs.records.column("rid").to_numpy(),
                            "evidence_digest": evidence_digests(inputs.records.column("raw"))})
    rows: dict[str, pl.DataFrame] = {}
    quarantine = [quarantine_rows(inputs.quarantine.with_columns(pl.lit(None, dtype=pl.Int64).alias("rid")),
                                  "compliance_input", None),
                  quarantine_rows(conv.rejected.with_columns(pl.format("invalid input: {}", "reason")
                                                             .alias("reason")), "compliance_input", None)]
    specs = (("compliance_sft", conv.sft, ["user", "assistant"], finish_sft, gates.sft_invalid_reason()),
             ("compliance_dpo", conv.dpo, ["user", "chosen_text", "rejected_text"], finish_dpo,
              gates.dpo_invalid_reason()))
    for cfg, frame, text_cols, finish, invalid in specs:
        frame = frame.join(digests, on="rid", how="left", maintain_order="left").with_columns(
            sha16(frame.get_column("task_id")).alias("task_hash"),
            pl.lit(None, dtype=pl.String).alias("rollout_id"), pl.lit(None, dtype=pl.String).alias("run_id"),
            pl.lit(None, dtype=pl.Float64).alias("admission_score"))
        unredactable = pl.Series([False] * frame.height, dtype=pl.Boolean)
        if redact:
            frame, unredactable, _ = redact_frame(frame, text_cols)
        quarantine.append(quarantine_rows(frame.filter(unredactable).with_columns(
            pl.lit("unredactable").alias("reason")), cfg, None))
        built = finish(frame.filter(~unredactable)).with_columns(invalid.alias("reason"))
        quarantine.append(quarantine_rows(built.filter(pl.col("reason").is_not_null()), cfg, None))
        rows[cfg] = built.filter(pl.col("reason").is_null()).drop("reason")
    q = pl.concat(quarantine, how="diagonal_relaxed")
    counts = {"input_records": inputs.height + inputs.quarantine.height,
              "invalid_records": inputs.quarantine.height + conv.rejected.height,
              "rows": {k: v.height for k, v in rows.items()}}
    return rows, q, counts, inputs.digests
