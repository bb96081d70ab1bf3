"""Claim-audit statistics at scale and at start-up (SPEC §14).

- `engine paired --long TABLE` on M models x N items (default 46 x 10,000 = 1,035 model pairs),
  end to end in a child process: DuckDB pair counts (sql/stats/pair_counts.sql), exact p values,
  Holm. Target: <= 2 s for 1,000 pairs x 10,000 items.
- the same library call timed inside the process (no interpreter start-up, no imports);
- the reference: per-pair Python loops over dicts plus exact Fraction p values, timed on a sample of
  models and items and extrapolated linearly in (pairs x items);
- start-up: `engine paired --a A --b B` on two generated 200-item eval logs. Target: <= 1 s.

    python benchmarks/run.py paired                 # registered in run.py
    python benchmarks/bench_paired.py --models 46   # standalone
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import CACHE_DIR, Row, engine_cmd, measure, python_cmd, row_from, run_once, set_ratios

DESCRIPTION = "engine paired --long (all model pairs, DuckDB + exact p + Holm) and two-log start-up"
TARGET_LONG_S, TARGET_STARTUP_S = 2.0, 1.0

_GEN_LONG = """
import sys
import numpy as np, pyarrow as pa, pyarrow.parquet as pq
models, items, seed, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rng = np.random.default_rng(seed)
skill = rng.uniform(0.3, 0.9, models)
difficulty = rng.uniform(-0.3, 0.3, items)
correct = rng.random((models, items)) < np.clip(skill[:, None] + difficulty[None, :], 0, 1)
pq.write_table(pa.table({
    "model": np.repeat([f"model-{i:03d}" for i in range(models)], items),
    "item_id": np.tile([f"item-{j:06d}" for j in range(items)], models),
    "correct": correct.ravel(),
}), out)
"""

_IN_PROCESS = """
import json, sys, time
from engine.stats.many_pairs import many_pairs
import duckdb, numpy  # imports are not what this row times
start, cpu = time.perf_counter(), time.process_time()
r = many_pairs(sys.argv[1])
print(json.dumps({"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu, "pairs": r.n_pairs}))
"""

_REFERENCE = """
import json, sys, time
import pyarrow.parquet as pq
sys.path.insert(0, sys.argv[4])
from tests.reference.stats import holm_looped, mcnemar_exact, pair_counts_looped
models, items = int(sys.argv[2]), int(sys.argv[3])
t = pq.read_table(sys.argv[1]).to_pydict()
keep_m = sorted(set(t["model"]))[:models]
keep_i = set(sorted(set(t["item_id"]))[:items])
rows = [(m, i, c) for m, i, c in zip(t["model"], t["item_id"], t["correct"]) if m in keep_m and i in keep_i]
start = time.perf_counter()
counts = pair_counts_looped(rows)
p = [float(mcnemar_exact(b, c)) for (_, b, c) in counts.values()]
holm_looped(p)
print(json.dumps({"seconds": time.perf_counter() - start, "pairs": len(counts), "items": len(keep_i)}))
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--models", type=int, default=46, help="models in the long table (46 -> 1,035 pairs)")
    parser.add_argument("--items", type=int, default=10_000, help="items per model")
    parser.add_argument("--ref-models", type=int, default=8, help="models in the reference sample")
    parser.add_argument("--ref-items", type=int, default=2_000, help="items in the reference sample")
    parser.add_argument("--log-items", type=int, default=200, help="items per eval log in the start-up row")


def _long_table(models: int, items: int, seed: int) -> Path:
    path = CACHE_DIR / f"long-m{models}-n{items}-s{seed}.parquet"
    if not path.exists():
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        wall, _, rc, _, err = run_once(python_cmd(_GEN_LONG, str(models), str(items), str(seed), str(tmp)))
        if rc != 0:
            raise SystemExit(f"generating {path.name} failed: {err.strip().splitlines()[-1:]}")
        tmp.replace(path)
    return path


def _eval_logs(n: int, seed: int) -> list[Path]:
    from benchmarks import generate

    out = CACHE_DIR / f"eval-n{n}-s{seed}-g{generate.GENERATOR_VERSION}"
    names = ("eval_a.json", "eval_b.json")
    if not all((out / name).exists() for name in names):
        generate.write_eval_pair(out, n, seed, names)
    return [out / name for name in names]


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    path = _long_table(args.models, args.items, args.seed)
    size = path.stat().st_size
    pairs = args.models * (args.models - 1) // 2
    cells = args.models * args.items

    m = measure(engine_cmd("paired", "--long", str(path), "--format", "json"), repeat=args.repeat)
    main = row_from("paired", f"engine paired --long ({pairs:,} pairs x {args.items:,} items)", m,
                    records=cells, input_bytes=size)
    if main.ok:
        doc = json.loads(m.stdout)
        main.note = f"{doc['n_pairs']:,} pairs, {doc['n_significant_holm']:,} significant after Holm"
        main.ok = main.wall_s is not None and main.wall_s <= TARGET_LONG_S
    rows = [main]

    wall, rss, rc, out, err = run_once(python_cmd(_IN_PROCESS, str(path)))
    if rc == 0:
        inner = json.loads(out)
        rows.append(Row("paired", "many_pairs() in process (no start-up, no imports)", cells, size,
                        inner["seconds"], rss, note=f"cpu {inner['cpu']:.2f} s (DuckDB uses both cores)"))

    root = str(Path(__file__).resolve().parent.parent)
    wall, rss, rc, out, err = run_once(python_cmd(_REFERENCE, str(path), str(args.ref_models),
                                                  str(args.ref_items), root))
    if rc == 0:
        ref = json.loads(out)
        scale = (pairs * args.items) / max(1, ref["pairs"] * ref["items"])
        rows.append(Row("paired", f"reference loops + Fraction p (extrapolated from {ref['pairs']} pairs x "
                        f"{ref['items']:,} items)", cells, size, ref["seconds"] * scale, rss,
                        note=f"measured {ref['seconds']:.2f} s on the sample"))
    else:
        rows.append(Row("paired", "reference loops", cells, size, None, rss, ok=False,
                        note=f"FAILED: {(err.strip().splitlines() or ['?'])[-1][:160]}"))

    log_a, log_b = _eval_logs(args.log_items, args.seed)
    s = measure(engine_cmd("paired", "--a", str(log_a), "--b", str(log_b), "--format", "json"),
                repeat=max(3, args.repeat))
    startup = row_from("paired", f"start-up: engine paired --a --b ({args.log_items} items each)", s,
                       records=2 * args.log_items, input_bytes=log_a.stat().st_size + log_b.stat().st_size)
    if startup.ok:
        startup.ok = startup.wall_s is not None and startup.wall_s <= TARGET_STARTUP_S
        startup.note = f"target <= {TARGET_STARTUP_S:.0f} s"
    rows.append(startup)
    set_ratios(rows[:3], main)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    main.extra["footnotes"] = [
        f"load average when this ran: {load:.1f} on {os.cpu_count()} cores (wall times stretch under contention; "
        "the cpu column does not)",
        f"SPEC §14: paired counts for 1,000 model pairs x 10,000 items <= {TARGET_LONG_S:.0f} s "
        f"(this run: {pairs:,} pairs x {args.items:,} items, {main.wall_s or float('nan'):.2f} s end to end)",
        f"SPEC §14: engine paired on two 200-item logs <= {TARGET_STARTUP_S:.0f} s "
        f"(this run: {startup.wall_s or float('nan'):.2f} s median of {len(s.walls)})",
    ]
    return [r.as_dict() for r in rows]


if __name__ == "__main__":
    from benchmarks.run import print_table

    parser = argparse.ArgumentParser(description=DESCRIPTION)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    add_arguments(parser)
    result = run(parser.parse_args())
    print_table(result)
    for row in result:
        for line in row.get("footnotes", []):
            print(line)
    sys.exit(0 if all(r.get("ok", True) for r in result) else 1)
