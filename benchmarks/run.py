"""One runner for every benchmark; prints sizes, wall time, throughput, peak RSS and ratios.

    python benchmarks/run.py validate --n 1000000            # SPEC §14: <= 15 s, <= 3 GB
    python benchmarks/run.py validate --n 100000 --repeat 3 --json out.json
    python benchmarks/run.py list

A benchmark is a module `benchmarks/bench_<name>.py` with `DESCRIPTION`, `add_arguments(parser)`
and `run(args) -> list[dict]` (rows; see `harness.Row.as_dict`). Register it in BENCHMARKS.
Inputs are generated once into benchmarks/.cache/ (gitignored) and reused; timed work runs in
child processes.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# name -> module; adding a benchmark is one line here plus its module
BENCHMARKS: dict[str, str] = {
    "validate": "benchmarks.bench_validate",
    "contamination": "benchmarks.bench_contamination",
    "ingest": "benchmarks.bench_ingest",
    "verify": "benchmarks.bench_verify",
    "paired": "benchmarks.bench_paired",
    "admit": "benchmarks.bench_admit",
    "products": "benchmarks.bench_products",
    "export": "benchmarks.bench_export",
    "import": "benchmarks.bench_import",
    "audit": "benchmarks.bench_audit",
}


def _module(name: str) -> ModuleType:
    return importlib.import_module(BENCHMARKS[name])


def _size(n: float | None) -> str:
    if n is None:
        return "-"
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000
    return "-"


def _cells(row: dict[str, Any]) -> list[str]:
    wall, rate, ratio = row.get("wall_s"), row.get("records_per_s"), row.get("ratio")
    return [
        row["benchmark"],
        row["variant"],
        f"{row['records']:,}",
        _size(row.get("input_bytes")),
        "-" if wall is None else f"{wall:,.2f}",
        "-" if row.get("cpu_s") is None else f"{row['cpu_s']:,.2f}",
        "-" if rate is None else f"{rate:,.0f}",
        _size(row.get("peak_rss_bytes")),
        "-" if ratio is None else f"{ratio:,.2f}x",
        row.get("note", ""),
    ]


HEADERS = ["benchmark", "variant", "records", "input", "wall s (median)", "cpu s", "records/s", "peak RSS",
           "wall vs main", "note"]


def print_table(rows: list[dict[str, Any]], markdown: bool = False) -> None:
    if markdown:
        print("| " + " | ".join(HEADERS) + " |")
        print("|" + "|".join("---" for _ in HEADERS) + "|")
        for row in rows:
            print("| " + " | ".join(_cells(row)) + " |")
        return
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:  # plain fallback
        print("\t".join(HEADERS))
        for row in rows:
            print("\t".join(_cells(row)))
        return
    table = Table(title="trace-engine benchmarks", show_lines=False)
    for h in HEADERS:
        table.add_column(h, justify="right" if h not in ("benchmark", "variant", "note") else "left",
                         overflow="fold")
    for row in rows:
        table.add_row(*_cells(row), style=None if row.get("ok", True) else "red")
    Console(width=None if sys.stdout.isatty() else 200).print(table)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--repeat", type=int, default=1, help="runs per timed command; the median is shown")
    common.add_argument("--seed", type=int, default=1, help="generator seed of the input data")
    common.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    common.add_argument("--markdown", action="store_true", help="print a Markdown table (for the README)")
    sub = parser.add_subparsers(dest="benchmark", required=True)
    sub.add_parser("list", help="list the benchmarks")
    for name in BENCHMARKS:
        try:
            module = _module(name)
        except Exception as exc:  # one broken benchmark module must not take the runner down
            sub.add_parser(name, help=f"(unavailable: {type(exc).__name__}: {exc})")
            continue
        p = sub.add_parser(name, parents=[common], help=module.DESCRIPTION, description=module.DESCRIPTION)
        module.add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.benchmark == "list":
        for name in BENCHMARKS:
            try:
                print(f"{name:14s} {_module(name).DESCRIPTION}")
            except Exception as exc:
                print(f"{name:14s} (unavailable: {type(exc).__name__}: {exc})")
        return 0
    rows = _module(args.benchmark).run(args)
    print_table(rows, markdown=args.markdown)
    for row in rows:
        for line in row.get("footnotes", []):
            print(line)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return 0 if all(row.get("ok", True) for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
