"""Building and writing the rollout configs (SFT / DPO / PPO) partition by partition, so that memory is
bounded by a partition, not by the input.

A partition holds whole rollouts (every branch of a rollout_id lands in the partition of its first
branch, so DPO pairs are complete) in input order: partition = first rid of the rollout // PARTITION_ROWS.
Rows are appended to each config's file as they are built (flat layout); the Hub layout, which sizes
its shards from the whole config, collects them instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from engine.export import gates
from engine.export.dpo import to_dpo
from engine.export.messages import normalize_tool_calls, with_messages
from engine.export.ppo import to_ppo
from engine.export.quarantine import quarantine_rows
from engine.export.sft import to_sft
from engine.export.writers import Sink, WrittenFile

if TYPE_CHECKING:
    from engine.export.pipeline import ExportOptions, Stage

PARTITION_ROWS = 200_000


def _partitions(eligible: pl.DataFrame, tools: pl.DataFrame) -> list[tuple[pl.DataFrame, pl.DataFrame]]:
    if eligible.height <= PARTITION_ROWS:
        return [(eligible, tools)]
    part = eligible.select("rid", (pl.col("rid").min().over("rollout_id") // PARTITION_ROWS).alias("part"))
    e_parts = eligible.with_columns(part.get_column("part")).partition_by("part", maintain_order=True,
                                                                         include_key=False)
    t = tools.join(part, on="rid", how="inner", maintain_order="left")
    t_parts = dict(zip([int(k[0]) for k in t.partition_by("part", as_dict=True, maintain_order=True)],
                       t.partition_by("part", maintain_order=True, include_key=False), strict=True))
    keys = eligible.select(part.get_column("part")).unique(maintain_order=True).get_column("part").to_list()
    empty = tools.head(0)
    return [(e, t_parts.get(k, empty)) for e, k in zip(e_parts, keys, strict=True)]


def build_rows_streaming(opts: ExportOptions, eligible: pl.DataFrame, *, calls_from: pl.DataFrame, all_ok: bool,
                         stage: Stage) -> tuple[dict[str, pl.DataFrame], list[pl.DataFrame], pl.DataFrame,
                                            list[WrittenFile], dict[str, dict[str, int]]]:
    """Returns (collected rows per config for the Hub layout / legacy writers, row-level quarantine,
    used rids, files written, quality counters)."""
    from engine.export.output import training_frame

    tools = calls_from if all_ok else calls_from.join(eligible.select("rid"), on="rid", how="semi")
    stream = not opts.hf_layout and not opts.legacy_records
    fmt = opts.fmt
    sinks = {cfg: Sink(opts.out_dir, f"{cfg}.{fmt}", fmt=fmt, config=cfg) for cfg in opts.configs} if stream else {}
    collected: dict[str, list[pl.DataFrame]] = {cfg: [] for cfg in opts.configs}
    row_q: list[pl.DataFrame] = []
    used: list[pl.DataFrame] = []
    counts: dict[str, dict[str, int]] = {"rows": {cfg: 0 for cfg in opts.configs}, "short": {"sft": 0, "dpo": 0}}
    invalid = {"sft": gates.sft_invalid_reason(), "dpo": gates.dpo_invalid_reason(), "ppo": gates.ppo_invalid_reason()}
    try:
        parts = _partitions(eligible, tools)
        for i, (e, t) in enumerate(parts):
            stage(f"rows: partition {i + 1} of {len(parts)}")
            e = with_messages(e, normalize_tool_calls(t))
            for cfg in opts.configs:
                if cfg == "sft":
                    frame = to_sft(e, include_failing=opts.include_failing)
                elif cfg == "dpo":
                    frame = to_dpo(e, max_pairs=opts.max_pairs_per_task)
                else:
                    frame = to_ppo(e)
                frame = frame.with_columns(invalid[cfg].alias("reason"))
                good = frame.filter(pl.col("reason").is_null()).drop("reason")
                row_q.append(quarantine_rows(frame.filter(pl.col("reason").is_not_null()), cfg, e))
                used.append(good.select("rid"))
                if cfg == "dpo":
                    used.append(good.select(pl.col("r_rid").alias("rid")))
                    counts["short"]["dpo"] += int(good.select((pl.col("chosen_text").str.len_chars() < 30).sum()).item())
                if cfg == "sft":
                    counts["short"]["sft"] += int(good.select(
                        (pl.col("messages").list.last().struct.field("content").str.len_chars() < 20).sum()).item())
                counts["rows"][cfg] += good.height
                if stream:
                    sinks[cfg].write(training_frame(cfg, good))
                else:
                    collected[cfg].append(good)
        written = [sinks[cfg].close() for cfg in opts.configs] if stream else []
    except BaseException:
        for sink in sinks.values():
            sink.abort()
        raise
    rows = {cfg: pl.concat(frames, how="vertical_relaxed") for cfg, frames in collected.items() if frames}
    used_rids = pl.concat(used).unique() if used else pl.DataFrame(schema={"rid": pl.Int64})
    return rows, row_q, used_rids, written, counts
