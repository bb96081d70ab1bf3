"""`engine admit` (structural validation + admission score) on N generated AEP records.

Compared with the slow reference: per record `json.loads` + jsonschema structural verdict +
the line-by-line admission scorer of tests/reference/admission.py (what the original toolkit
would have to do), timed on a 2,000-record sample and extrapolated linearly to N.
SPEC §14 / issue 3 target for 1,000,000 records: <= 20 s wall, <= 3 GB peak RSS.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from benchmarks.harness import (
    Row,
    cached_jsonl,
    engine_cmd,
    head_sample,
    measure,
    python_cmd,
    row_from,
    run_child,
    set_ratios,
)

DESCRIPTION = "engine admit (validate + admission score) on N AEP records vs per-record reference"
REFERENCE_SAMPLE = 2000
TARGET_WALL_S, TARGET_RSS_BYTES, TARGET_N = 20.0, 3e9, 1_000_000

_REFERENCE = """
import json, sys, time
import jsonschema, wasmagent_protocol
from engine.policy import load_policy
from tests.reference.admission import score_record
validator = jsonschema.Draft202012Validator(wasmagent_protocol.get_schema("aep-record"))
policy = load_policy()
with open(sys.argv[1], encoding="utf-8") as fh:
    lines = [line for line in fh if line.strip() and not line.startswith("#")]
start = time.perf_counter()
admitted = 0
for line in lines:
    record = json.loads(line)
    admitted += score_record(record, validator.is_valid(record), policy)["admitted"]
print(json.dumps({"n": len(lines), "seconds": time.perf_counter() - start, "admitted": admitted}))
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n", type=int, default=100_000, help="AEP records (target: 1,000,000)")
    parser.add_argument("--invalid-rate", type=float, default=0.0, help="fraction of schema-invalid records")
    parser.add_argument("--no-baselines", action="store_true", help="time only the engine")


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    options = {"invalid_rate": args.invalid_rate} if args.invalid_rate else {}
    path = cached_jsonl("aep", args.n, args.seed, **options)
    size = path.stat().st_size
    n = args.n
    m = measure(engine_cmd("admit", str(path), "--format", "json"), repeat=args.repeat)
    main = row_from("admit", "engine admit --format json", m, records=n, input_bytes=size)
    if main.ok:
        summary = json.loads(m.stdout)
        main.extra.update({k: summary.get(k) for k in ("records", "admitted", "audit_only", "rejected", "mean_score")})
        main.note = f"admitted {summary.get('admitted'):,} / {summary.get('records'):,}"
    rows = [main]
    if not args.no_baselines:
        sample = head_sample(path, REFERENCE_SAMPLE)
        child = run_child(python_cmd(_REFERENCE, str(sample)))
        if child.returncode == 0:
            ref = json.loads(child.stdout)
            per_record = ref["seconds"] / max(1, ref["n"])
            cpu_share = child.cpu_s / max(child.wall_s, 1e-9)
            rows.append(Row("admit", f"jsonschema + reference scorer per record (extrapolated from {ref['n']:,})",
                            n, size, per_record * n, child.peak_rss_bytes, per_record * n * cpu_share,
                            note=f"RSS of the {ref['n']:,}-record sample run"))
        else:
            tail = (child.stderr.strip().splitlines() or ["(no stderr)"])[-1][:160]
            rows.append(Row("admit", "reference per record", n, size, None, child.peak_rss_bytes, ok=False,
                            note=f"FAILED rc={child.returncode}: {tail}"))
    set_ratios(rows, main)
    if main.ok and main.wall_s:
        main.extra["footnotes"] = [
            f"target at {TARGET_N:,} records: <= {TARGET_WALL_S:.0f} s, <= {TARGET_RSS_BYTES / 1e9:.0f} GB; measured "
            f"{main.wall_s:.2f} s, {(main.peak_rss_bytes or 0) / 1e9:.2f} GB at {main.records:,} records"
        ]
    return [r.as_dict() for r in rows]
