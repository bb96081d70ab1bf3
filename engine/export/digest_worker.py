"""Evidence digests of mapped JSON-lines records, computed in a child process (`python -m` this module).

The digest (SHA-256 of the canonical JSON, engine.export.lineage) needs a JSON parse and a serialisation per
record under the GIL: on a thread it would hold the interpreter that the rest of the export needs. A child
process computes it on the second core instead, reading the records straight from the input file's pages.

Wire format (stdin, then stdout), little-endian:
- in: one JSON header line `{"files": [[path, n], ...]}`, then per file n int64 start offsets and n int64
  end offsets (record i is bytes start..end of the file);
- out: per record 32 digest bytes (zeros for a record that is not valid JSON), then one byte per record:
  1 when it has a digest, 0 when it is not valid JSON.

Only the standard library and orjson are imported here, so the child starts in well under a second.
"""

from __future__ import annotations

import hashlib
import json
import mmap
import sys
from array import array
from typing import BinaryIO

import orjson

BATCH = 65_536
_NONE = bytes(32)


def canonical_digest(raw: bytes | str) -> bytes | None:
    """SHA-256 of the canonical JSON (sorted keys, compact, UTF-8) of one record; None when it is not JSON."""
    try:
        return hashlib.sha256(orjson.dumps(orjson.loads(raw), option=orjson.OPT_SORT_KEYS)).digest()
    except orjson.JSONDecodeError:
        return None


def _int64s(stream: BinaryIO, n: int) -> array:
    values = array("q")
    values.frombytes(stream.read(8 * n))
    if len(values) != n:
        raise EOFError("truncated offsets")
    if sys.byteorder != "little":
        values.byteswap()
    return values


def digest_file(path: str, starts: array, ends: array, out: BinaryIO, valid: bytearray) -> None:
    """Write the digest of every record of one file to `out`, appending its validity bytes to `valid`."""
    with open(path, "rb") as fh:
        mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    loads, dumps, sha, opt = orjson.loads, orjson.dumps, hashlib.sha256, orjson.OPT_SORT_KEYS
    try:
        for lo in range(0, len(starts), BATCH):
            hi = min(lo + BATCH, len(starts))
            chunk = bytearray()
            for s, e in zip(starts[lo:hi], ends[lo:hi], strict=True):
                try:
                    chunk += sha(dumps(loads(mm[s:e]), option=opt)).digest()
                    valid.append(1)
                except orjson.JSONDecodeError:
                    chunk += _NONE
                    valid.append(0)
            out.write(chunk)
            if hasattr(mm, "madvise") and hi > lo:  # done with these pages: keep this process small
                first = starts[lo] // mmap.PAGESIZE * mmap.PAGESIZE
                mm.madvise(mmap.MADV_DONTNEED, first, max(ends[hi - 1] - first, 1))
    finally:
        mm.close()


def main() -> int:
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    header = json.loads(stdin.readline())
    jobs = [(path, _int64s(stdin, n), _int64s(stdin, n)) for path, n in header["files"]]
    valid = bytearray()
    for path, starts, ends in jobs:
        digest_file(path, starts, ends, stdout, valid)
    stdout.write(valid)
    stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
