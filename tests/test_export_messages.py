"""Message building: both tool-call shapes, JSON tool results, and a differential test against the
per-record reference converters of tests/reference/export.py on generated rollouts."""

from __future__ import annotations

import json
import random
from pathlib import Path

import polars as pl
import pytest

from engine.export.pipeline import ExportOptions, run_export
from tests.reference import export as ref

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "fixtures" / "export"


def _export(tmp: Path, src: Path, **kw: object) -> Path:
    out = tmp / "out"
    run_export(ExportOptions(out_dir=out, rollout=(str(src),), fmt="jsonl", redact=False, **kw))  # type: ignore[arg-type]
    return out


def test_three_tool_call_shapes_give_the_same_messages(tmp_path: Path) -> None:
    out = _export(tmp_path, FIX / "tool-shapes.jsonl")
    sft = pl.read_ndjson(out / "sft.jsonl")
    assert sft.get_column("rollout_id").to_list() == ["rollout-shape-0", "rollout-shape-1", "rollout-shape-2"]
    msgs = sft.get_column("messages").to_list()
    assert msgs[0] == msgs[1] == msgs[2]
    roles = [m["role"] for m in msgs[0]]
    assert roles == ["user", "assistant", "tool", "assistant", "tool", "assistant", "tool", "assistant"]
    calls = [m["tool_calls"][0]["function"] for m in msgs[0] if m["tool_calls"]]
    assert [c["name"] for c in calls] == ["grep", "read_file", "run_tests"]
    assert json.loads(calls[0]["arguments"]) == {"pattern": "TODO", "path": "src/"}
    tool_contents = [m["content"] for m in msgs[0] if m["role"] == "tool"]
    # JSON, not Python str(): {"matches":2,...}, a string result kept as is, the error when no result
    assert json.loads(tool_contents[0]) == {"matches": 2, "files": ["a.py", "b.py"]}
    assert tool_contents[1] == "line 42: foo"
    assert tool_contents[2] == "timeout"
    assert [m["tool_call_id"] for m in msgs[0] if m["role"] == "tool"] == ["call_0", "call_1", "call_2"]


def _generated(tmp: Path, n: int, seed: int) -> tuple[Path, list[tuple[int, dict[str, object]]]]:
    from benchmarks.generate import records

    recs = list(records("rollout", n, seed))
    rng = random.Random(seed)
    for r in recs:  # adversarial extras: id-less events, string results, `args` spelling, empty names
        seq = r["tool_call_sequence"]
        assert isinstance(seq, list)
        roll = rng.random()
        if roll < 0.1 and seq and "event" in seq[0]:
            for ev in seq:
                ev["data"].pop("callId", None)
                if ev["event"] == "tool_call":
                    ev["data"]["name"] = ev["data"].pop("toolName")
        elif roll < 0.2 and seq and "tool_name" in seq[0]:
            seq[0]["args"] = seq[0].pop("arguments")
            seq[-1]["result"] = "plain text result"
        elif roll < 0.25:
            seq.append({"tool_name": "", "arguments": {"x": 1}})
    src = tmp / "gen.jsonl"
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs), encoding="utf-8")
    return src, list(enumerate(recs, start=1))


@pytest.mark.parametrize(("seed", "partition_rows"), [(1, 200_000), (2, 200_000), (3, 37)])
def test_differential_against_reference(tmp_path: Path, seed: int, partition_rows: int,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.export import stream

    monkeypatch.setattr(stream, "PARTITION_ROWS", partition_rows)  # 37: many partitions, same rows
    src, recs = _generated(tmp_path, 400, seed)
    for max_pairs in (1, 3):
        out = _export(tmp_path / str(max_pairs), src, include_failing=(max_pairs == 3), max_pairs_per_task=max_pairs)
        sft = pl.read_ndjson(out / "sft.jsonl").select("line", "messages").to_dicts()
        ppo = pl.read_ndjson(out / "ppo.jsonl").select("line", "prompt", "reward").to_dicts()
        dpo = pl.read_ndjson(out / "dpo.jsonl").select("line", "prompt", "chosen", "rejected").to_dicts()
        exp_sft = ref.sft(recs, include_failing=(max_pairs == 3))
        exp_dpo = ref.dpo(recs, max_pairs=max_pairs)
        # rows whose final answer is blank fail structural validation and are quarantined, not exported
        exp_sft = [r for r in exp_sft if r["messages"][-1]["content"].strip()]
        exp_dpo = [r for r in exp_dpo if r["chosen"][-1]["content"].strip() and r["rejected"][-1]["content"].strip()
                   and r["chosen"][-1]["content"].strip() != r["rejected"][-1]["content"].strip()]
        assert sft == exp_sft
        assert ppo == ref.ppo(recs)
        assert dpo == exp_dpo
