"""The schema contract: JSON Schema, declared Arrow schema and pandera models agree."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import polars as pl
import pyarrow as pa
import pytest

from engine.contract.arrow import arrow_schema, polars_dtype, root_node
from engine.contract.pandera_models import TABLES, contract_columns, pandera_schema
from engine.contract.schemas import KINDS, json_schema
from engine.contract.structural import fast_checks

EXPECTED_ARROW = {"string": pa.string(), "number": pa.float64(), "integer": pa.int64(), "boolean": pa.bool_()}


def _expected(prop: dict[str, Any]) -> pa.DataType | None:
    types = prop.get("type")
    types = [types] if isinstance(types, str) else [t for t in (types or []) if t != "null"]
    if len(types) != 1:
        return None
    t = types[0]
    if t in EXPECTED_ARROW:
        return EXPECTED_ARROW[t]
    if t == "array":
        inner = _expected(prop.get("items", {}))
        return pa.list_(inner) if inner is not None else None
    if t == "object":
        fields = [(k, _expected(v)) for k, v in prop.get("properties", {}).items()]
        return pa.struct([(k, v) for k, v in fields if v is not None])
    return None


def test_aep_schema_is_the_installed_canonical_one() -> None:
    import wasmagent_protocol

    ours = json_schema("aep")
    canonical = json.loads(wasmagent_protocol.schema_path("aep-record").read_text(encoding="utf-8"))
    assert ours == canonical
    assert ours["properties"]["schema_version"]["enum"] == [f"aep/v0.{i}" for i in range(1, 6)]


@pytest.mark.parametrize("kind", KINDS)
def test_every_schema_is_a_valid_json_schema(kind: str) -> None:
    schema = json_schema(kind)
    jsonschema.validators.validator_for(schema).check_schema(schema)


@pytest.mark.parametrize("kind", KINDS)
def test_arrow_schema_follows_the_json_schema(kind: str) -> None:
    schema = json_schema(kind)
    declared = arrow_schema(kind)
    for name, prop in schema["properties"].items():
        expected = _expected(prop)
        if expected is None:
            assert name not in declared.names or name == "schema_version"
        else:
            assert declared.field(name).type == expected, name
    polars_view = polars_dtype(kind)
    frame = pl.from_arrow(declared.empty_table())
    assert isinstance(frame, pl.DataFrame)
    assert pl.Struct(frame.schema) == polars_view


@pytest.mark.parametrize("table", list(TABLES))
def test_pandera_models_agree_with_arrow_and_json_schema(table: str) -> None:
    kind, prop = TABLES[table]
    schema = json_schema(kind)
    node_schema = schema if prop is None else schema["properties"][prop]["items"]
    model = pandera_schema(table)
    declared = arrow_schema(kind) if prop is None else None
    for name, (dtype, required, _node) in contract_columns(table).items():
        column = model.columns[name]
        assert column.dtype.type == dtype, name
        assert column.nullable == (not required), name
        expected = _expected(node_schema["properties"][name])
        assert expected is not None
        as_polars = pl.from_arrow(pa.schema([("x", expected)]).empty_table()).schema["x"]  # type: ignore[union-attr]
        assert as_polars == dtype, name
        if declared is not None:
            assert declared.field(name).type == expected
        assert (name in node_schema.get("required", [])) >= required


def test_pandera_model_checks_enums_and_requireds() -> None:
    model = pandera_schema("decisions")
    ok = pl.DataFrame({"capability": ["c"], "subject": ["s"], "resource": ["r"], "decision": ["deny"], "reason_code": [None]},
                      schema_overrides={"reason_code": pl.String})
    model.validate(ok)
    import pandera.errors

    with pytest.raises(pandera.errors.SchemaError):
        model.validate(ok.with_columns(pl.lit("maybe").alias("decision")))
    with pytest.raises(pandera.errors.SchemaError):
        model.validate(ok.with_columns(pl.lit(None, dtype=pl.String).alias("capability")))


def test_fast_path_covers_the_main_kinds() -> None:
    """AEP, rollouts and compliance are fully vectorized; eval items (id: string|integer) are not."""
    for kind in ("aep", "rollout", "compliance", "sft", "dpo", "ppo"):
        assert fast_checks(kind) is not None, root_node(kind).unsupported_reasons()
    assert fast_checks("eval") is None


def test_store_tables_conform_to_the_pandera_models(tmp_path: Path) -> None:
    """The evidence store's normalised tables, ingested from the smoke data, pass the contract's models."""
    import duckdb

    from engine.ingest import ingest

    smoke = Path(__file__).resolve().parents[1] / "data" / "smoke"
    store = tmp_path / "e.duckdb"
    ingest([str(smoke)], str(store))
    con = duckdb.connect(str(store), read_only=True)
    try:
        checked = 0
        for table in TABLES:
            frame = con.sql(f"select * from {table}").pl()  # noqa: S608 - fixed table names
            if frame.height == 0:
                continue
            pandera_schema(table).validate(frame, lazy=True)
            checked += 1
    finally:
        con.close()
    assert checked >= 8
