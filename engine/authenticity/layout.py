"""The byte layout of the lines `engine sign` writes: canonical body, envelope appended last.

`engine sign` writes each record as its canonical body (sorted keys, compact) with the envelope
appended as the last member: `<canonical body minus "}">,"dsse_envelope":{...}}`, and signs the
canonical Statement, built here by concatenation rather than by serialising the body twice.
Verification does not rely on this layout (every line is parsed; dsse.verify_and_digest).
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from engine.authenticity.dsse import PAYLOAD_TYPE, PREDICATE_TYPE, STATEMENT_TYPE, SUBJECT_PREFIX, b64encode

MARKER = b',"dsse_envelope":'
_HEAD = b'{"_type":"' + STATEMENT_TYPE.encode() + b'","predicate":'
_MID = b',"predicateType":"' + PREDICATE_TYPE.encode() + b'","subject":[{"digest":{"sha256":"'
_PAE_HEAD = b"DSSEv1 %d %s " % (len(PAYLOAD_TYPE), PAYLOAD_TYPE.encode())


def signed_line(body_bytes: bytes, envelope: dict[str, Any]) -> bytes:
    """The JSONL line for a canonical body and its envelope (envelope last, see module doc)."""
    if body_bytes == b"{}":
        return b'{"dsse_envelope":' + orjson.dumps(envelope) + b"}"
    return body_bytes[:-1] + MARKER + orjson.dumps(envelope) + b"}"


def statement_bytes(body_bytes: bytes, run_id: str) -> tuple[bytes, str]:
    """(canonical Statement, body digest) for a canonical body, by concatenation.

    Equal to canonical_bytes() of the Statement dict (tests check it), without serialising the
    body a second time.
    """
    digest = hashlib.sha256(body_bytes).hexdigest()
    name = orjson.dumps(SUBJECT_PREFIX + run_id)
    return b"".join((_HEAD, body_bytes, _MID, digest.encode(), b'"},"name":', name, b"}]}")), digest


def sign_canonical(body_bytes: bytes, run_id: str, private_key: Any, key_id: str) -> bytes:
    """The signed JSONL line (no newline) for a canonical body: what `engine sign` writes."""
    stmt, _ = statement_bytes(body_bytes, run_id)
    sig = private_key.sign(b"%s%d %s" % (_PAE_HEAD, len(stmt), stmt))
    env = {"payloadType": PAYLOAD_TYPE, "payload": b64encode(stmt).decode("ascii"),
           "signatures": [{"keyid": key_id, "sig": b64encode(sig).decode("ascii")}]}
    return signed_line(body_bytes, env)
