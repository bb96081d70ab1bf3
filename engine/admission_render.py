"""Rich text rendering for `engine admit`, `gate`, `trust-score` and `verifier-audit`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.admission import CATEGORIES, DIMENSIONS

_SHORT = {"schema_validity": "valid", "evidence_completeness": "evid", "policy_compliance": "policy",
          "verifier_strength": "verif", "provenance": "prov", "contamination_risk": "contam"}


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if value == value else "nan"
    return str(value)


def render_admit_text(result: Any, console: Any, *, top: int = 20) -> None:
    from rich.table import Table

    from engine.admission_run import record_rows

    summary = result.summary
    rows = record_rows(result.scored, max(top, 0))
    table = Table(title=f"Admission ({summary['policy']} policy)", show_lines=False)
    for col in ("file:line", "run_id", "score", "category", "reasons"):
        table.add_column(col, overflow="fold", no_wrap=col in ("score", "category"))
    for short in _SHORT.values():
        table.add_column(short, justify="right")
    for row in rows:
        table.add_row(
            f"{Path(str(row['source'])).name}:{row['line']}", _fmt(row["run_id"]), _fmt(row["score"]), row["category"],
            "; ".join(row["reasons"]) or "-", *(_fmt(row[f"dim_{d}"]) for d in DIMENSIONS),
        )
    if rows:
        console.print(table)
        console.print("columns: " + ", ".join(f"{v} = {k}" for k, v in _SHORT.items()), style="dim")
    rest = summary["records"] - len(rows)
    if rest > 0:
        console.print(f"... and {rest:,} more records (use --top N or --format json / --out DIR)")
    cats = Table(title="By category")
    cats.add_column("category")
    cats.add_column("records", justify="right")
    for cat in CATEGORIES:
        cats.add_row(cat, f"{summary['by_category'][cat]:,}")
    console.print(cats)
    console.print(
        f"records {summary['records']:,}  admitted {summary['admitted']:,}  audit_only {summary['audit_only']:,}  "
        f"rejected {summary['rejected']:,} (schema_invalid {summary['schema_invalid']:,})  "
        f"mean score {summary['mean_score']:.4f}  min_score {summary['min_score']}"
    )
    if summary.get("skipped_other_kinds"):
        console.print(f"skipped {summary['skipped_other_kinds']:,} records of other kinds")
    if summary.get("quarantined_lines"):
        console.print(f"[yellow]{summary['quarantined_lines']:,} lines were not JSON objects (quarantined)[/]")
    for name, path in result.written.items():
        console.print(f"wrote {name}: {path}")
