"""Loading the schema contract: one JSON Schema per record kind (see schemas/README.md).

AEP comes from the installed `wasmagent-protocol` package (the canonical source, never copied);
our own kinds come from `schemas/*.schema.json`.
"""

from __future__ import annotations

import json
from functools import cache, lru_cache
from typing import Any

from engine.errors import ContractError, UsageError
from engine.paths import SCHEMAS_DIR

KINDS: tuple[str, ...] = ("aep", "rollout", "compliance", "eval", "sft", "dpo", "ppo")


@lru_cache(maxsize=1)
def kinds_registry() -> dict[str, dict[str, Any]]:
    registry: dict[str, dict[str, Any]] = json.loads((SCHEMAS_DIR / "kinds.json").read_text(encoding="utf-8"))
    return registry


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise UsageError(f"unknown record kind {kind!r}", hint="use one of: " + ", ".join(KINDS))
    return kind


@cache
def json_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema document of a record kind."""
    entry = kinds_registry()[check_kind(kind)]
    if "package_schema" in entry:
        try:
            import wasmagent_protocol
        except ImportError as exc:  # pragma: no cover - it is a hard dependency
            raise ContractError("the wasmagent-protocol package is not installed") from exc
        schema: dict[str, Any] = wasmagent_protocol.get_schema(entry["package_schema"])
        return schema
    path = SCHEMAS_DIR / entry["file"]
    try:
        loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ContractError(f"cannot load schema: {exc}", path=str(path)) from exc
    return loaded


def version_prefix(kind: str) -> str | None:
    prefix: str | None = kinds_registry()[check_kind(kind)]["version_prefix"]
    return prefix


def kind_of_version(schema_version: str) -> str | None:
    """Which kind a `schema_version` string belongs to (by prefix), or None."""
    for kind in KINDS:
        prefix = version_prefix(kind)
        if prefix and schema_version.startswith(prefix):
            return kind
    return None
