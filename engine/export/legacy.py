"""`--legacy-records`: the original `sft/v1`, `dpo/v1`, `ppo/v1` record shapes (reference §2.4) beside the
TRL columns, for pipelines that still read them. Tool calls keep the original `{name, arguments}` form,
with `arguments` as JSON text (an Arrow column cannot hold free-form objects)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from engine.export.lineage import sha16
from engine.export.writers import WrittenFile, write_frame

_LEGACY_CALL = pl.Struct({"name": pl.String, "arguments": pl.String})


def _legacy_messages(col: str) -> pl.Expr:
    return pl.col(col).list.eval(pl.struct(
        pl.element().struct.field("role"),
        pl.element().struct.field("content"),
        pl.element().struct.field("tool_calls").list.eval(pl.struct(
            pl.element().struct.field("function").struct.field("name"),
            pl.element().struct.field("function").struct.field("arguments"))).alias("tool_calls"),
        pl.element().struct.field("tool_call_id"),
    ))


def _provenance(extra: dict[str, pl.Expr] | None = None) -> pl.Expr:
    fields = {"source": pl.lit("wasmagent-rollout"), "rollout_id": pl.col("rollout_id"),
              "task_id": pl.lit(None, dtype=pl.String), "n_gram_hash": pl.lit(None, dtype=pl.String),
              "task_hash": pl.col("task_hash")}
    fields.update(extra or {})
    return pl.struct([e.alias(name) for name, e in fields.items()])


def write_legacy(rows: dict[str, pl.DataFrame], out: Path) -> list[WrittenFile]:
    files: list[WrittenFile] = []
    common = {"loss_weight_tokens": pl.lit("default"), "loss_weight_annotations": pl.lit(None, dtype=pl.String)}
    if "sft" in rows:
        f = rows["sft"].select(pl.lit("sft/v1").alias("schema_version"), _legacy_messages("messages").alias("messages"),
                               pl.lit("final_answer").alias("output_type"), *(v.alias(k) for k, v in common.items()),
                               _provenance().alias("provenance"))
        files.append(write_frame(f, out, "legacy/sft.v1.jsonl", fmt="jsonl", config="legacy_sft"))
    if "dpo" in rows:
        d = rows["dpo"].with_columns(
            sha16(rows["dpo"].get_column("chosen_text")).alias("n_gram_hash"),
            pl.concat_list(_legacy_messages("prompt"), _legacy_messages("chosen")).alias("legacy_messages"))
        f = d.select(
            pl.lit("dpo/v1").alias("schema_version"),
            pl.col("legacy_messages").alias("messages"),
            # the original's prompt_messages: the chosen conversation without its final turn
            pl.col("legacy_messages").list.slice(0, pl.col("legacy_messages").list.len() - 1).alias("prompt_messages"),
            pl.col("chosen_text").alias("chosen"), pl.col("rejected_text").alias("rejected"),
            pl.lit("default").alias("loss_weight_tokens"), pl.lit(None, dtype=pl.String).alias("loss_weight_annotations"),
            _provenance({"n_gram_hash": pl.col("n_gram_hash")}).alias("provenance"))
        files.append(write_frame(f, out, "legacy/dpo.v1.jsonl", fmt="jsonl", config="legacy_dpo"))
    if "ppo" in rows:
        f = rows["ppo"].select(pl.lit("ppo/v1").alias("schema_version"), _legacy_messages("messages").alias("messages"),
                               "reward", *(v.alias(k) for k, v in common.items()), _provenance().alias("provenance"))
        files.append(write_frame(f, out, "legacy/ppo.v1.jsonl", fmt="jsonl", config="legacy_ppo"))
    return files
