"""The validation error table, streamed to a JSONL or Parquet file (temp name, then rename)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import polars as pl

from engine.errors import UsageError


class ErrorSink:
    """Append error frames; `close()` renames the finished file into place."""

    def __init__(self, path: Path, schema: dict[str, Any]) -> None:
        name = str(path)
        if name.endswith(".parquet"):
            self.format = "parquet"
        elif name.endswith(".jsonl") or name.endswith(".ndjson"):
            self.format = "jsonl"
        else:
            raise UsageError("--errors must end in .jsonl or .parquet", path=name)
        self.path = Path(path)
        if not self.path.parent.exists():
            raise UsageError("the folder for --errors does not exist", path=str(self.path.parent))
        self.tmp = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}")
        self.schema = schema
        self._writer: Any = None
        self._fh: Any = None
        self.rows = 0

    def write(self, frame: pl.DataFrame) -> None:
        self.rows += frame.height
        if self.format == "parquet":
            import pyarrow.parquet as pq

            table = frame.to_arrow()
            if self._writer is None:
                self._writer = pq.ParquetWriter(self.tmp, table.schema, compression="zstd")
            self._writer.write_table(table)
        else:
            if self._fh is None:
                self._fh = open(self.tmp, "w", encoding="utf-8")
            for row in frame.iter_rows(named=True):  # error rows only: few, and written for people
                self._fh.write(json.dumps(row, ensure_ascii=False) + "\n")

    def close(self) -> str:
        if self.format == "parquet":
            if self._writer is None:
                pl.DataFrame(schema=self.schema).write_parquet(self.tmp, compression="zstd")
            else:
                self._writer.close()
        else:
            if self._fh is None:
                self._fh = open(self.tmp, "w", encoding="utf-8")
            self._fh.close()
        os.replace(self.tmp, self.path)
        return str(self.path)

    def abort(self) -> None:
        try:
            if self._writer is not None:
                self._writer.close()
            if self._fh is not None:
                self._fh.close()
        finally:
            if self.tmp.exists():
                self.tmp.unlink()
