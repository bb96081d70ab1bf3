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


def render_trust_text(result: dict[str, Any], console: Any, *, top: int = 50) -> None:
    from collections import Counter

    from rich.table import Table

    table = Table(title=f"Trust score ({result['n_groups']:,} groups, {result['records']:,} records)")
    dims = ("evidence_completeness", "policy_compliance", "verifier_agreement", "budget_compliance",
            "supply_chain_integrity")
    for col in ("group", "n", "overall", "grade", "known", "evid", "policy", "verif", "budget", "supply", "calibrated"):
        table.add_column(col, overflow="fold", min_width=12 if col == "group" else None)
    notes: Counter[str] = Counter()
    for g in result["groups"][:top]:
        cal = g["calibrated"]
        table.add_row(str(g["group_key"]), str(g["records"]), _fmt(g["overall"]), g["grade"],
                      str(g["known_dimensions"]), *(_fmt(g["breakdown"].get(d)) for d in dims),
                      f"{_fmt(cal['composite'])} {cal['label'] or ''}")
    for g in result["groups"]:
        notes.update(g["notes"])
    console.print(table)
    if result["n_groups"] > top:
        console.print(f"... and {result['n_groups'] - top:,} more groups (use --format json)")
    for note, count in notes.most_common():
        console.print(f"note ({count:,} groups): {note}", style="dim")


def render_audit_text(result: dict[str, Any], console: Any) -> None:
    from rich.table import Table

    table = Table(title=f"Verifier audit ({result['records']:,} records, {result['skipped_invalid']:,} invalid skipped)")
    for col in ("verifier", "n", "pass rate", "strength", "findings"):
        table.add_column(col, overflow="fold")
    for v in result["verifiers"]:
        findings = ", ".join(f"{f['check_id']} ({f['severity']})" for f in v["findings"]) or "-"
        table.add_row(v["verifier_id"], f"{v['total_results']:,}", _fmt(v["pass_rate"]), _fmt(v["strength_score"]),
                      findings)
    console.print(table)


def render_gate_text(report: dict[str, Any], console: Any) -> None:
    from rich.markup import escape

    status = "[green]PASS[/]" if report["ok"] else "[red]FAIL[/]"
    console.print(f"{status}  SFT={report['n_sft']:,}  DPO={report['n_dpo']:,}  rollouts={report['n_rollouts']:,}  "
                  f"errors={report['n_errors']}  warnings={report['n_warnings']}")
    for issue in report["issues"]:
        tag = "[red]ERROR[/]" if issue["level"] == "error" else "[yellow]WARN[/] "
        console.print(f"  {tag} {issue['check']}: {escape(issue['message'])} "
                      f"(value={issue['value']}, threshold={issue['threshold']})", markup=True, highlight=False)
