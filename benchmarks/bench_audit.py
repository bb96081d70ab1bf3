"""`engine audit` of N generated AEP records (ingest + validate + admit + verifier audit + trust +
report) into a fresh output directory, then `engine report` alone over the resulting store.

Issue 8 targets at 1,000,000 records on 2 cores: the whole audit <= 60 s wall and <= 4 GB peak
RSS; the report over the 1,000,000-record store <= 10 s.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.harness import Measurement, Row, cached_jsonl, engine_cmd, measure, row_from, run_child

DESCRIPTION = "engine audit of N AEP records (ingest, validate, admit, verifier audit, trust, report); engine report alone"
TARGET_N, TARGET_WALL_S, TARGET_RSS_BYTES, TARGET_REPORT_S = 1_000_000, 60.0, 4e9, 10.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n", type=int, default=100_000, help="AEP records (issue 8 target: 1,000,000)")


def _audit(path: Path, workdir: Path, repeat: int) -> tuple[Measurement, Path]:
    """Each repeat audits into a fresh directory (the store is rebuilt every time anyway)."""
    walls: list[float] = []
    cpus: list[float] = []
    peak, rc, out, err = 0, 0, "", ""
    target = workdir / "audit-0"
    for i in range(max(1, repeat)):
        if i:
            shutil.rmtree(target, ignore_errors=True)
        target = workdir / f"audit-{i}"
        r = run_child(engine_cmd("audit", str(path), "--out", str(target), "--format", "json"))
        walls.append(r.wall_s)
        cpus.append(r.cpu_s)
        peak, rc, out, err = max(peak, r.peak_rss_bytes), r.returncode, r.stdout, r.stderr
        if rc != 0:
            break
    return Measurement(walls, cpus, peak, rc, out, err), target


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    path = cached_jsonl("aep", args.n, args.seed)
    size = path.stat().st_size
    n = args.n
    workdir = Path(tempfile.mkdtemp(prefix="bench-audit-"))
    try:
        m, target = _audit(path, workdir, args.repeat)
        main = row_from("audit", "engine audit FILE --out DIR (end to end)", m, records=n, input_bytes=size)
        rows: list[Row] = [main]
        if main.ok:
            summary = json.loads(m.stdout)
            stages = ", ".join(f"{k} {v:.1f} s" for k, v in summary.get("stages", {}).items())
            main.note = f"last run's stages: {stages}"
            r = measure(engine_cmd("report", "--store", str(target / "evidence.duckdb"), "--out",
                                   str(workdir / "report"), "--format", "json"), repeat=args.repeat)
            rows.append(row_from("audit", "engine report --store (from the store, end to end)", r,
                                 records=n, input_bytes=size))
        main.extra["footnotes"] = _footnotes(rows)
        return [row.as_dict() for row in rows]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _footnotes(rows: list[Row]) -> list[str]:
    main = rows[0]
    if not (main.ok and main.wall_s):
        return []
    at = "" if main.records == TARGET_N else f" (this run: {main.records:,} records)"
    note = (f"issue 8 targets at {TARGET_N:,} records: audit <= {TARGET_WALL_S:.0f} s and "
            f"<= {TARGET_RSS_BYTES / 1e9:.0f} GB, report <= {TARGET_REPORT_S:.0f} s{at}; measured audit "
            f"{main.wall_s:.1f} s, {(main.peak_rss_bytes or 0) / 1e9:.2f} GB")
    if len(rows) > 1 and rows[1].wall_s:
        note += f", report {rows[1].wall_s:.1f} s"
    return [note]
