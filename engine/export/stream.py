"""Building and writing the rollout configs (SFT / DPO / PPO) partition by partition, so that memory is
bounded by a partition, not by the input.

A partition holds whole rollouts (every branch of a rollout_id lands in the partition of its first
branch, so DPO pairs are complete) in input order: partition = first rid of the rollout // PARTITION_ROWS.
Rows are appended to each config's file as they are built (flat layout); the Hub layout, which sizes
its shards from the whole config, collects them instead.
"""

from __future__ import annotations

from collections.abc import Iterator
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


def _partitions(eligible: pl.DataFrame, tools: pl.DataFrame) -> Iterator[tuple[pl.DataFrame, pl.DataFrame]]:
    """Yield (branches, tool items) per partition; each is filtered when its turn comes, so only one
    partition's copy is alive at a time."""
    if eligible.height <= PARTITION_ROWS:
        yield eligible, tools
        return
    part = eligible.select("rid", (pl.col("rid").min().over("rollout_id") // PARTITION_ROWS).alias("part"))
    keys = part.get_column("part").unique(maintain_order=True).to_list()
    e_all = eligible.with_columns(part.get_column("part"))
    t_all = tools.join(part, on="rid", how="inner", maintain_order="left")
    for k in keys:
        yield (e_all.filter(pl.col("part") == k).drop("part"), t_all.filter(pl.col("part") == k).drop("part"))


def n_partitions(eligible: pl.DataFrame) -> int:
    if eligible.height <= PARTITION_ROWS:
        return 1
    return int(eligible.select((pl.col("rid").min().over("rollout_id") // PARTITION_ROWS).n_unique()).item())


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
        n_parts = n_partitions(eligible)
        for i, (e, t) in enumerate(_partitions(eligible, tools)):
            stage(f"rows: partition {i + 1} of {n_parts}")
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
