"""Ingest appends whole DuckDB row groups and keeps the rest buffered: with tiny row groups and
blocks (many batches, many partial writes per source) every table holds exactly what one write
per source gives."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from benchmarks.generate import write_jsonl
from engine.ingest import ingest
from engine.store import ALL_SCHEMAS

SMOKE = Path(__file__).resolve().parent.parent / "data" / "smoke"


def _tables(store: Path) -> dict[str, pl.DataFrame]:
    con = duckdb.connect(str(store), read_only=True)
    try:
        return {t: con.sql(f"select * exclude (ingested_at) from {t} order by all" if t == "sources"
                           else f"select * from {t} order by all").pl() for t in ALL_SCHEMAS}
    finally:
        con.close()


def test_row_group_writes_keep_every_row(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import engine.ingest as ing

    write_jsonl(tmp_path / "a.jsonl", "aep", 2000, 3, invalid_rate=0.03, unparsable=4)
    write_jsonl(tmp_path / "r.jsonl", "rollout", 300, 3, invalid_rate=0.03)
    paths = [str(tmp_path / "a.jsonl"), str(tmp_path / "r.jsonl"), str(SMOKE)]
    ingest(paths, str(tmp_path / "one.duckdb"))
    monkeypatch.setattr(ing, "ROW_GROUP", 64)
    monkeypatch.setattr(ing, "FLUSH_ROWS", 200)
    monkeypatch.setattr(ing, "BLOCK_BYTES", 150_000)
    writes: list[int] = []
    real = ing.DuckStore.write_many
    monkeypatch.setattr(ing.DuckStore, "write_many", lambda self, items: (writes.append(len(items)), real(self, items)))
    ingest(paths, str(tmp_path / "many.duckdb"))
    assert len(writes) > 20
    one, many = _tables(tmp_path / "one.duckdb"), _tables(tmp_path / "many.duckdb")
    assert one["runs"].height > 1900 and one["quarantine"].height > 0
    for name in ALL_SCHEMAS:
        assert_frame_equal(one[name], many[name])


def test_a_lone_surrogate_escape_in_a_valid_record_is_stored(tmp_path: Path) -> None:
    # Python's json reads it, DuckDB's JSON parser refuses it: the record is re-serialised (the
    # surrogate becomes '?', as admission does) instead of failing the whole ingest
    from engine.sql import run_query

    lines = (SMOKE / "aep.jsonl").read_text().splitlines()[1:4]
    lines[1] = lines[1].replace('"model_id":"', '"model_id":"x\\ud800', 1)
    (tmp_path / "s.jsonl").write_text("\n".join(lines) + "\n")
    store = str(tmp_path / "e.duckdb")
    summary = ingest([str(tmp_path / "s.jsonl")], store)
    assert summary.to_dict()["quarantined"] == 0
    runs = run_query(store, "select line, model_id from runs order by line").frame
    assert runs.height == 3 and runs["model_id"][1].startswith("x?")
