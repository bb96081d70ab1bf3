"""`engine ingest` of N generated AEP records into a fresh DuckDB store, then typical queries.

- main: `engine ingest FILE --store fresh.duckdb` end to end (read, validate, admit, normalise,
  insert), one fresh store per repeat;
- queries over the result: the run_summary aggregate of SPEC §14 through `engine sql` (end to end,
  start-up included) and the bare query time inside one DuckDB connection, plus two more typical
  aggregates (tool_usage, verifier_pass_rates);
- the reference: per-record Python (`json.loads`, then row-by-row `executemany` inserts of runs and
  actions), timed on a 2,000-record sample and extrapolated linearly to N.
SPEC §14 target for 1,000,000 records (~1.5 GB): ingest <= 30 s, <= 4 GB peak RSS; aggregate <= 1 s.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.harness import (
    Measurement,
    Row,
    cached_jsonl,
    engine_cmd,
    head_sample,
    measure,
    python_cmd,
    row_from,
    run_child,
    run_once,
    set_ratios,
)

DESCRIPTION = "engine ingest of N AEP records into DuckDB, typical queries, vs per-record inserts"
REFERENCE_SAMPLE = 2000
TARGET_WALL_S, TARGET_RSS_BYTES, TARGET_N, TARGET_QUERY_S = 30.0, 4e9, 1_000_000, 1.0
SUMMARY_QUERY = "select model_id, count(*), avg(evidence_completeness) from run_summary group by 1"
QUERIES = {
    "run_summary by model (SPEC §14)": SUMMARY_QUERY,
    "tool_usage top 10": "select * from tool_usage order by calls desc limit 10",
    "verifier_pass_rates": "select * from verifier_pass_rates",
}

_QUERY_TIMER = """
import json, sys, time, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
out = {}
for name, query in json.loads(sys.argv[2]).items():
    walls = []
    for _ in range(3):
        start = time.perf_counter()
        con.execute(query).fetchall()
        walls.append(time.perf_counter() - start)
    out[name] = sorted(walls)[1]
print(json.dumps(out))
"""

_REFERENCE = """
import json, sys, time, duckdb
with open(sys.argv[1], encoding="utf-8") as fh:
    lines = [line for line in fh if line.strip() and not line.startswith("#")]
con = duckdb.connect()
con.execute("create table runs (source varchar, line bigint, run_id varchar, model_id varchar, n_actions bigint)")
con.execute("create table actions (source varchar, line bigint, run_id varchar, tool_name varchar, state_changing boolean)")
start = time.perf_counter()
for number, text in enumerate(lines, 1):
    record = json.loads(text)
    actions = record.get("actions") or []
    con.execute("insert into runs values (?, ?, ?, ?, ?)",
                ["sample", number, record.get("run_id"), record.get("model_id"), len(actions)])
    if actions:
        con.executemany("insert into actions values (?, ?, ?, ?, ?)",
                        [["sample", number, record.get("run_id"), a.get("tool_name"), a.get("state_changing")]
                         for a in actions])
print(json.dumps({"n": len(lines), "seconds": time.perf_counter() - start}))
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n", type=int, default=100_000, help="AEP records (SPEC target: 1,000,000)")
    parser.add_argument("--no-baselines", action="store_true", help="time only the engine")


def _ingest(path: Path, workdir: Path, repeat: int) -> tuple[Measurement, Path]:
    """Like harness.measure, but each repeat ingests into a fresh store (a second ingest of the
    same file into the same store is, by design, a no-op)."""
    walls: list[float] = []
    cpus: list[float] = []
    peak, rc, out, err = 0, 0, "", ""
    store = workdir / "bench.duckdb"
    for i in range(max(1, repeat)):
        store = workdir / f"bench-{i}.duckdb"
        r = run_child(engine_cmd("ingest", str(path), "--store", str(store), "--format", "json"))
        walls.append(r.wall_s)
        cpus.append(r.cpu_s)
        peak, rc, out, err = max(peak, r.peak_rss_bytes), r.returncode, r.stdout, r.stderr
        if rc != 0:
            break
        if i + 1 < repeat:
            store.unlink()
    return Measurement(walls, cpus, peak, rc, out, err), store


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    path = cached_jsonl("aep", args.n, args.seed)
    size = path.stat().st_size
    n = args.n
    workdir = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    try:
        m, store = _ingest(path, workdir, args.repeat)
        main = row_from("ingest", "engine ingest --store X.duckdb", m, records=n, input_bytes=size)
        rows = [main]
        if main.ok:
            summary = json.loads(m.stdout)
            main.note = f"runs {summary['rows'].get('runs', 0):,}, quarantined {summary['quarantined']:,}; " \
                        f"store {store.stat().st_size / 1e6:,.0f} MB"
            q = measure(engine_cmd("sql", SUMMARY_QUERY, "--store", str(store), "--format", "json"),
                        repeat=args.repeat)
            rows.append(row_from("ingest", "engine sql run_summary aggregate (end to end)", q,
                                 records=n, input_bytes=size))
            wall, rss, rc, out, err = run_once(python_cmd(_QUERY_TIMER, str(store), json.dumps(QUERIES)))
            if rc == 0:
                for name, seconds in json.loads(out).items():
                    rows.append(Row("ingest", f"query: {name} (in-process, median of 3)", n, size, seconds, rss))
        if not args.no_baselines:
            sample = head_sample(path, REFERENCE_SAMPLE)
            wall, rss, rc, out, err = run_once(python_cmd(_REFERENCE, str(sample)))
            if rc == 0:
                ref = json.loads(out)
                per_record = ref["seconds"] / max(1, ref["n"])
                rows.append(Row("ingest", f"per-record json.loads + row inserts (extrapolated from {ref['n']:,})",
                                n, size, per_record * n, rss, note=f"RSS of the {ref['n']:,}-record sample run"))
        set_ratios(rows, main)
        main.extra["footnotes"] = _footnotes(main, rows)
        return [r.as_dict() for r in rows]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _footnotes(main: Row, rows: list[Row]) -> list[str]:
    notes = []
    if main.ok and main.wall_s:
        reference = [r for r in rows if r.variant.startswith("per-record") and r.wall_s]
        if reference:
            notes.append(f"engine ingest is {reference[0].wall_s / main.wall_s:,.1f}x faster than per-record inserts"
                         " (and writes 15 tables, not 2)")
        scale = TARGET_N / main.records
        notes.append(f"SPEC §14 target at {TARGET_N:,} records: ingest <= {TARGET_WALL_S:.0f} s, "
                     f"<= {TARGET_RSS_BYTES / 1e9:.0f} GB, aggregate <= {TARGET_QUERY_S:.0f} s"
                     + (f"; measured {main.wall_s:.2f} s, {main.peak_rss_bytes / 1e9:.2f} GB"
                        if scale == 1 else f"; this run is at {main.records:,} records (x{scale:g} to target)"))
    return notes
