"""Records (source, line, kind, raw) → the normalised tables of the evidence store.

Pure functions from frames to frames: `normalize_records` decodes each kind's JSON text into
typed columns and splits it into the tables declared in `engine.normalize.tables`. Keys join
cleanly: every row carries `record_key` (one per input record; an AEP record is one run) plus
`source` and `line`; rollout rows also carry `rollout_id` + `branch_index`.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from engine.normalize.aep import AEP_SPEC, aep_tables
from engine.normalize.common import KEYS
from engine.normalize.compliance import COMPLIANCE_SPEC, compliance_tables
from engine.normalize.decode import Spec, decode
from engine.normalize.evals import EVAL_SPEC, eval_tables
from engine.normalize.rollout import ROLLOUT_SPEC, rollout_tables
from engine.normalize.tables import KIND_TABLES, TABLE_SCHEMAS, conform, empty

__all__ = ["KIND_TABLES", "TABLE_SCHEMAS", "normalize_records", "record_key", "source_key", "table_kind"]

_KINDS: dict[str, tuple[dict[str, Spec], Callable[[pl.DataFrame], dict[str, pl.DataFrame]]]] = {
    "aep": (AEP_SPEC, aep_tables),
    "rollout": (ROLLOUT_SPEC, rollout_tables),
    "compliance": (COMPLIANCE_SPEC, compliance_tables),
    "eval": (EVAL_SPEC, eval_tables),
}

# Bits of `line` in a record key; the rest come from the source's content digest.
_LINE_BITS = 31


def source_key(digest: str) -> int:
    """The high part of every record key of one source: 32 bits of its content digest."""
    return int(digest[:8], 16) << _LINE_BITS


def record_key(source_digest: str, line: pl.Expr) -> pl.Expr:
    """A BIGINT key per record: unique within a source (the line), stable across ingests (the
    digest), and cheap to join on (an integer, not a string)."""
    return (pl.lit(source_key(source_digest), pl.Int64) + line.cast(pl.Int64)).alias("record_key")


def table_kind(table: str) -> str | None:
    for kind, tables in KIND_TABLES.items():
        if table in tables:
            return kind
    return None


def _other(records: pl.DataFrame) -> pl.DataFrame:
    decoded = decode(records["raw"], {"schema_version": pl.String()})
    return conform(records.select(*KEYS, "kind", "raw").hstack(decoded), "other_records")


def normalize_records(records: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """Every store table (except quarantine, validation, admission) from `records`.

    `records` has `record_key, source, line, kind, raw`; tables a batch has no rows for come
    back empty, with their declared schema.
    """
    out = {name: empty(name) for name in TABLE_SCHEMAS if name != "quarantine"}
    known = list(_KINDS)
    for kind, (spec, split) in _KINDS.items():
        part = records.filter(pl.col("kind") == kind)
        if part.height:
            typed = part.select(KEYS).hstack(decode(part["raw"], spec))
            out.update(split(typed))
    others = records.filter(~pl.col("kind").is_in(known))
    if others.height:
        out["other_records"] = _other(others)
    return out
