"""Rich text rendering of the claim-audit results (JSON output is built in the result modules)."""

from __future__ import annotations

from typing import Any

from engine.stats.claim import AuditReport
from engine.stats.many_pairs import ManyPairs
from engine.stats.truncation import TruncationReport

VERDICT_STYLE = {
    "significant": "bold green",
    "no-evidence-of-improvement": "bold yellow",
    "confounded-by-truncation": "bold red",
    "insufficient-pairs": "bold magenta",
}


def _interval(v: list[float] | tuple[float, float] | None) -> str:
    return "-" if v is None else f"[{v[0]:.4f}, {v[1]:.4f}]"


def _ids_line(label: str, block: dict[str, Any]) -> str | None:
    if not block["count"]:
        return None
    more = " …" if block["count"] > len(block["ids"]) else ""
    return f"{label}: {block['count']} ({', '.join(block['ids'])}{more})"


def render_paired(doc: dict[str, Any], console: Any) -> None:
    from rich.table import Table

    t = Table(title=f"Paired comparison, A = {doc['log_a']}, B = {doc['log_b']}", show_header=True)
    t.add_column("statistic")
    t.add_column("value", justify="right")
    rows: list[tuple[str, str]] = [
        ("paired items n", str(doc["n"])),
        ("b (A right, B wrong)", str(doc["b"])),
        ("c (A wrong, B right)", str(doc["c"])),
        (f"McNemar p ({doc['test']})", f"{doc['p_value_full']:.4g}"),
        ("acc A", f"{doc['acc_a']:.4f}  Wilson {_interval(doc['wilson_a'])}"),
        ("acc B", f"{doc['acc_b']:.4f}  Wilson {_interval(doc['wilson_b'])}"),
        ("delta (A - B)", f"{doc['delta']:+.4f}"),
    ]
    if doc["bootstrap_ci"] is not None:
        rows.append((f"bootstrap CI ({doc['bootstrap']['n_iter']} iters, seed {doc['bootstrap']['seed']})",
                     f"{_interval(doc['bootstrap_ci'])}  p {doc['bootstrap_p']:.4g}"))
    rows.append(("n for 80% power at this delta", "-" if doc["n_for_80pct_power"] is None
                 else str(doc["n_for_80pct_power"])))
    for k, v in rows:
        t.add_row(k, v)
    console.print(t)
    lines = [_ids_line("only in A", doc["only_in_a"]), _ids_line("only in B", doc["only_in_b"])]
    for arm in ("a", "b"):
        for reason, block in doc["excluded"][arm].items():
            lines.append(_ids_line(f"excluded from {arm.upper()} ({reason.replace('_', ' ')})", block))
        n_q = doc["quarantined"][f"count_{arm}"]
        if n_q:
            first = doc["quarantined"][arm][0]
            lines.append(f"quarantined lines in {arm.upper()}: {n_q} (first: line {first['line']}, {first['reason']})")
    lines.extend(doc["notes"])
    for line in lines:
        if line:
            console.print(f"[yellow]•[/yellow] {line}", highlight=False)


def render_truncation(report: TruncationReport, console: Any, show: int = 20) -> None:
    from rich.table import Table

    d = report.as_dict(items=False)
    console.print(
        f"[bold]{d['input']}[/bold]: cap {d['max_new_tokens']} ({d['max_new_tokens_source']}), margin {d['margin']}, "
        f"threshold {d['threshold']} {d['token_count_mode']}", highlight=False)
    console.print(
        f"scored {d['n_scored']} of {d['n_total']}; wrong {d['n_wrong']}; truncated {d['n_truncated']} "
        f"({d['truncated_share_of_wrong']:.1%} of wrong, {d['truncated_rate_of_scored']:.1%} of scored)",
        highlight=False)
    if d["n_excluded"]:
        console.print("excluded: " + ", ".join(f"{k} {v}" for k, v in d["n_excluded"].items()), highlight=False)
    if report.n_truncated:
        t = Table(title="truncated wrong answers")
        t.add_column("id")
        t.add_column("tokens", justify="right")
        for i, k, tr in zip(report.ids, report.tokens, report.truncated, strict=True):
            if tr and t.row_count < show:
                t.add_row(i, str(k))
        console.print(t)


def render_audit(report: AuditReport, console: Any) -> None:
    from rich.panel import Panel

    style = VERDICT_STYLE.get(report.verdict, "bold")
    body = "\n".join(f"• {f.message}" for f in report.findings if f.code != "verdict")
    verdict = next(f for f in report.findings if f.code == "verdict")
    console.print(Panel(body, title="claim audit: A vs B", expand=False), highlight=False)
    console.print(f"[{style}]verdict: {verdict.message}[/{style}]", highlight=False)


def render_many_pairs(result: ManyPairs, console: Any, alpha: float, top: int) -> None:
    import numpy as np
    from rich.table import Table

    d = result.as_dict(alpha)
    console.print(
        f"{d['n_models']} models, {d['n_pairs']} pairs; {d['n_significant_holm']} significant after Holm "
        f"at {alpha}", highlight=False)
    order = np.lexsort((np.arange(result.n_pairs), result.p_value))[:top]
    t = Table(title=f"{min(top, result.n_pairs)} smallest p values")
    for col in ("model A", "model B", "n", "b", "c", "p", "p Holm"):
        t.add_column(col, justify="right" if col not in ("model A", "model B") else "left")
    for i in order.tolist():
        p = d["pairs"][i]
        t.add_row(p["model_a"], p["model_b"], str(p["n"]), str(p["b"]), str(p["c"]),
                  f"{p['p_value_full']:.3g}", f"{p['p_holm_full']:.3g}")
    console.print(t)
    if d["exclusions"]:
        total = sum(e["items"] for e in d["exclusions"])
        console.print(f"[yellow]•[/yellow] {total} (model, item) entries excluded: "
                      + ", ".join(f"{e['model']} {e['status']} {e['items']}" for e in d["exclusions"][:5]),
                      highlight=False)
