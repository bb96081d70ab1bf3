"""Text rendering of a validation report (rich tables)."""

from __future__ import annotations

from typing import Any

from engine.validate import LAYERS, ValidationReport


def render_validation_text(report: ValidationReport, console: Any) -> None:
    from rich.markup import escape
    from rich.table import Table

    s = report.summary()
    head = Table(title="Validation", show_header=True, header_style="bold")
    for col in ("files", "records", "valid", "invalid", "quarantined", "pass rate"):
        head.add_column(col, justify="right")
    head.add_row(str(s["files"]), str(s["records"]), f"[green]{s['valid']}[/]", f"[red]{s['invalid']}[/]",
                 f"[yellow]{s['quarantined']}[/]", f"{100 * s['pass_rate']:.2f}%")
    console.print(head)
    if s["by_kind"]:
        kinds = Table(title="By kind", header_style="bold")
        for col in ("kind", "records", "valid", "invalid"):
            kinds.add_column(col, justify="right" if col != "kind" else "left")
        for kind, c in s["by_kind"].items():
            kinds.add_row(kind, str(c["records"]), str(c["valid"]), str(c["invalid"]))
        console.print(kinds)
    layers = Table(title="By layer", header_style="bold")
    for col in ("layer", "valid", "invalid", "not checked", "verdicts"):
        layers.add_column(col, justify="right" if col not in ("layer", "verdicts") else "left")
    for layer in LAYERS:
        c = s["by_layer"][layer]
        verdicts = ", ".join(f"{k} {v}" for k, v in s["verdicts"][layer].items())
        layers.add_row(layer, str(c["valid"]), str(c["invalid"]), str(c["not_checked"]), verdicts)
    console.print(layers)
    if s["top_errors"]:
        errs = Table(title="Most frequent errors", header_style="bold")
        for col in ("count", "layer", "rule", "path"):
            errs.add_column(col, justify="right" if col == "count" else "left")
        for e in s["top_errors"]:
            errs.add_row(str(e["count"]), e["layer"], e["rule"], escape(e["path"]))
        console.print(errs)
        ex = Table(title="First errors", header_style="bold")
        for col in ("source", "line", "id", "message"):
            ex.add_column(col, overflow="fold")
        for e in report.examples[: report.top]:
            ex.add_row(escape(str(e["source"])), str(e["line"]), escape(str(e["run_id"] or "")),
                       escape(f"[{e['rule']}] {e['message']}"))
        console.print(ex)
    if s["errors_file"]:
        console.print(f"error table written to [bold]{s['errors_file']}[/]")
