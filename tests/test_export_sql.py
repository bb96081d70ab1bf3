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
    if "from decoded" in text:  # a second step over the decoded rollout records
        con.sql(load_sql("export/rollout_branches")).create("decoded")
    rows = con.sql(load_sql(f"export/{path.stem}")).fetchall()
    assert len(rows) == (0 if path.stem == "rollout_tool_items" else 3)  # none of the three has tool calls


def test_tool_items_sql_unnests_both_shapes_in_order() -> None:
    con = duckdb.connect()
    con.execute("create table records (rid bigint, raw varchar)")
    entry = '{"tool_name": "a", "arguments": {"x": 1}, "result": "ok", "error": null}'
    call = '{"event": "tool_call", "data": {"toolName": "b", "args": [1], "callId": "c1"}}'
    res = '{"event": "tool_result", "data": {"callId": "c1", "output": {"y": 2}, "error": {"message": "m"}}}'
    con.execute("insert into records values (0, $a), (1, '{\"tool_call_sequence\": []}'), (2, $b)",
                {"a": f'{{"tool_call_sequence": [{entry}]}}', "b": f'{{"tool_call_sequence": [{call}, {res}]}}'})
    con.sql(load_sql("export/rollout_branches")).create("decoded")
    assert con.sql(load_sql("export/rollout_tool_items")).fetchall() == [
        (0, 0, "a", '{"x":1}', '"ok"', None, None, None),
        (2, 0, "b", "[1]", None, None, "tool_call", "c1"),
        (2, 1, None, None, '{"y":2}', '{"message":"m"}', "tool_result", "c1"),
    ]
