"""Structural layer: does the canonical JSON Schema accept the record?

Two paths that must agree exactly with the reference validator (`jsonschema`):
- the fast path runs over the typed table the reader produced. The typed parse already
  enforced every declared type; here Polars expressions check required fields, enums, consts,
  minimums, lengths and uniqueness. It is *sound*: it accepts a record only when the record is
  certainly valid. Where the typed table cannot tell (an optional non-nullable field that is
  null in the table is either absent, which is fine, or JSON `null`, which is not) it accepts
  only when every `null` of the raw line is the value of an always-nullable name, or no
  `"name": null` pair of the line can be such a field (see `fast_accept`).
- every record the fast path does not accept is checked by `jsonschema` itself, which gives
  the verdict and the precise errors (JSON path, rule, message). So the result equals
  jsonschema's on every record, and the per-record Python runs only for rejected rows.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

import numpy as np
import polars as pl

from engine.contract.arrow import arrow_type, root_node
from engine.contract.nodes import Node
from engine.contract.schemas import json_schema

Part = Literal["values", "null_items"]


@dataclass(frozen=True)
class Checks:
    """Row-level flags (True = maybe invalid), one expression per top-level field (evaluated in
    parallel). `values`: types the reader cannot see (required fields, enums, consts, minimums,
    lengths, uniqueness). `null_items`: null items in arrays whose items do not allow null; a
    null item can only come from a JSON `null`, so these need evaluating only on rows whose
    text contains `null`."""

    values: list[pl.Expr]
    null_items: list[pl.Expr]


_FALSE = pl.lit(False)


def _or(exprs: list[pl.Expr]) -> pl.Expr:
    if not exprs:
        return _FALSE
    out = exprs[0]
    for e in exprs[1:]:
        out = out | e
    return out


def _value_checks(node: Node, e: pl.Expr, part: Part) -> list[pl.Expr]:
    """Checks of a present (non-null) value at expression `e`; nulls evaluate to False."""
    bad: list[pl.Expr] = []
    if part == "values":
        if node.enum is not None:
            bad.append(e.is_not_null() & ~e.is_in(list(node.enum)))
        if node.has_const:
            bad.append(e.is_not_null() & (e != pl.lit(node.const)))
        if node.minimum is not None:
            bad.append(e.is_not_null() & (e < node.minimum))
        if node.min_length is not None:
            bad.append(e.is_not_null() & (e.str.len_chars() < node.min_length))
        if node.min_items is not None:
            bad.append(e.is_not_null() & (e.list.len() < node.min_items))
        if node.unique_items:
            bad.append(e.is_not_null() & (e.list.n_unique() < e.list.len()))
    if node.json_type == "object":
        for name, child in node.properties:
            if arrow_type(child) is None:
                continue
            cb = _child_checks(child, e.struct.field(name), part, required=name in node.required)
            bad.extend(e.is_not_null() & x for x in cb)
        declared = {n for n, c in node.properties if arrow_type(c) is not None}
        if part == "values" and node.required - declared:  # required but not typed: the table cannot see it
            bad.append(e.is_not_null())
    if node.json_type == "array" and node.items is not None:
        ib = _child_checks(node.items, pl.element(), part, required=True, in_list=True)
        if ib:
            bad.append(e.list.eval(_or(ib)).list.any().fill_null(False))
    return bad


def _child_checks(node: Node, e: pl.Expr, part: Part, *, required: bool, in_list: bool = False) -> list[pl.Expr]:
    bad = _value_checks(node, e, part)
    if in_list:
        if part == "null_items" and not node.nullable:  # a null list item can only be JSON null
            bad.append(e.is_null())
    elif required and part == "values":
        bad.append(e.is_null())  # absent, or null where maybe only null is allowed: let jsonschema decide
    return [b.fill_null(False) for b in bad]


@cache
def fast_checks(kind: str) -> Checks | None:
    """The fast-path expressions of a kind, or None when its schema is outside the subset."""
    root = root_node(kind)
    if not root.is_fast_checkable():
        return None
    out: dict[Part, list[pl.Expr]] = {"values": [], "null_items": []}
    declared = set()
    for name, child in root.properties:
        if arrow_type(child) is None:
            continue
        declared.add(name)
        for part, found in out.items():
            cb = _child_checks(child, pl.col(name), part, required=name in root.required)
            if cb:
                found.append(_or(cb).alias(f"__{part}_{name}"))
    if root.required - declared:
        out["values"].append(pl.lit(True).alias("__values_undeclared_required"))
    return Checks(values=out["values"], null_items=out["null_items"])


# `"key": null` pairs in raw JSON text; keys may contain escapes (then we cannot trust the name).
_NULL_PAIR = r'"(?:[^"\\]|\\.)*"\s*:\s*null'
_KEY = r'^"((?:[^"\\]|\\.)*)"'


@cache
def optional_non_nullable_names(kind: str) -> frozenset[str]:
    """Names of optional properties (at any depth) that do not allow JSON null."""
    names: set[str] = set()

    def walk(node: Node) -> None:
        for name, child in node.properties:
            if name not in node.required and not child.nullable and arrow_type(child) is not None:
                names.add(name)
            walk(child)
        if node.items is not None:
            walk(node.items)

    walk(root_node(kind))
    return frozenset(names)


@cache
def always_nullable_names(kind: str) -> frozenset[str]:
    """Property names that allow JSON null wherever they occur in the schema."""
    nullable: set[str] = set()
    strict: set[str] = set()

    def walk(node: Node) -> None:
        for name, child in node.properties:
            (nullable if child.nullable else strict).add(name)
            walk(child)
        if node.items is not None:
            walk(node.items)

    walk(root_node(kind))
    return frozenset(n for n in nullable - strict if re.fullmatch(r"[A-Za-z0-9_]+", n) and "null" not in n)


def unexplained_nulls(raw: pl.Expr, kind: str) -> pl.Expr:
    """`null` tokens of a text that are not the value of an always-nullable name. In valid JSON
    a match of `"name"\\s*:\\s*null` is a real pair (its first quote opens the key: a closing
    quote would leave `name` outside a string), it holds exactly one `null`, and matches do
    not overlap, so zero means every null of the text is allowed wherever it sits."""
    count = raw.str.count_matches("null", literal=True)
    names = sorted(always_nullable_names(kind))
    if names:
        count = count - raw.str.count_matches('"(?:' + "|".join(names) + r')"\s*:\s*null')
    return count


@cache
def _risky_pair_pattern(kind: str) -> str:
    """`"name": null` for the optional non-nullable names of a kind (at any depth)."""
    names = sorted(optional_non_nullable_names(kind))
    if not names:
        return r"$^"
    return '"(?:' + "|".join(re.escape(n) for n in names) + r')"\s*:\s*null'


def _escaped_key_risky(raw: pl.Series, kind: str) -> pl.Series:
    """Per text: a `"key": null` pair whose key is a risky name or is spelled with escapes
    (then it may decode to one). Pairs are read left to right, so a match that starts inside a
    string can only hide a pair whose key has a backslash in it, and those count as risky."""
    names = list(optional_non_nullable_names(kind))
    keys = raw.str.extract_all(_NULL_PAIR).list.eval(pl.element().str.extract(_KEY, 1))
    return keys.list.eval(pl.element().is_in(names) | pl.element().str.contains("\\", literal=True)).list.any().fill_null(True)


def null_risky(raw: pl.Series, kind: str) -> np.ndarray:
    """True where the text may hold JSON null for an optional field that does not allow it: a
    `"name": null` pair of such a name (found anywhere, so a superset of the real pairs), or,
    in a text with a backslash, a null pair whose key has escapes."""
    risky = raw.str.contains(_risky_pair_pattern(kind)).fill_null(True).to_numpy().copy()
    escaped = np.flatnonzero(raw.str.contains("\\", literal=True).fill_null(True).to_numpy())
    if len(escaped):
        risky[escaped] |= _escaped_key_risky(raw.gather(escaped), kind).to_numpy()
    return risky


def fast_accept(frame: pl.DataFrame, kind: str, raw_col: str = "raw", *, null_items: bool = True) -> pl.Series:
    """Boolean per row: True only where the record is certainly structurally valid.

    The typed parse already enforced every declared type. A null in an optional non-nullable
    column is harmless when the field was absent; it can only be JSON null when the raw text has
    a `"name": null` pair for such a field name (at any depth, conservatively) or a key spelled
    with escapes; those rows go to jsonschema. Only texts that contain `null` (a literal search)
    can hold a JSON null: without any, null items need no check, and null pairs are looked for
    closely only where a `null` is not the value of an always-nullable name. `null_items=False`
    says the caller knows no array of the frame holds a null item (from Arrow's null counts).
    """
    checks = fast_checks(kind)
    if checks is None or frame.height == 0:
        return pl.Series("fast_ok", [False] * frame.height, dtype=pl.Boolean)
    has_null = frame.get_column(raw_col).str.contains("null", literal=True).fill_null(True).to_numpy()
    exprs = checks.values + checks.null_items if null_items and has_null.any() else checks.values
    bad = frame.select(pl.any_horizontal(exprs) if exprs else _FALSE).to_series().to_numpy().copy()
    rows = np.flatnonzero(~bad & has_null)
    if len(rows):
        texts = frame.get_column(raw_col).gather(rows).to_frame("raw")
        look = rows[texts.select(unexplained_nulls(pl.col("raw"), kind) > 0).to_series().to_numpy()]
        if len(look):
            bad[look[null_risky(texts.get_column("raw").gather(np.searchsorted(rows, look)), kind)]] = True
    return pl.Series("fast_ok", ~bad, dtype=pl.Boolean)


@cache
def reference_validator(kind: str) -> Any:
    """The reference validator: jsonschema, for the schema's own draft."""
    import jsonschema

    schema = json_schema(kind)
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


@dataclass(frozen=True)
class StructuralError:
    path: str
    rule: str
    message: str


def utf8_safe(text: str) -> str:
    """`text` with lone UTF-16 surrogates (which Python's json accepts as `\\ud800` escapes, but
    UTF-8 cannot encode) replaced by '?', so it can go into Arrow columns and messages."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")


def _json_path(error: Any) -> str:
    path = "$"
    for part in error.absolute_path:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def diagnose(kind: str, record: dict[str, Any], limit: int = 20) -> list[StructuralError]:
    """Precise structural errors of one record (empty list = valid), in a stable order."""
    validator = reference_validator(kind)
    errors = []
    try:
        found = sorted(validator.iter_errors(record), key=lambda e: (list(map(str, e.absolute_path)), e.validator))
    except RecursionError:
        return [StructuralError("$", "depth", "record nested too deeply to validate")]
    for err in found[:limit]:
        message = err.message
        if len(message) > 300:
            message = message[:297] + "..."
        errors.append(StructuralError(utf8_safe(_json_path(err)), str(err.validator), utf8_safe(message)))
    return errors


def diagnose_text(kind: str, raw: str) -> list[StructuralError]:
    return diagnose(kind, json.loads(raw))
