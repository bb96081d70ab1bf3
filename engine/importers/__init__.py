"""`engine import SOURCE`: traces from other agent tools → AEP evidence or rollout-wire records.

Every importer is `fn(records, fmt) -> ImportResult` over the reader's table (source, line, raw):
lenient decoding in DuckDB, mapping and JSON assembly in Polars, missing required keys
quarantined with their line. `import_paths` reads, imports, writes atomically and reconciles:
records_read == imported + quarantined.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# source name -> (module, function, formats it can emit; the first is the default)
SOURCES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "otel": ("engine.importers.otel", "import_otel", ("aep",)),
    "openai-agents": ("engine.importers.openai_agents", "import_openai_agents", ("aep",)),
    "langsmith": ("engine.importers.langsmith", "import_langsmith", ("aep",)),
    "adk": ("engine.importers.adk", "import_adk", ("aep",)),
    "ms-agent": ("engine.importers.ms_agent", "import_ms_agent", ("aep",)),
    "a2a": ("engine.importers.a2a", "import_a2a", ("aep",)),
    "bfcl": ("engine.importers.bfcl", "import_bfcl", ("rollout",)),
    "tau-bench": ("engine.importers.tau_bench", "import_tau_bench", ("rollout", "aep")),
    "mcp-atlas": ("engine.importers.mcp_atlas", "import_mcp_atlas", ("rollout", "aep")),
    "terminal-bench": ("engine.importers.terminal_bench", "import_terminal_bench", ("rollout", "aep")),
    "tool-sandbox": ("engine.importers.tool_sandbox", "import_tool_sandbox", ("rollout", "aep")),
    "agent-harm": ("engine.importers.agent_harm", "import_agent_harm", ("rollout", "aep")),
}


@dataclass(frozen=True)
class ImportSummary:
    source: str
    format: str
    files: int
    records_read: int
    imported: int
    quarantined: int
    quarantined_by_reason: dict[str, int]
    records_written: int
    out: str
    quarantine_file: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source, "format": self.format, "files": self.files,
            "records_read": self.records_read, "imported": self.imported, "quarantined": self.quarantined,
            "quarantined_by_reason": self.quarantined_by_reason, "records_written": self.records_written,
            "out": self.out, "quarantine_file": self.quarantine_file,
        }


def importer(source: str, fmt: str | None = None) -> tuple[Callable[..., Any], str]:
    """The import function of `source` and the output format it will use."""
    from engine.errors import UsageError

    if source not in SOURCES:
        raise UsageError(f"unknown import source {source!r}", hint="one of " + ", ".join(SOURCES))
    module, name, formats = SOURCES[source]
    chosen = fmt or formats[0]
    if chosen not in formats:
        raise UsageError(f"{source} imports to {' or '.join(formats)}, not {chosen}")
    return getattr(importlib.import_module(module), name), chosen


def import_frame(source: str, records: Any, fmt: str | None = None) -> Any:
    """Run one importer over a (source, line, raw) frame; returns its ImportResult."""
    fn, chosen = importer(source, fmt)
    return fn(records, chosen)


def quarantine_path(out: Path) -> Path:
    return out.with_name(out.name + ".quarantine.jsonl")


def import_paths(source: str, paths: Sequence[str], out: Path, fmt: str | None = None) -> ImportSummary:
    """Read `paths`, import them as `source`, write `out` and its quarantine file next to it."""
    import polars as pl

    from engine.importers.common import QUARANTINE_SCHEMA, write_lines, write_quarantine
    from engine.io import expand_paths, load_records

    fn, chosen = importer(source, fmt)
    files = expand_paths(list(paths))
    loaded = load_records(list(paths))
    result = fn(loaded.records.select("source", "line", "raw"), chosen)
    reader_q = loaded.quarantine.select(
        "source", "line", pl.lit(None, dtype=pl.Int64).alias("item"), "reason", "excerpt")
    schema = pl.Schema(QUARANTINE_SCHEMA)
    quarantine = pl.concat([reader_q.cast(schema), result.quarantine.cast(schema)]).sort(
        "source", "line", "item", nulls_last=False, maintain_order=True)
    write_lines(result.records.get_column("json"), out)
    qpath = quarantine_path(out)
    write_quarantine(quarantine, qpath)
    by_reason = quarantine.group_by("reason").len().sort("reason")
    return ImportSummary(
        source=source, format=chosen, files=len(files), records_read=result.read + reader_q.height,
        imported=result.imported, quarantined=quarantine.height,
        quarantined_by_reason=dict(zip(by_reason["reason"].to_list(), by_reason["len"].to_list(), strict=True)),
        records_written=result.records.height, out=str(out), quarantine_file=str(qpath),
    )
