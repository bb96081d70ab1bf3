"""Every sql/export/*.sql file opens with its purpose comment, is used by engine/export, and runs."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from engine.paths import SQL_DIR, load_sql

FILES = sorted((SQL_DIR / "export").glob("*.sql"))
SOURCE = "\n".join(p.read_text() for p in (Path(__file__).resolve().parent.parent / "engine" / "export").glob("*.py"))


def test_there_are_export_sql_files() -> None:
    assert {p.stem for p in FILES} >= {"rollout_branches", "compliance_records", "aep_router"}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_sql_file_documented_used_and_runs(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("-- Purpose:")
    assert f'"{path.stem}"' in SOURCE or f'"export/{path.stem}"' in SOURCE
    con = duckdb.connect()
    con.execute("create table records (rid bigint, raw varchar)")
    con.execute("insert into records values (0, '{}'), (1, '{\"run_id\": \"r\", \"actions\": []}'), (2, 'not json')")
    rows = con.sql(load_sql(f"export/{path.stem}")).fetchall()
    assert len(rows) == 3
