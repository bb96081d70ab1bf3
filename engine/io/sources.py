"""Turn the paths a user typed (files, directories, globs) into a sorted list of input files."""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from typing import Literal

from engine.errors import InputError

Container = Literal["jsonl", "json", "parquet"]
Compression = Literal["none", "gzip", "zstd"]

_SUFFIXES: dict[str, tuple[Container, Compression]] = {
    ".jsonl": ("jsonl", "none"),
    ".ndjson": ("jsonl", "none"),
    ".jsonl.gz": ("jsonl", "gzip"),
    ".ndjson.gz": ("jsonl", "gzip"),
    ".json.gz": ("json", "gzip"),
    ".jsonl.zst": ("jsonl", "zstd"),
    ".ndjson.zst": ("jsonl", "zstd"),
    ".json.zst": ("json", "zstd"),
    ".json": ("json", "none"),
    ".parquet": ("parquet", "none"),
}


@dataclass(frozen=True)
class SourceFile:
    path: str
    container: Container
    compression: Compression
    size: int


def classify(path: str) -> tuple[Container, Compression] | None:
    """Container and compression from the file name, or None when the suffix is not ours."""
    lower = path.lower()
    for suffix in sorted(_SUFFIXES, key=len, reverse=True):
        if lower.endswith(suffix):
            return _SUFFIXES[suffix]
    if lower.endswith(".gz"):
        return ("jsonl", "gzip")
    if lower.endswith(".zst"):
        return ("jsonl", "zstd")
    return None


def _source(path: str, explicit: bool) -> SourceFile | None:
    found = classify(path)
    if found is None and not explicit:
        return None  # a README or a picture inside a data directory is not input
    # a file named on the command line is read as JSON lines whatever its name
    kind: tuple[Container, Compression] = found if found is not None else ("jsonl", "none")
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path=path) from exc
    return SourceFile(path=path, container=kind[0], compression=kind[1], size=size)


def expand_paths(paths: list[str] | tuple[str, ...]) -> list[SourceFile]:
    """Every input file named by `paths`, in a deterministic order, without duplicates.

    Directories are walked recursively (hidden entries skipped) and keep only files with a
    known suffix; globs are expanded; a path that matches nothing is an InputError (exit 2).
    """
    if not paths:
        raise InputError("no input paths given")
    out: list[SourceFile] = []
    seen: set[str] = set()

    def add(src: SourceFile | None) -> None:
        if src is not None and src.path not in seen:
            seen.add(src.path)
            out.append(src)

    for raw in paths:
        path = os.fspath(raw)
        if os.path.isdir(path):
            found: list[str] = []
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                found.extend(os.path.join(root, f) for f in files if not f.startswith("."))
            for f in sorted(found):
                add(_source(f, explicit=False))
        elif os.path.isfile(path):
            add(_source(path, explicit=True))
        elif glob.has_magic(path):
            matches = sorted(m for m in glob.glob(path, recursive=True) if os.path.isfile(m))
            if not matches:
                raise InputError("no file matches this pattern", path=path)
            for m in matches:
                add(_source(m, explicit=False) or _source(m, explicit=True))
        else:
            raise InputError("no such file or directory", path=path, hint="check the path")
    return out
