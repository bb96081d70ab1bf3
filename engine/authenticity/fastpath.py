"""Parse-free verification of the records `engine sign` writes (the bulk of any large signed input).

`engine sign` writes each record as its canonical body (sorted keys, compact) with the envelope
appended as the last member: `<canonical body minus "}">,"dsse_envelope":{...}}`, and signs a
canonical Statement. For such a line the Statement can be rebuilt from the body TEXT: when the
rebuilt bytes equal the envelope payload, the signed predicate is byte-identical to the record's
body, so any JSON parser reads the same fields from both, and the digest, subject name and types
are those we expect. Then only the Ed25519 check remains: no JSON parse of the body, no
re-serialisation, no base64 decoding of the payload.

`fast_verify` answers (with the body's SHA-256, which is also its chain hash) only for a valid
record on this path; anything else (other layouts, other emitters, any failure) returns None and
the caller runs the general path, which also gives the reason.
"""

from __future__ import annotations

import binascii
import hashlib
from typing import Any

import orjson

from engine.authenticity.dsse import PAYLOAD_TYPE, PREDICATE_TYPE, STATEMENT_TYPE, SUBJECT_PREFIX
from engine.authenticity.ed25519 import Verifiers
from engine.authenticity.keys import KeyRing, decode_b64

MARKER = b',"dsse_envelope":'
_RUN_ID = b'"run_id":"'
_HEAD = b'{"_type":"' + STATEMENT_TYPE.encode() + b'","predicate":'
_MID = b',"predicateType":"' + PREDICATE_TYPE.encode() + b'","subject":[{"digest":{"sha256":"'
_NAME = b'"},"name":"' + SUBJECT_PREFIX.encode()
_TAIL = b'"}]}'
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
    env = {"payloadType": PAYLOAD_TYPE, "payload": binascii.b2a_base64(stmt, newline=False).decode("ascii"),
           "signatures": [{"keyid": key_id, "sig": binascii.b2a_base64(sig, newline=False).decode("ascii")}]}
    return signed_line(body_bytes, env)


def fast_verify(raw: bytes | str, keys: KeyRing, verifiers: Verifiers) -> str | None:
    """SHA-256 (hex) of the record body when the record verifies on this path, else None."""
    if isinstance(raw, str):
        try:
            b = raw.encode("utf-8")
        except UnicodeEncodeError:
            return None
    else:
        b = raw
    i = b.rfind(MARKER)
    if i < 0 or not b.endswith(b"}"):
        return None
    body = b[:i] + b"}"
    # signature carriers inside the body would be outside the general path's body: let it decide
    # (needles start with a rare byte: memchr skips ahead; a '"'-led needle would stop at every quote)
    if b'signature":' in body or b'dsse_envelope":' in body:
        return None
    j = body.find(_RUN_ID)
    if j < 0 or body.find(_RUN_ID, j + 1) >= 0:
        return None
    k = body.find(b'"', j + len(_RUN_ID))
    run_id = body[j + len(_RUN_ID):k]
    if k < 0 or b"\\" in run_id:
        return None
    try:
        env = orjson.loads(b[i + len(MARKER):-1])
    except orjson.JSONDecodeError:
        return None
    if not isinstance(env, dict) or env.get("payloadType") != PAYLOAD_TYPE:
        return None
    sigs, payload = env.get("signatures"), env.get("payload")
    if not isinstance(sigs, list) or len(sigs) != 1 or not isinstance(sigs[0], dict) or not isinstance(payload, str):
        return None
    keyid, sig_text = sigs[0].get("keyid"), sigs[0].get("sig")
    if not isinstance(keyid, str) or not isinstance(sig_text, str):
        return None
    digest = hashlib.sha256(body).hexdigest()
    stmt = b"".join((_HEAD, body, _MID, digest.encode(), _NAME, run_id, _TAIL))
    if binascii.b2a_base64(stmt, newline=False).decode("ascii") != payload:
        return None
    pub, _ = keys.lookup(keyid)
    if pub is None:
        return None
    try:
        sig = decode_b64(sig_text)
    except ValueError:
        return None
    if len(sig) == 64 and verifiers.verify(pub, sig, b"%s%d %s" % (_PAE_HEAD, len(stmt), stmt)):
        # the body is the signer's canonical body, so this is also the record's chain hash
        return digest
    return None
