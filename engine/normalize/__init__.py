"""Records (source, line, kind, raw) → the normalised tables of the evidence store.

Pure functions from frames to frames: `normalize_records` decodes each kind's JSON text into
typed columns and splits it into the tables declared in `engine.normalize.tables`. Keys join
cleanly: every row carries `record_key` (one per input record; an AEP record is one run) plus
`source` and `line`; rollout rows also carry `rollout_id` + `branch_index`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import polars as pl

from engine.normalize.aep import AEP_SPEC, aep_tables
from engine.normalize.common import KEYS
from engine.normalize.compliance import COMPLIANCE_SPEC, compliance_tables
from engine.normalize.decode import JSON, Spec, decode, spec_from_dtype
from engine.normalize.evals import EVAL_SPEC, eval_tables
from engine.normalize.extras import top_level_extras
from engine.normalize.rollout import ROLLOUT_SPEC, rollout_tables
from engine.normalize.tables import KIND_TABLES, TABLE_SCHEMAS, conform, empty

__all__ = [
    "KIND_TABLES", "TABLE_SCHEMAS", "normalize_records", "normalize_typed_aep", "record_key", "source_key",
    "table_kind",
]

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


@cache
def kind_spec(kind: str) -> dict[str, Spec]:
    """What the store decodes of a kind: the normaliser's fields, typed as the contract declares them."""
    from engine.contract.arrow import polars_dtype

    own = _KINDS[kind][0]
    spec = spec_from_dtype(polars_dtype(kind), own)
    assert isinstance(spec, dict)
    return spec


def _dtype_of(spec: Spec) -> pl.DataType:
    if isinstance(spec, dict):
        return pl.Struct({k: _dtype_of(v) for k, v in spec.items()})
    if isinstance(spec, list):
        return pl.List(_dtype_of(spec[0]))
    if isinstance(spec, str):
        return pl.String()
    return spec


def normalize_typed_aep(typed: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """AEP tables from rows the reader already decoded with the contract's types.

    `typed` has `record_key, source, line, raw` plus the contract's columns; this skips a second
    JSON parse. Fields the contract does not declare are read from `raw`, and only on the rows
    that mention them (`prev_record_hash` chains records; few records carry it).
    """
    present = set(typed.columns)
    missing = [
        pl.lit(None, _dtype_of(sub)).alias(name)
        for name, sub in AEP_SPEC.items()
        if name not in present and sub != JSON
    ]
    frame = typed.with_columns(missing) if missing else typed
    if "prev_record_hash" not in present:
        mentions = pl.col("raw").str.contains('"prev_record_hash"', literal=True)
        frame = frame.with_columns(
            pl.when(mentions).then(pl.col("raw").str.json_path_match("$.prev_record_hash")).alias("prev_record_hash")
        )
    return aep_tables(frame.with_columns(top_level_extras(typed.get_column("raw"))))


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
    for kind, (_, split) in _KINDS.items():
        part = records.filter(pl.col("kind") == kind)
        if part.height:
            typed = part.select(KEYS).hstack(decode(part["raw"], kind_spec(kind)))
            if kind == "aep":
                typed = typed.with_columns(top_level_extras(part.get_column("raw")))
            out.update(split(typed))
    others = records.filter(~pl.col("kind").is_in(known))
    if others.height:
        out["other_records"] = _other(others)
    return out
