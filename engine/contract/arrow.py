"""The declared Arrow schema (for reading) and the typed Polars view, derived from the contract.

Mapping: string→utf8, number→float64, integer→int64, boolean→bool, array of X→list<X>,
object→struct of its declared properties (an object without declared properties becomes an
empty struct: its type is still enforced by the reader, its content stays in `raw`).
An unconstrained value (no type) is not declared at all. Nullability follows `required`.
"""

from __future__ import annotations

from functools import cache, lru_cache

import polars as pl
import pyarrow as pa

from engine.contract.nodes import Node, parse_node
from engine.contract.schemas import json_schema

_SCALAR_ARROW = {"string": pa.string(), "number": pa.float64(), "integer": pa.int64(), "boolean": pa.bool_()}


@cache
def root_node(kind: str) -> Node:
    return parse_node(json_schema(kind))


def arrow_type(node: Node) -> pa.DataType | None:
    """Arrow type of a node, or None when the value is unconstrained (not declared)."""
    if node.json_type in _SCALAR_ARROW:
        return _SCALAR_ARROW[node.json_type]
    if node.json_type == "array":
        item = arrow_type(node.items) if node.items is not None else None
        return pa.list_(item) if item is not None else None
    if node.json_type == "object":
        return pa.struct(arrow_fields(node))
    return None


def arrow_fields(node: Node) -> list[pa.Field]:
    fields = []
    for name, child in node.properties:
        typ = arrow_type(child)
        if typ is not None:
            fields.append(pa.field(name, typ, nullable=True))
    return fields


@cache
def arrow_schema(kind: str) -> pa.Schema:
    """Declared read schema of a kind (top-level properties; `schema_version` always included)."""
    fields = arrow_fields(root_node(kind))
    if "schema_version" not in {f.name for f in fields}:
        fields.insert(0, pa.field("schema_version", pa.string()))
    return pa.schema(fields)


@cache
def polars_dtype(kind: str) -> pl.Struct:
    """Typed Polars view of a record kind (same fields and types as `arrow_schema`)."""
    empty = pl.from_arrow(arrow_schema(kind).empty_table())
    assert isinstance(empty, pl.DataFrame)
    return pl.Struct(empty.schema)


@lru_cache(maxsize=1)
def version_only_schema() -> pa.Schema:
    return pa.schema([pa.field("schema_version", pa.string())])
