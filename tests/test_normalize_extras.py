"""Fields beside the contract are kept in the store and queryable (runs.extras)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cli import app

OTEL = Path(__file__).resolve().parents[1] / "fixtures" / "importers" / "otel" / "trace_otlp.json"


def test_otel_finish_reason_is_queryable_after_ingest(tmp_path: Path) -> None:
    runner = CliRunner()
    out, store = tmp_path / "otel.jsonl", tmp_path / "ev.duckdb"
    assert runner.invoke(app, ["import", "otel", str(OTEL), "--out", str(out)]).exit_code == 0
    assert runner.invoke(app, ["ingest", str(out), "--store", str(store)]).exit_code == 0
    query = ("select extras->'$.gen_ai_finish_reasons' as f, "
             "cast(extras->>'$.gen_ai_usage.output_tokens' as int) as o from runs")
    res = runner.invoke(app, ["sql", query, "--store", str(store), "--format", "json"])
    assert res.exit_code == 0, res.output
    row = json.loads(res.output)[0]
    assert json.loads(row["f"]) == ["length"] and row["o"] == 265


def test_records_without_extras_have_none(tmp_path: Path) -> None:
    import polars as pl

    from engine.normalize.extras import top_level_extras

    raw = pl.Series(["{\"schema_version\": \"aep/v0.1\", \"run_id\": \"r\", \"created_at_ms\": 1}",
                     "{\"run_id\": \"r\", \"task\": \"t\", \"extensions\": {\"k\": [1, 2]}}",
                     "{\"run_id\": \"r\", \"created_at_ms\": NaN}"])
    assert top_level_extras(raw).to_list() == [None, '{"task":"t","extensions":{"k":[1,2]}}', None]
