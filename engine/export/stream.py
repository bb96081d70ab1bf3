"""Building and writing the rollout configs (SFT / DPO / PPO) partition by partition, so that memory is
bounded by a partition, not by the input.

A partition holds whole rollouts (every branch of a rollout_id lands in the partition of its first
branch, so DPO pairs are complete) in input order: partition = first rid of the rollout // PARTITION_ROWS.
Rows are appended to each config's file as they are built (flat layout), on a writer thread so that
encoding one partition overlaps building the next; the Hub layout, which sizes its shards from the whole
config, collects them instead. Messages are assembled by index (engine.export.conversations).
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from engine.export import gates
from engine.export.conversations import Conversations
from engine.export.dpo import to_dpo
from engine.export.messages import normalize_tool_calls
from engine.export.ppo import to_ppo
from engine.export.quarantine import quarantine_rows
from engine.export.sft import to_sft
from engine.export.writers import Sink, WrittenFile

if TYPE_CHECKING:
    from engine.export.pipeline import ExportOptions, Stage

PARTITION_ROWS = 200_000


Rows = slice | np.ndarray  # the rows of one partition: a contiguous run (zero-copy slice) or a mask


def _rows_of(mask: np.ndarray) -> Rows:
    at = np.flatnonzero(mask)
    if at.size and int(at[-1]) - int(at[0]) + 1 == at.size:
        return slice(int(at[0]), int(at[-1]) + 1)
    return mask


def _take(frame: pl.DataFrame, rows: Rows) -> pl.DataFrame:
    if isinstance(rows, slice):
        return frame.slice(rows.start, rows.stop - rows.start)
    return frame.filter(pl.Series(rows))


def _partition_rows(eligible: pl.DataFrame, tools: pl.DataFrame) -> list[tuple[Rows, Rows]]:
    """(branch rows, tool item rows) of each partition, in order of first appearance. Inputs whose rollouts
    are contiguous (the usual case) give contiguous runs: slices, not copies."""
    if eligible.height <= PARTITION_ROWS:
        return [(slice(0, eligible.height), slice(0, tools.height))]
    part = eligible.select(pl.col("rid").min().over("rollout_id") // PARTITION_ROWS).to_series().to_numpy()
    rid = eligible.get_column("rid").to_numpy()
    by_rid = np.argsort(rid, kind="stable")
    t_rid = tools.get_column("rid").to_numpy()
    at = np.minimum(np.searchsorted(rid[by_rid], t_rid), rid.size - 1)
    t_part = np.where(rid[by_rid][at] == t_rid, part[by_rid][at], -1)  # items of no eligible branch: none
    keys, first = np.unique(part, return_index=True)
    return [(_rows_of(part == k), _rows_of(t_part == k)) for k in keys[np.argsort(first)]]


class _BackgroundWriter:
    """Appends frames to their sinks on one writer thread (Parquet encoding and zstd release the GIL), so
    partition i is written while partition i+1 is built. At most two partitions' frames wait in memory."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="export-writer")
        self._pending: list[Future[None]] = []
        self._previous: list[Future[None]] = []

    def write(self, sink: Sink, frame: pl.DataFrame) -> None:
        self._pending.append(self._pool.submit(sink.write, frame))

    def end_partition(self) -> None:
        for fut in self._previous:  # re-raises a failed write here, in the exporting thread
            fut.result()
        self._previous, self._pending = self._pending, []

    def finish(self) -> None:
        try:
            for fut in [*self._previous, *self._pending]:
                fut.result()
        finally:
            self._pool.shutdown(wait=True)

    def abandon(self) -> None:
        """Wait for the writes in flight (so the sinks can be aborted safely), ignoring their errors."""
        for fut in [*self._previous, *self._pending]:
            fut.cancel()
        self._pool.shutdown(wait=True)


def _config_rows(cfg: str, e: pl.DataFrame, conv: Conversations, opts: ExportOptions,
                 invalid: pl.Expr) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rows that pass the structural gate, rows that fail it with their reason) of one config."""
    if cfg == "sft":
        frame = to_sft(e, conv, include_failing=opts.include_failing)
    elif cfg == "dpo":
        frame = to_dpo(e, conv, max_pairs=opts.max_pairs_per_task)
    else:  # the conversation is only needed by the legacy ppo/v1 records
        frame = to_ppo(e, conv, with_messages=opts.legacy_records)
    reason = frame.select(invalid.alias("reason")).to_series()
    if reason.null_count() == frame.height:  # all valid: no copy of the (nested) columns
        return frame, frame.head(0).with_columns(reason.head(0))
    bad = reason.is_not_null()
    return frame.filter(~bad), frame.filter(bad).with_columns(reason.filter(bad))


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
    writer = _BackgroundWriter()
    collected: dict[str, list[pl.DataFrame]] = {cfg: [] for cfg in opts.configs}
    row_q: list[pl.DataFrame] = []
    used: list[pl.DataFrame] = []
    counts: dict[str, dict[str, int]] = {"rows": {cfg: 0 for cfg in opts.configs}, "short": {"sft": 0, "dpo": 0}}
    invalid = {"sft": gates.sft_invalid_reason(), "dpo": gates.dpo_invalid_reason(), "ppo": gates.ppo_invalid_reason()}
    try:
        plan = _partition_rows(eligible, tools)
        for i, (e_rows, t_rows) in enumerate(plan):
            stage(f"rows: partition {i + 1} of {len(plan)}")
            e, t = _take(eligible, e_rows), _take(tools, t_rows)  # one partition's copy alive at a time
            conv = Conversations(e, normalize_tool_calls(t))
            for cfg in opts.configs:
                good, bad = _config_rows(cfg, e, conv, opts, invalid[cfg])
                row_q.append(quarantine_rows(bad, cfg, e))
                used.append(good.select("rid"))
                if cfg == "dpo":
                    used.append(good.select(pl.col("r_rid").alias("rid")))
                    counts["short"]["dpo"] += int(good.select((pl.col("chosen_text").str.len_chars() < 30).sum()).item())
                if cfg == "sft":
                    counts["short"]["sft"] += int(good.select(
                        (pl.col("messages").list.last().struct.field("content").str.len_chars() < 20).sum()).item())
                counts["rows"][cfg] += good.height
                if stream:
                    writer.write(sinks[cfg], training_frame(cfg, good))
                else:
                    collected[cfg].append(good)
            del conv
            writer.end_partition()
        writer.finish()
        written = [sinks[cfg].close() for cfg in opts.configs] if stream else []
    except BaseException:
        writer.abandon()
        for sink in sinks.values():
            sink.abort()
        raise
    rows = {cfg: pl.concat(frames, how="vertical_relaxed") for cfg, frames in collected.items() if frames}
    used_rids = pl.concat(used).unique() if used else pl.DataFrame(schema={"rid": pl.Int64})
    return rows, row_q, used_rids, written, counts
