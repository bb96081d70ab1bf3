"""Readers: files, directories and globs → Arrow/Polars records + a quarantine of bad lines."""

from engine.io.records import KindBatch, Loaded, RecordBatch, iter_record_batches, load_records
from engine.io.sources import SourceFile, expand_paths

__all__ = ["KindBatch", "Loaded", "RecordBatch", "SourceFile", "expand_paths", "iter_record_batches", "load_records"]
