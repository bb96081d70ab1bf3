"""pandera models of the normalised tables, derived from the same JSON Schemas.

Each record kind gives a record table (its top-level scalar fields and lists of scalars) and
one item table per top-level array of objects (e.g. AEP `actions`, `capability_decisions`).
Column dtypes come from the declared Arrow schema; `enum` becomes `isin`, `minimum` becomes
`ge`; a column is non-nullable only when the contract requires the field. The store's tables
carry extra derived columns (keys, counts); for the columns they share with the contract,
these models are the source of truth (tests validate store output against them).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import polars as pl

from engine.contract.arrow import arrow_type, root_node
from engine.contract.nodes import Node
from engine.contract.schemas import KINDS

# normalised table name -> (kind, top-level array property or None for the record table)
TABLES: dict[str, tuple[str, str | None]] = {
    "runs": ("aep", None),
    "actions": ("aep", "actions"),
    "decisions": ("aep", "capability_decisions"),
    "verifiers": ("aep", "verifier_results"),
    "input_refs": ("aep", "input_refs"),
    "output_refs": ("aep", "output_refs"),
    "rollouts": ("rollout", None),
    "compliance": ("compliance", None),
    "violations": ("compliance", "violations"),
    "repairs": ("compliance", "repair_trace"),
    "eval_items": ("eval", None),
}


def _flat(node: Node) -> bool:
    if node.json_type in {"string", "number", "integer", "boolean"}:
        return True
    return node.json_type == "array" and node.items is not None and node.items.json_type in {"string", "number", "integer", "boolean"}


def _polars(node: Node) -> pl.DataType:
    empty = pl.from_arrow(__import__("pyarrow").schema([("x", arrow_type(node))]).empty_table())
    assert isinstance(empty, pl.DataFrame)
    return empty.schema["x"]


def contract_columns(table: str) -> dict[str, tuple[pl.DataType, bool, Node]]:
    """column -> (polars dtype, required, node) for the contract part of a normalised table."""
    kind, prop = TABLES[table]
    root = root_node(kind)
    node = root
    if prop is not None:
        node = dict(root.properties)[prop].items  # type: ignore[assignment]
        assert node is not None
    out: dict[str, tuple[pl.DataType, bool, Node]] = {}
    for name, child in node.properties:
        if _flat(child) and arrow_type(child) is not None:
            out[name] = (_polars(child), name in node.required and not child.nullable, child)
    return out


@cache
def pandera_schema(table: str) -> Any:
    """A pandera (polars backend) DataFrameSchema for the contract columns of `table`."""
    import pandera.polars as pa

    columns = {}
    for name, (dtype, required, node) in contract_columns(table).items():
        checks = []
        if node.enum is not None and node.json_type in {"string", "integer"}:
            checks.append(pa.Check.isin(list(node.enum)))
        if node.minimum is not None:
            checks.append(pa.Check.ge(node.minimum))
        columns[name] = pa.Column(dtype, nullable=not required, required=False, checks=checks or None)
    return pa.DataFrameSchema(columns, name=table, strict=False, coerce=False)


def all_tables() -> list[str]:
    assert {k for k, _ in TABLES.values()} <= set(KINDS)
    return list(TABLES)
