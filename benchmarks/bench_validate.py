"""`engine validate` on N generated AEP records, end to end, against two baselines.

- DuckDB bare reads of the same file (the floor: parse the JSON and count, nothing checked):
  `read_json` (typed columns, what a columnar engine has to do at least) and
  `read_ndjson_objects` (split into JSON values only);
- the reference: `json.loads` + `jsonschema.Draft202012Validator.validate` per record (what the
  original toolkit does), timed on a 2,000-record sample and extrapolated linearly to N.
SPEC §14 target for 1,000,000 records (~1.5 GB): <= 15 s wall, <= 3 GB peak RSS.
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

DESCRIPTION = "engine validate on N AEP records vs a bare DuckDB read and per-record jsonschema"
REFERENCE_SAMPLE = 2000
TARGET_WALL_S, TARGET_RSS_BYTES, TARGET_N = 15.0, 3e9, 1_000_000

_DUCKDB = """
import sys, duckdb
con = duckdb.connect()
print(con.execute("SELECT count(*) FROM {fn}(?)", [sys.argv[1]]).fetchone()[0])
"""

_JSONSCHEMA = """
import json, sys, time
import jsonschema, wasmagent_protocol
validator = jsonschema.Draft202012Validator(wasmagent_protocol.get_schema("aep-record"))
with open(sys.argv[1], encoding="utf-8") as fh:
    lines = [line for line in fh if line.strip() and not line.startswith("#")]
start = time.perf_counter()
invalid = 0
for line in lines:
    try:
        validator.validate(json.loads(line))
    except (ValueError, jsonschema.ValidationError):
        invalid += 1
print(json.dumps({"n": len(lines), "seconds": time.perf_counter() - start, "invalid": invalid}))
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n", type=int, default=100_000, help="AEP records (SPEC target: 1,000,000)")
    parser.add_argument("--invalid-rate", type=float, default=0.0, help="fraction of schema-invalid records")
    parser.add_argument("--no-baselines", action="store_true", help="time only the engine")


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    options = {"invalid_rate": args.invalid_rate} if args.invalid_rate else {}
    path = cached_jsonl("aep", args.n, args.seed, **options)
    size = path.stat().st_size
    n = args.n

    m = measure(engine_cmd("validate", str(path), "--format", "json", "--fail-under", "0"), repeat=args.repeat)
    main = row_from("validate", "engine validate --format json", m, records=n, input_bytes=size)
    if main.ok:
        summary = json.loads(m.stdout)
        main.extra.update({"valid": summary.get("valid"), "invalid": summary.get("invalid"),
                           "engine_records": summary.get("records")})
        main.note = f"valid {summary.get('valid'):,} / {summary.get('records'):,}"
    rows = [main]

    if not args.no_baselines:
        for fn in ("read_json", "read_ndjson_objects"):
            bm = measure(python_cmd(_DUCKDB.format(fn=fn), str(path)), repeat=args.repeat)
            rows.append(row_from("validate", f"duckdb count(*) {fn} (bare read)", bm, records=n, input_bytes=size))
        sample = head_sample(path, REFERENCE_SAMPLE)
        child = run_child(python_cmd(_JSONSCHEMA, str(sample)))
        if child.returncode == 0:
            ref = json.loads(child.stdout)
            per_record = ref["seconds"] / max(1, ref["n"])
            # single-threaded pure Python: its CPU time per record scales like its wall time
            cpu_share = child.cpu_s / max(child.wall_s, 1e-9)
            rows.append(Row("validate", f"jsonschema per record (extrapolated from {ref['n']:,})", n, size,
                            per_record * n, child.peak_rss_bytes, per_record * n * cpu_share,
                            note=f"RSS of the {ref['n']:,}-record sample run"))
        else:
            tail = (child.stderr.strip().splitlines() or ["(no stderr)"])[-1][:160]
            rows.append(Row("validate", "jsonschema per record", n, size, None, child.peak_rss_bytes, ok=False,
                            note=f"FAILED rc={child.returncode}: {tail}"))
    set_ratios(rows, main)
    main.extra["footnotes"] = _footnotes(main, rows)
    return [r.as_dict() for r in rows]


def _footnotes(main: Row, rows: list[Row]) -> list[str]:
    notes = []
    if main.ok and main.wall_s:
        for row in rows[1:]:
            if row.ok and row.wall_s:
                cpu_ratio = row.cpu_s / main.cpu_s if row.cpu_s and main.cpu_s else None
                if row.wall_s >= main.wall_s:
                    cpu = f" (CPU time: {cpu_ratio:,.1f}x)" if cpu_ratio else ""
                    notes.append(f"engine validate is {row.wall_s / main.wall_s:,.1f}x faster than {row.variant}{cpu}")
                else:
                    cpu = f" (CPU time: {1 / cpu_ratio:,.1f}x)" if cpu_ratio else ""
                    notes.append(f"engine validate takes {main.wall_s / row.wall_s:,.1f}x the time of {row.variant}"
                                 f"{cpu}")
        scale = TARGET_N / main.records
        notes.append(f"SPEC §14 target at {TARGET_N:,} records: <= {TARGET_WALL_S:.0f} s, <= {TARGET_RSS_BYTES / 1e9:.0f} GB"
                     + (f"; measured {main.wall_s:.2f} s, {(main.peak_rss_bytes or 0) / 1e9:.2f} GB"
                        if scale == 1 else f"; this run is at {main.records:,} records (x{scale:g} to target)"))
    return notes
