"""report.html: self-contained (no scripts, no network), charts drawn as inline SVG; rendered in
headless Chromium with no console errors, every chart present and non-empty, a screenshot made."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from engine.report.audit import AuditOptions, run_audit
from engine.report.html import hbar_chart, histogram_chart

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "data" / "smoke"
CHARTS = ("admission-histogram", "admission-categories", "verifier-pass-rates", "tool-error-rates")
CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium") or "", shutil.which("chromium-browser") or "")
                 if p and Path(p).is_file()), None)
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")


@pytest.fixture(scope="module")
def report_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("audit-html")
    run_audit([str(SMOKE)], AuditOptions(out_dir=out))
    return out / "report.html"


def _charts(html: str) -> dict[str, str]:
    found = re.findall(r'<figure class="chart" data-chart="([^"]+)">(.*?)</figure>', html, flags=re.S)
    return dict(found)


def test_html_is_self_contained_with_every_chart(report_html: Path) -> None:
    html = report_html.read_text(encoding="utf-8")
    assert "<script" not in html.lower()
    assert not re.search(r'(src|href)="(https?:)?//', html), "no network references"
    assert "@import" not in html and "url(" not in html
    charts = _charts(html)
    assert set(CHARTS) <= set(charts)
    for name in CHARTS:
        assert len(re.findall(r'<rect class="bar"', charts[name])) >= 2, name


def test_chart_builders_scale_bars() -> None:
    svg = hbar_chart("x", "caption <&>", ["a", "b"], [1.0, 0.5], max_value=1.0, fmt=lambda v: f"{v:.0%}")
    widths = [float(w) for w in re.findall(r'class="bar" x="\d+" y="[\d.]+" width="([\d.]+)"', svg)]
    assert widths[0] == pytest.approx(2 * widths[1]) and "caption &lt;&amp;&gt;" in svg
    hist = histogram_chart("h", "hist", [i / 20 for i in range(20)], [0] * 19 + [5])
    assert hist.count('<rect class="bar"') == 20


def _chromium(*args: str, user_dir: Path) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={user_dir}", *args], capture_output=True, text=True,
                          timeout=180)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium; .ci/run installs it)")
def test_chromium_renders_report_without_console_errors(report_html: Path, tmp_path: Path) -> None:
    url = report_html.resolve().as_uri()
    dom = _chromium("--enable-logging=stderr", "--v=0", "--dump-dom", url, user_dir=tmp_path / "u1")
    assert dom.returncode == 0, dom.stderr[-2000:]
    console = [ln for ln in dom.stderr.splitlines() if "CONSOLE" in ln or "Uncaught" in ln]
    assert console == [], console
    charts = _charts(dom.stdout)
    for name in CHARTS:
        assert name in charts, f"chart {name} missing from the rendered DOM"
        assert re.search(r'<rect class="bar"[^>]*width="(?!0")[\d.]+"', charts[name]), f"chart {name} is empty"
    shot = tmp_path / "report.png"
    run = _chromium(f"--screenshot={shot}", "--window-size=1280,2400", "--hide-scrollbars", url, user_dir=tmp_path / "u2")
    assert run.returncode == 0, run.stderr[-2000:]
    assert shot.is_file() and shot.stat().st_size > 20_000
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
