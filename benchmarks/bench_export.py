"""`engine export` of N generated rollouts (2-4 branches per task) to SFT / DPO / PPO Parquet.

- main: `engine export --rollout FILE --format parquet` end to end in a child process (wall, CPU, peak RSS),
  with redaction and every gate on (the default);
- reference: the per-record Python converters of tests/reference/export.py (json.loads + dict walking
  per branch, the original's approach) on a 2,000-record sample, extrapolated linearly to N.
SPEC §14 target for 1,000,000 rollouts: <= 30 s wall, <= 4 GB peak RSS on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.harness import (
    Row,
    cached_jsonl,
    engine_cmd,
    head_sample,
    measure,
    python_cmd,
    row_from,
    run_once,
    set_ratios,
)

DESCRIPTION = "engine export of N rollouts to SFT/DPO/PPO Parquet vs per-record reference converters"
REFERENCE_SAMPLE = 2000
TARGET_WALL_S, TARGET_RSS_BYTES, TARGET_N = 30.0, 4e9, 1_000_000

_REFERENCE = """
import json, sys, time
sys.path.insert(0, sys.argv[2])
from tests.reference import export as ref
with open(sys.argv[1], encoding="utf-8") as fh:
    lines = [line for line in fh if line.strip() and not line.startswith("#")]
start = time.perf_counter()
recs = [(i, json.loads(line)) for i, line in enumerate(lines, start=1)]
out = {"sft": len(ref.sft(recs)), "dpo": len(ref.dpo(recs)), "ppo": len(ref.ppo(recs))}
print(json.dumps({"n": len(lines), "seconds": time.perf_counter() - start, **out}))
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n", type=int, default=100_000, help="rollout branch records (SPEC target: 1,000,000)")
    parser.add_argument("--no-baselines", action="store_true", help="time only the engine")
    parser.add_argument("--keep", action="store_true", help="keep the exported folder (printed in the note)")


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    path = cached_jsonl("rollout", args.n, args.seed)
    size = path.stat().st_size
    out_dir = Path(tempfile.mkdtemp(prefix="bench-export-"))
    try:
        m = measure(engine_cmd("export", "--rollout", str(path), "--out-dir", str(out_dir / "out"),
                               "--format", "parquet", "--report", "json"), repeat=args.repeat)
        main = row_from("export", "engine export --format parquet", m, records=args.n, input_bytes=size)
        if main.ok:
            summary = json.loads(m.stdout)
            rows = summary["counts"]["rows"]
            main.extra.update({"rows": rows, "quarantined": summary["counts"]["quarantined"]})
            main.note = f"sft {rows['sft']:,} dpo {rows['dpo']:,} ppo {rows['ppo']:,}; cpu {m.cpu_s:,.1f} s"
        rows_out = [main]
        if not args.no_baselines:
            sample = head_sample(path, REFERENCE_SAMPLE)
            root = str(Path(__file__).resolve().parent.parent)
            wall, rss, rc, out, err = run_once(python_cmd(_REFERENCE, str(sample), root))
            if rc == 0:
                ref = json.loads(out)
                per = ref["seconds"] / max(1, ref["n"])
                rows_out.append(Row("export", f"per-record reference (extrapolated from {ref['n']:,})", args.n, size,
                                    per * args.n, rss, note="no redaction, no gates, no writing"))
            else:
                tail = (err.strip().splitlines() or ["(no stderr)"])[-1][:160]
                rows_out.append(Row("export", "per-record reference", args.n, size, None, rss, ok=False,
                                    note=f"FAILED rc={rc}: {tail}"))
        set_ratios(rows_out, main)
        if main.ok and main.wall_s:
            main.extra["footnotes"] = [
                f"SPEC §14 target at {TARGET_N:,} rollouts: <= {TARGET_WALL_S:.0f} s, <= {TARGET_RSS_BYTES / 1e9:.0f} GB; "
                f"measured {main.wall_s:.2f} s wall, {m.cpu_s:.1f} s CPU, {main.peak_rss_bytes / 1e9:.2f} GB at "
                f"{args.n:,} rollouts"]
        return [r.as_dict() for r in rows_out]
    finally:
        if args.keep:
            print(f"export kept in {out_dir}")
        else:
            shutil.rmtree(out_dir, ignore_errors=True)
