"""The schema contract: JSON Schemas per record kind and everything derived from them."""

from engine.contract.arrow import arrow_schema, polars_dtype
from engine.contract.detect import kind_of_record
from engine.contract.schemas import KINDS, json_schema, kind_of_version

__all__ = ["KINDS", "arrow_schema", "json_schema", "kind_of_record", "kind_of_version", "polars_dtype"]
