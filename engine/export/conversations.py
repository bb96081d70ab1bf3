"""The chat messages of a partition's branches (reference §4.1), assembled by index.

Every message of a partition exists once, in one struct column: the user turn (the task) and the final
answer of each branch, and the assistant turn (carrying the call) and the tool turn (carrying the result)
of each call. A message list is then an index array into that column plus list offsets, computed with
numpy from the branch's call range, and one gather: no sort, group-by or join per config, and each config
builds only the lists it writes (SFT the passing branches' conversations, DPO the pairs' prompts and
completions, PPO the prompts).

A branch's conversation is [user, (assistant call k, tool result k) for each call k, final answer]; its
prompt is [user] and its completion the rest, so prompt + completion = conversation.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa

from engine.export.messages import MESSAGE_DTYPE, message


class Conversations:
    """Message lists of `branches` (rid, task, final_answer) with `calls` (rid, k, name, arguments,
    content; sorted by rid, then k, as engine.export.messages.normalize_tool_calls returns them).

    Rows are addressed by position in `branches`; branches keep any order."""

    def __init__(self, branches: pl.DataFrame, calls: pl.DataFrame) -> None:
        self.n_branches, self.n_calls = branches.height, calls.height
        call_rid = calls.get_column("rid").to_numpy()
        rid = branches.get_column("rid").to_numpy()
        self._first_call = np.searchsorted(call_rid, rid, side="left").astype(np.int64)
        self._n_calls = np.searchsorted(call_rid, rid, side="right").astype(np.int64) - self._first_call
        call_id = pl.format("call_{}", pl.col("k"))
        tool_call = pl.struct(call_id.alias("id"), pl.lit("function").alias("type"),
                              pl.struct(pl.col("name"), pl.col("arguments")).alias("function"))
        # one column: users [0, nb), assistant calls [nb, nb+nc), tool results [nb+nc, nb+2nc), finals after
        self._values = pl.concat([
            branches.select(message("user", pl.col("task")).alias("m")),
            calls.select(message("assistant", pl.lit(""), tool_calls=pl.concat_list(tool_call)).alias("m")),
            calls.select(message("tool", pl.col("content"), tool_call_id=call_id).alias("m")),
            branches.select(message("assistant", pl.col("final_answer")).alias("m")),
        ]).get_column("m")

    def messages(self, rows: np.ndarray, name: str = "messages") -> pl.Series:
        """The whole conversation of each branch at positions `rows`."""
        return self._lists(rows, name, user=True, turns=True)

    def prompts(self, rows: np.ndarray, name: str = "prompt") -> pl.Series:
        """[user task] of each branch at positions `rows`."""
        return self._lists(rows, name, user=True, turns=False)

    def completions(self, rows: np.ndarray, name: str = "completion") -> pl.Series:
        """The conversation after the prompt: the tool turns, then the final answer."""
        return self._lists(rows, name, user=False, turns=True)

    def _lists(self, rows: np.ndarray, name: str, *, user: bool, turns: bool) -> pl.Series:
        rows = np.asarray(rows, dtype=np.int64)
        nb, nc = self.n_branches, self.n_calls
        n_calls = self._n_calls[rows] if turns else np.zeros(rows.size, dtype=np.int64)
        sizes = int(user) + 2 * n_calls + int(turns)  # the final answer comes with the turns
        offsets = np.zeros(rows.size + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        idx = np.empty(int(offsets[-1]), dtype=np.int64)
        if user:
            idx[offsets[:-1]] = rows
        if turns:
            idx[offsets[1:] - 1] = nb + 2 * nc + rows
            total = int(n_calls.sum())
            if total:
                owner = np.repeat(np.arange(rows.size, dtype=np.int64), n_calls)
                t = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(n_calls) - n_calls, n_calls)
                call = self._first_call[rows][owner] + t
                at = offsets[:-1][owner] + int(user) + 2 * t
                idx[at] = nb + call
                idx[at + 1] = nb + nc + call
        values = self._values.gather(idx).to_arrow()
        lists = pa.LargeListArray.from_arrays(pa.array(offsets, type=pa.int64()), values)
        return pl.Series(name, lists, dtype=pl.List(MESSAGE_DTYPE))
