"""report.html: one self-contained file (inline CSS, inline SVG charts drawn here; no scripts, no
network), readable on a laptop screen and in print."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from html import escape

from engine.report.markdown import format_cell
from engine.report.sections import Section, Table

CSS = """
:root { --fg:#1f2328; --muted:#59636e; --line:#d1d9e0; --bg:#ffffff; --alt:#f6f8fa; --accent:#0969da;
        --bad:#cf222e; --warn:#9a6700; --good:#1a7f37; }
* { box-sizing: border-box; }
body { font: 15px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: var(--fg);
       background: var(--bg); margin: 0; }
main { max-width: 1120px; margin: 0 auto; padding: 24px 32px 48px; }
h1 { font-size: 28px; margin: 0 0 4px; }
h2 { font-size: 21px; margin: 36px 0 6px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 18px 0 6px; color: var(--muted); text-transform: uppercase; letter-spacing: .03em; }
p.meta, p.intro, p.more { color: var(--muted); margin: 4px 0 10px; }
nav { margin: 12px 0 8px; display: flex; flex-wrap: wrap; gap: 6px 14px; font-size: 14px; }
nav a { color: var(--accent); text-decoration: none; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 10px; margin: 16px 0; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; background: var(--alt); }
.card b { display: block; font-size: 22px; }
.card span { color: var(--muted); font-size: 13px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: 4px 0 8px; font-size: 13.5px; min-width: 40%; }
th, td { border: 1px solid var(--line); padding: 4px 9px; text-align: left; vertical-align: top; }
th { background: var(--alt); font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.long { max-width: 520px; overflow-wrap: anywhere; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12.5px; }
tbody tr:nth-child(even) td { background: #fbfcfd; }
.s-covered { color: var(--good); font-weight: 600; } .s-partial { color: var(--warn); font-weight: 600; }
.s-gap, .sev-critical, .sev-high { color: var(--bad); font-weight: 600; } .sev-medium { color: var(--warn); }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(460px, 1fr)); gap: 14px; margin: 10px 0; }
figure.chart { margin: 0; border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; break-inside: avoid; }
figure.chart figcaption { font-weight: 600; font-size: 14px; margin-bottom: 6px; }
svg text { font: 11px -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; fill: var(--fg); }
svg .bar { fill: var(--accent); } svg .axis { stroke: var(--line); } svg .muted { fill: var(--muted); }
footer { margin-top: 40px; color: var(--muted); font-size: 13px; }
@media print { main { max-width: none; padding: 0; } nav { display: none; } h2 { break-after: avoid; }
  table, figure.chart { break-inside: avoid; } body { font-size: 11pt; } }
"""

_NUMERIC = (int, float)
_LONG = ("excerpt", "error", "description", "digest", "group_key", "log_a", "log_b", "source", "reason")


def _bar_label(text: str, limit: int = 28) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def hbar_chart(name: str, caption: str, labels: Sequence[str], values: Sequence[float], *,
               max_value: float | None = None, fmt: Callable[[float], str] = lambda v: f"{v:,.0f}") -> str:
    """Horizontal bars, one per label; `max_value` fixes the scale (1.0 for rates)."""
    width, label_w, row_h, value_w = 560, 190, 22, 70
    plot_w = width - label_w - value_w
    top = max_value if max_value is not None else max([*values, 0]) or 1.0
    height = row_h * len(labels) + 8
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(caption)}" '
             f'viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMinYMin meet">']
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = 4 + i * row_h
        w = max(plot_w * (value / top), 1.0 if value > 0 else 0.0)
        parts.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{escape(_bar_label(label))}'
                     f'<title>{escape(label)}</title></text>')
        parts.append(f'<rect class="track" x="{label_w}" y="{y + 3}" width="{plot_w}" height="{row_h - 6}" fill="#eef1f4"/>')
        parts.append(f'<rect class="bar" x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}">'
                     f'<title>{escape(label)}: {escape(fmt(value))}</title></rect>')
        parts.append(f'<text x="{label_w + plot_w + 6}" y="{y + 15}">{escape(fmt(value))}</text>')
    parts.append("</svg>")
    return _figure(name, caption, "".join(parts))


def histogram_chart(name: str, caption: str, lows: Sequence[float], counts: Sequence[int]) -> str:
    width, height, left, bottom, top_pad = 560, 220, 44, 28, 10
    plot_w, plot_h = width - left - 10, height - bottom - top_pad
    peak = max([*counts, 0]) or 1
    bw = plot_w / max(len(counts), 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(caption)}" '
             f'viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMinYMin meet">',
             f'<line class="axis" x1="{left}" y1="{top_pad + plot_h}" x2="{left + plot_w}" y2="{top_pad + plot_h}"/>',
             f'<text class="muted" x="{left - 6}" y="{top_pad + 8}" text-anchor="end">{peak:,}</text>',
             f'<text class="muted" x="{left - 6}" y="{top_pad + plot_h}" text-anchor="end">0</text>']
    for i, (lo, n) in enumerate(zip(lows, counts, strict=True)):
        h = plot_h * n / peak
        x = left + i * bw
        parts.append(f'<rect class="bar" x="{x + 1:.1f}" y="{top_pad + plot_h - h:.1f}" width="{bw - 2:.1f}" '
                     f'height="{h:.1f}"><title>{lo:.2f}–{lo + 0.05:.2f}: {n:,}</title></rect>')
        if i % 4 == 0:
            parts.append(f'<text class="muted" x="{x:.1f}" y="{height - 10}">{lo:.1f}</text>')
    parts.append(f'<text class="muted" x="{left + plot_w}" y="{height - 10}" text-anchor="end">1.0</text>')
    parts.append("</svg>")
    return _figure(name, caption, "".join(parts))


def _figure(name: str, caption: str, svg: str) -> str:
    return f'<figure class="chart" data-chart="{name}"><figcaption>{escape(caption)}</figcaption>{svg}</figure>'


def _pct(v: float) -> str:
    return f"{v:.1%}"


def charts_for(section: Section) -> list[str]:
    """The charts of a section, from its tables (no extra queries)."""
    out = []
    if section.key == "admission":
        hist = section.table("admission_histogram")
        if hist and hist.rows:
            recs = hist.records()
            out.append(histogram_chart("admission-histogram", "Admission score histogram",
                                       [float(r["lo"]) for r in recs], [int(r["records"]) for r in recs]))
        cats = section.table("admission_categories")
        if cats and cats.rows:
            recs = cats.records()
            out.append(hbar_chart("admission-categories", "Records per admission category",
                                  [str(r["category"]) for r in recs], [int(r["records"]) for r in recs]))
    if section.key == "verifiers":
        models = section.table("verifier_models")
        if models and models.rows:
            recs = models.records()
            out.append(hbar_chart("verifier-pass-rates", "Verifier pass rate by model",
                                  [str(r["model_id"]) for r in recs], [float(r["pass_rate"]) for r in recs],
                                  max_value=1.0, fmt=_pct))
    if section.key == "tools":
        tools = section.table("tool_models")
        recs = [r for r in (tools.records() if tools else []) if r["error_rate"] is not None]
        if recs:
            out.append(hbar_chart("tool-error-rates", "Tool error rate by model (rollout tool calls)",
                                  [str(r["model_id"]) for r in recs], [float(r["error_rate"]) for r in recs],
                                  max_value=max(1e-9, max(float(r["error_rate"]) for r in recs)), fmt=_pct))
    return out


def html_table(table: Table) -> str:
    if not table.rows:
        return '<p class="more">none</p>'
    head = "".join(f"<th>{escape(c)}</th>" for c in table.columns)
    body = []
    for row in table.rows:
        cells = []
        for col, value in zip(table.columns, row, strict=True):
            text = escape(format_cell(col, value))
            cls = "num" if isinstance(value, _NUMERIC) and not isinstance(value, bool) else (
                "long" if col in _LONG else "")
            if col == "status":
                cls = f"s-{value}"
            elif col == "severity":
                cls = f"sev-{value}"
            cells.append(f'<td class="{cls}">{text}</td>' if cls else f"<td>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = (f'<p class="more">… and {table.more:,} more (re-run <code>sql/report/{escape(table.query)}.sql</code> '
            "with <code>engine sql</code> for all)</p>") if table.more else ""
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>{more}'


def _cards(sections: list[Section]) -> str:
    overview = next((s for s in sections if s.key == "overview"), None)
    if overview is None or overview.table("overview_totals") is None:
        return ""
    t = overview.tables["overview_totals"].records()
    if not t:
        return ""
    row = t[0]
    items = [("files", f"{row['files']:,}"), ("records", f"{row['records']:,}"), ("valid", f"{row['valid']:,}"),
             ("invalid", f"{row['invalid']:,}"), ("quarantined lines", f"{row['quarantined_lines']:,}"),
             ("pass rate", f"{float(row['pass_rate']):.2%}")]
    adm = next((s for s in sections if s.key == "admission"), None)
    if adm is not None and adm.tables["admission_totals"].rows:
        a = adm.tables["admission_totals"].records()[0]
        items.append(("admitted", f"{a['admitted']:,} / {a['scored']:,}"))
    return '<div class="cards">' + "".join(f"<div class=\"card\"><b>{v}</b><span>{k}</span></div>" for k, v in items) + "</div>"


def render_html(sections: list[Section], *, title: str, version: str) -> str:
    today = dt.datetime.now(dt.UTC).date().isoformat()
    nav = "".join(f'<a href="#{s.key}">{escape(s.title)}</a>' for s in sections)
    body = [f"<h1>{escape(title)}</h1>",
            f'<p class="meta">Generated {today} by trace-engine {escape(version)}. Every number comes from a query in '
            "<code>sql/report/</code>; re-run any of them with <code>engine sql --store &lt;store&gt;</code>.</p>",
            f"<nav>{nav}</nav>", _cards(sections)]
    charts = [chart for section in sections for chart in charts_for(section)]
    if charts:  # every chart up front, so the first screen shows the whole picture
        body.append('<section id="charts"><div class="charts">' + "".join(charts) + "</div></section>")
    for section in sections:
        body.append(f'<section id="{section.key}"><h2>{escape(section.title)}</h2>'
                    f'<p class="intro">{escape(section.intro)}</p>')
        for table in section.tables.values():
            if table.query == "admission_histogram":
                continue  # drawn as the histogram chart; 20 bins add nothing as a table
            body.append(f"<h3>{escape(table.title)}</h3>{html_table(table)}")
        body.append("</section>")
    body.append("<footer>Generated by trace-engine <code>engine audit</code> / <code>engine report</code>.</footer>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{escape(title)}</title><style>{CSS}</style></head>"
            f"<body><main>{''.join(body)}</main></body></html>\n")
