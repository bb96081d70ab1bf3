"""Writers: atomic rename (a SIGKILL mid-export leaves no partial final file), bounded row groups,
deterministic bytes, manifest digests."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from engine.export.writers import atomic_path, rows_per_group, write_frame

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "fixtures" / "export"
FINAL_NAMES = ("sft", "dpo", "ppo", "quarantine")


def test_atomic_path_leaves_nothing_on_error(tmp_path: Path) -> None:
    final = tmp_path / "a.jsonl"
    try:
        with atomic_path(final) as tmp:
            tmp.write_text("partial")
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert list(tmp_path.iterdir()) == []


def test_parquet_row_groups_bounded_and_bytes_stable(tmp_path: Path) -> None:
    frame = pl.DataFrame({"a": list(range(250_000)), "b": ["x" * 10] * 250_000})
    assert rows_per_group(frame) == 100_000
    w1 = write_frame(frame, tmp_path / "1", "f.parquet", fmt="parquet", config="t")
    w2 = write_frame(frame, tmp_path / "2", "f.parquet", fmt="parquet", config="t")
    assert w1.sha256 == w2.sha256 == hashlib.sha256((tmp_path / "1" / "f.parquet").read_bytes()).hexdigest()
    meta = pq.ParquetFile(tmp_path / "1" / "f.parquet").metadata
    assert meta.num_row_groups == 3
    assert meta.row_group(0).column(0).compression == "ZSTD"


def _big_input(path: Path, n: int) -> None:
    lines = (FIX / "tool-shapes.jsonl").read_text().splitlines() + (FIX / "rollout-branches.jsonl").read_text().splitlines()
    with path.open("w") as fh:
        for i in range(n):
            rec = json.loads(lines[i % len(lines)])
            rec["rollout_id"] = f"{rec['rollout_id']}-{i // len(lines)}"
            fh.write(json.dumps(rec) + "\n")


def _complete(path: Path) -> bool:
    if path.suffix == ".parquet":
        try:
            pq.read_table(path)
            return True
        except Exception:
            return False
    text = path.read_text()
    return text == "" or (text.endswith("\n") and all(json.loads(x) is not None for x in text.splitlines()))


def test_sigkill_leaves_no_partial_final_file(tmp_path: Path) -> None:
    src = tmp_path / "big.jsonl"
    _big_input(src, 60_000)
    for fmt in ("jsonl", "parquet"):
        out = tmp_path / f"out-{fmt}"
        proc = subprocess.Popen([sys.executable, "-m", "engine", "export", "--rollout", str(src), "--out-dir",
                                 str(out), "--format", fmt, "--report", "json"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
        deadline = time.time() + 240
        killed = False
        while time.time() < deadline and proc.poll() is None:
            if out.is_dir() and any(".tmp-" in p.name for p in out.iterdir()):
                os.kill(proc.pid, signal.SIGKILL)
                killed = True
                break
            time.sleep(0.005)
        proc.wait(timeout=60)
        assert killed, "export finished before a temporary file was seen"
        for p in out.iterdir():
            if ".tmp-" in p.name:
                continue  # the temporary is hidden and never under a final name
            assert p.stem in FINAL_NAMES or p.name in ("README.md", "manifest.json"), p.name
            assert _complete(p), f"partial final file {p.name}"
        if (out / "manifest.json").exists():  # written last: everything it lists is complete
            for f in json.loads((out / "manifest.json").read_text())["files"]:
                assert hashlib.sha256((out / f["path"]).read_bytes()).hexdigest() == f["sha256"]
