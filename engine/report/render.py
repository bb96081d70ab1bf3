"""Render report.md, report.html and summary.json from a store (shared by audit and report)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from engine.report.sections import collect


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_summary(path: Path, summary: dict[str, Any]) -> None:
    _atomic_write(path, json.dumps(summary, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False,
                                   default=str) + "\n")


def render_store(store: str, out_dir: Path, *, top: int = 20,
                 title: str = "Evidence audit report") -> tuple[dict[str, str], dict[str, Any]]:
    """Write the three report files into `out_dir`; return their paths and the summary."""
    from engine import __version__
    from engine.report.html import render_html
    from engine.report.markdown import render_markdown
    from engine.report.summary import build_summary
    from engine.sql import open_readonly

    con = open_readonly(store)
    try:
        sections = collect(con, top=top)
    finally:
        con.close()
    summary = build_summary(sections, store=store, engine_version=__version__)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"markdown": out_dir / "report.md", "html": out_dir / "report.html", "summary": out_dir / "summary.json"}
    _atomic_write(paths["markdown"], render_markdown(sections, title=title, version=__version__))
    _atomic_write(paths["html"], render_html(sections, title=title, version=__version__))
    write_summary(paths["summary"], summary)
    return {k: str(v) for k, v in paths.items()}, summary
