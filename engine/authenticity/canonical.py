"""Canonical JSON for digests and signatures.

The canonical form is Python's `json.dumps(obj, sort_keys=True, separators=(",", ":"),
ensure_ascii=False)` encoded as UTF-8 (reference §3.2: sorted keys, compact, raw UTF-8, Python
float repr). The AEP conformance corpus hashes records the same way (its chain links and DSSE
subject digests reproduce byte for byte).

orjson produces the same bytes ~5x faster except for floats below 1e-4 in magnitude (orjson writes
`1e-8` and `0.00001` where Python writes `1e-08` and `1e-05`), NaN/Infinity and integers beyond
64 bits. `canonical_bytes` uses orjson and falls back to `json` whenever the
output could contain such a number, so both paths always agree (tests prove it on random data).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import orjson

_DIGITS = frozenset(b"0123456789")
_MANTISSA = frozenset(b"0123456789.")
_BEFORE_VALUE = frozenset(b":,[")


def risky_numbers(out: bytes) -> bool:
    """Could `out` (orjson output of a container) hold a number that Python's json writes differently?

    The two agree on every float of magnitude >= 1e-4 (and on all integers orjson writes): a test
    compares them over millions of random doubles of every exponent. Below 1e-4 orjson writes
    `1e-7` or `0.00001` where Python writes `1e-07` and `1e-05`, so such a number token contains
    `e-` or starts with `0.0000`, and follows `:`, `,` or `[` (after an optional `-`). Both needles
    are found with bytes.find; only hits are looked at, and a hit inside a string costs at most
    the slow path.
    """
    i = out.find(b"e-")
    while i > 0:
        if out[i - 1] in _DIGITS:
            j = i - 1
            while j > 0 and out[j - 1] in _MANTISSA:
                j -= 1
            if _starts_number(out, j):
                return True
        i = out.find(b"e-", i + 2)
    i = out.find(b"0.0000")
    while i >= 0:
        if _starts_number(out, i):
            return True
        i = out.find(b"0.0000", i + 1)
    return False


def _starts_number(out: bytes, k: int) -> bool:
    """Does a JSON value (a number token, possibly signed) start at or just before `k`?"""
    if k > 0 and out[k - 1] == 0x2D:  # '-'
        k -= 1
    return k == 0 or out[k - 1] in _BEFORE_VALUE


#: Top-level keys that carry signatures; they are outside the hashed/signed record body.
SIGNATURE_KEYS: tuple[str, ...] = ("dsse_envelope", "signature")


def loads(text: str | bytes) -> Any:
    """Parse JSON text (orjson; `json` for what orjson refuses: NaN, huge integers, lone surrogates)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        return json.loads(text)


def _slow_canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8", "surrogatepass"
    )


def canonical_bytes(obj: Any) -> bytes:
    """Canonical JSON bytes of `obj` (sorted keys, compact, raw UTF-8, Python float repr)."""
    try:
        out = orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
    except (TypeError, orjson.JSONEncodeError):
        return _slow_canonical(obj)
    if not risky_numbers(out) and not isinstance(obj, float):
        return out
    return _slow_canonical(obj)


def canonical_ascii_bytes(obj: Any) -> bytes:
    """Canonical JSON with non-ASCII escaped (the receipt digest of reference §3.12.3)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def record_body(record: dict[str, Any]) -> dict[str, Any]:
    """The record without its signature carriers: what DSSE binds and what chain links hash."""
    if "dsse_envelope" in record or "signature" in record:
        return {k: v for k, v in record.items() if k not in SIGNATURE_KEYS}
    return record


def record_hash(record: dict[str, Any]) -> str:
    """SHA-256 (hex) of the canonical record body: the value of the next record's `prev_record_hash`."""
    return hashlib.sha256(canonical_bytes(record_body(record))).hexdigest()
