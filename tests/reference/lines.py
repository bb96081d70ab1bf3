"""Slow, obviously-correct reference of the line reader and of the reader's per-line outcome.

Lines are split on `\\n`, stripped of ASCII white space, blank lines and lines starting with `#`
are skipped, a UTF-8 BOM at the very start of the file is ignored. Each kept line is one record
when Python's json reads it as an object, else a quarantined line.
"""

from __future__ import annotations

import json

BOM = b"\xef\xbb\xbf"


def candidate_lines(data: bytes) -> tuple[list[tuple[int, bytes]], int]:
    """(line number, stripped text) of every line that can hold a record, and the skipped count."""
    if data.startswith(BOM):
        data = data[len(BOM):]
    parts = data.split(b"\n")
    if parts and parts[-1] == b"":
        parts.pop()
    kept = []
    for number, part in enumerate(parts, start=1):
        text = part.strip()
        if text and not text.startswith(b"#"):
            kept.append((number, text))
    return kept, len(parts) - len(kept)


def is_object_line(text: bytes) -> bool:
    """Python's json reads the line as one JSON object (strict UTF-8)."""
    try:
        value = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return False
    return isinstance(value, dict)
