"""Writing one export: training files (flat or Hub layout), quarantine, dataset card, manifest (last)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from engine.export import hf
from engine.export.card import render_card
from engine.export.sft import META_COLUMNS
from engine.export.writers import (
    WrittenFile,
    canonical_json_bytes,
    file_sha256,
    write_bytes_atomic,
    write_frame,
)

if TYPE_CHECKING:
    from engine.export.pipeline import ExportOptions, ExportResult, Stage

TRAINING_COLUMNS = {
    "sft": ("messages",),
    "dpo": ("prompt", "chosen", "rejected"),
    "ppo": ("prompt", "reward"),
    "compliance_sft": ("messages",),
    "compliance_dpo": ("prompt", "chosen", "rejected"),
    "router": ("task_id", "features", "label"),
}
MANIFEST_VERSION = 1


def training_frame(cfg: str, frame: pl.DataFrame) -> pl.DataFrame:
    """The columns a trainer sees: TRL's for the config, then the lineage metadata."""
    return frame.select(*TRAINING_COLUMNS.get(cfg, ()), *META_COLUMNS) if cfg in TRAINING_COLUMNS else frame


def write_outputs(opts: ExportOptions, result: ExportResult, rows: dict[str, pl.DataFrame],
                  quarantine: pl.DataFrame, *, stage: Stage) -> None:
    out = opts.out_dir
    out.mkdir(parents=True, exist_ok=True)
    fmt = "parquet" if opts.hf_layout else opts.fmt
    data_files: dict[str, list[str]] = {f.config: [f.path] for f in result.files}  # streamed configs
    for cfg, frame in rows.items():
        stage(f"writing {cfg}")
        tf = training_frame(cfg, frame)
        if opts.hf_layout:
            written = hf.write_shards(tf, out, cfg, max_shard_bytes=opts.max_shard_bytes)
            data_files[cfg] = [f"data/{cfg}/train-*.parquet"]
        else:
            written = [write_frame(tf, out, f"{cfg}.{fmt}", fmt=fmt, config=cfg)]
            data_files[cfg] = [f"{cfg}.{fmt}"]
        result.files.extend(written)
    stage("writing quarantine")
    result.files.append(write_frame(quarantine.drop("rid"), out, f"quarantine.{fmt}", fmt=fmt,
                                    config="quarantine"))
    if opts.legacy_records:
        from engine.export.legacy import write_legacy

        result.files.extend(write_legacy(rows, out))
    card = render_card(opts, result, data_files).encode()
    write_bytes_atomic(out / "README.md", card)
    result.files.append(WrittenFile("README.md", "card", 0, len(card), file_sha256(out / "README.md")))
    manifest = {
        "manifest_version": MANIFEST_VERSION,
        "tool": "trace-engine export",
        "files": [f.to_dict() for f in result.files],
        "inputs": [{"path": p, "sha256": d} for p, d in sorted(result.input_digests.items())],
        "options": opts.manifest_options(),
        "counts": result.counts,
        "quarantined_by_reason": result.quarantined_by_reason,
        "redaction": result.redaction,
        "contamination": result.contamination,
        "admission": result.admission,
        "quality": result.quality,
    }
    write_bytes_atomic(out / "manifest.json", canonical_json_bytes(manifest))
