"""`engine rl-export` and `engine adp-export` over N generated rollouts (both tool-call shapes mixed).

Each command runs end to end in a child process (wall, CPU, peak RSS), writing JSON lines to a file.
Issue 10 target for 1,000,000 rollouts: <= 60 s wall each on 2 cores.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.harness import cached_jsonl, engine_cmd, measure, row_from

DESCRIPTION = "engine rl-export and adp-export of N rollouts (target: 1,000,000 in <= 60 s each)"
TARGET_WALL_S, TARGET_N = 60.0, 1_000_000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n", type=int, default=100_000, help="rollout branch records (target: 1,000,000)")


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    path = cached_jsonl("rollout", args.n, args.seed)
    size = path.stat().st_size
    out_dir = Path(tempfile.mkdtemp(prefix="bench-products-"))
    rows = []
    try:
        for name, extra in (("rl-export", []), ("adp-export", [])):
            out = out_dir / f"{name}.jsonl"
            m = measure(engine_cmd(name, str(path), "--out", str(out), *extra), repeat=args.repeat)
            row = row_from("products", f"engine {name}", m, records=args.n, input_bytes=size)
            if row.ok:
                with out.open("rb") as fh:
                    n_out = sum(1 for _ in fh)
                row.note = f"{n_out:,} lines out; cpu {m.cpu_s:,.1f} s; target {TARGET_WALL_S:.0f} s at {TARGET_N:,}"
            rows.append(row.as_dict())
            out.unlink(missing_ok=True)
        return rows
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
