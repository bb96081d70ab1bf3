"""A small typed view of the JSON Schema subset the vectorized fast path understands.

Everything the engine derives (Arrow read schema, Polars checks, pandera models) walks these
nodes, so one parser decides what is supported. Anything outside the subset marks the node
(and so the kind) unsupported: such records are checked by jsonschema one by one instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Annotations that never change whether an instance is valid.
_ANNOTATIONS = {"$schema", "$id", "$comment", "title", "description", "default", "examples",
                "contentEncoding", "contentMediaType", "deprecated", "readOnly", "writeOnly", "format"}
_HANDLED = {"type", "properties", "required", "items", "enum", "const", "minimum", "minLength",
            "minItems", "uniqueItems", "additionalProperties"}
_SCALARS = {"string", "number", "integer", "boolean"}
_NO_CONST = object()


@dataclass(frozen=True)
class Node:
    """One schema position. `json_type` is None for an unconstrained value (anything goes)."""

    json_type: str | None
    nullable: bool = False
    properties: tuple[tuple[str, Node], ...] = ()
    required: frozenset[str] = frozenset()
    items: Node | None = None
    enum: tuple[Any, ...] | None = None
    const: Any = _NO_CONST
    minimum: float | None = None
    min_length: int | None = None
    min_items: int | None = None
    unique_items: bool = False
    unsupported: tuple[str, ...] = field(default=())

    @property
    def has_const(self) -> bool:
        return self.const is not _NO_CONST

    def is_fast_checkable(self) -> bool:
        """True when this node and everything under it is inside the supported subset."""
        if self.unsupported:
            return False
        if self.items is not None and not self.items.is_fast_checkable():
            return False
        return all(child.is_fast_checkable() for _, child in self.properties)

    def unsupported_reasons(self, path: str = "$") -> list[str]:
        out = [f"{path}: {r}" for r in self.unsupported]
        if self.items is not None:
            out.extend(self.items.unsupported_reasons(path + "[*]"))
        for name, child in self.properties:
            out.extend(child.unsupported_reasons(f"{path}.{name}"))
        return out


def parse_node(schema: dict[str, Any]) -> Node:
    unsupported = [f"keyword {k!r}" for k in schema if k not in _HANDLED and k not in _ANNOTATIONS]
    raw_type = schema.get("type")
    types = [raw_type] if isinstance(raw_type, str) else list(raw_type or [])
    nullable = "null" in types
    concrete = [t for t in types if t != "null"]
    json_type: str | None
    if len(concrete) == 1:
        json_type = concrete[0]
    elif not concrete:
        json_type = None
        if types:  # only "null"
            unsupported.append("type null only")
    else:
        json_type = None
        unsupported.append(f"type union {types}")
    if schema.get("additionalProperties", True) is not True:
        unsupported.append("additionalProperties other than true")
    properties: tuple[tuple[str, Node], ...] = ()
    if "properties" in schema:
        properties = tuple((name, parse_node(sub)) for name, sub in schema["properties"].items())
    items = parse_node(schema["items"]) if isinstance(schema.get("items"), dict) else None
    if json_type == "array" and items is None:
        unsupported.append("array without an items schema")
    if json_type is None and any(k in schema for k in ("enum", "const", "minimum", "minLength", "minItems")):
        unsupported.append("constraint without a single type")
    enum = tuple(schema["enum"]) if "enum" in schema else None
    if enum is not None and not all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in enum):
        unsupported.append("enum with non-scalar or boolean values")
    unique = bool(schema.get("uniqueItems", False))
    if unique and (items is None or items.json_type not in {"string", "integer", "boolean"}):
        unsupported.append("uniqueItems on non-scalar items")
    return Node(
        json_type=json_type,
        nullable=nullable,
        properties=properties,
        required=frozenset(schema.get("required", ())),
        items=items,
        enum=enum,
        const=schema.get("const", _NO_CONST),
        minimum=schema.get("minimum"),
        min_length=schema.get("minLength"),
        min_items=schema.get("minItems"),
        unique_items=unique,
        unsupported=tuple(unsupported),
    )


def is_scalar(node: Node) -> bool:
    return node.json_type in _SCALARS
