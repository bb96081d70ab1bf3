"""Fuzz: 1,000 randomly mutated source records per importer → no traceback, every input record
imported or quarantined (read == imported + quarantined), and every emitted record valid."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from engine.importers import SOURCES, import_paths
from engine.validate import ValidateOptions, validate_paths

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "importers"
N = 1000
_ODD: list[Any] = [None, 0, -1, 1.5, 10**30, True, "", "x", "\u2028", "é", [], {}, [1, "a", None], {"k": [{}]},
                   "2025-13-45T99:99:99Z", "1e400", {"nested": {"deeper": [[[]]]}}]


def _seeds(source: str) -> list[dict[str, Any]]:
    folder = FIXTURES / source.replace("-", "_")
    seeds: list[dict[str, Any]] = []
    for path in sorted(folder.iterdir()):
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".json":
            seeds.append(json.loads(text))
            continue
        seeds.extend(json.loads(line) for line in text.splitlines() if line.strip() and not line.startswith("#"))
    return seeds


def _mutate(value: Any, rng: random.Random, depth: int = 0) -> Any:
    if isinstance(value, dict) and value and depth < 6:
        out = dict(value)
        key = rng.choice(sorted(out))
        roll = rng.random()
        if roll < 0.2:
            del out[key]
        elif roll < 0.45:
            out[key] = rng.choice(_ODD)
        elif roll < 0.55:
            out[f"unknown_{rng.randrange(5)}"] = rng.choice(_ODD)
        else:
            out[key] = _mutate(out[key], rng, depth + 1)
        return out
    if isinstance(value, list) and value and depth < 6:
        out_list = list(value)
        i = rng.randrange(len(out_list))
        roll = rng.random()
        if roll < 0.2:
            del out_list[i]
        elif roll < 0.4:
            out_list.append(rng.choice(_ODD))
        elif roll < 0.5:
            out_list[i] = rng.choice(_ODD)
        else:
            out_list[i] = _mutate(out_list[i], rng, depth + 1)
        return out_list
    return rng.choice(_ODD) if rng.random() < 0.5 else value


def _fuzz_file(source: str, tmp_path: Path) -> Path:
    rng = random.Random(f"fuzz-{source}")
    seeds = _seeds(source)
    lines = []
    for _ in range(N):
        record = rng.choice(seeds)
        for _ in range(rng.randint(1, 4)):
            record = _mutate(record, rng)
        if not isinstance(record, dict):
            record = {"value": record}
        lines.append(json.dumps(record, ensure_ascii=rng.random() < 0.5))
    path = tmp_path / f"{source}.fuzz.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


CASES = [(s, f) for s in SOURCES for f in SOURCES[s][2]]


@pytest.mark.parametrize(("source", "fmt"), CASES)
def test_mutated_records_are_imported_or_quarantined(source: str, fmt: str, tmp_path: Path) -> None:
    path = _fuzz_file(source, tmp_path)
    out = tmp_path / f"{source}.{fmt}.jsonl"
    summary = import_paths(source, [str(path)], out, fmt)
    assert summary.records_read == summary.imported + summary.quarantined
    if source != "otel":  # OTLP containers hold several spans; every other source reads one item per line
        assert summary.records_read == N
    else:
        assert summary.records_read >= N - summary.quarantined_by_reason.get("no spans in resourceSpans", 0)
    assert summary.imported > N // 10  # most mutations keep the required keys
    q_lines = Path(summary.quarantine_file).read_text(encoding="utf-8").split("\n")[:-1]
    assert len(q_lines) == summary.quarantined
    assert all(json.loads(x)["reason"] for x in q_lines)
    if summary.records_written:
        report = validate_paths([str(out)], ValidateOptions())
        assert report.records == summary.records_written
        assert report.valid == report.records, report.summary()["top_errors"]
