"""The original toolkit's inline `signature` block (reference §3.2), verified only with `--legacy`.

Signed bytes: canonical JSON of the record without its top-level `signature` key (sorted keys,
compact, raw UTF-8, Python float repr). The block needs `alg == "ed25519"`, non-empty `key_id` and
`sig` (base64 or base64url, padding optional, 64 bytes). `bundle`, `transparency_log_ref` and any
`dsse_envelope` are not verified by this profile (a record with an envelope is verified as DSSE).
"""

from __future__ import annotations

import base64
from typing import Any

from engine.authenticity.canonical import canonical_bytes
from engine.authenticity.ed25519 import Verifiers
from engine.authenticity.keys import KeyRing, decode_b64

INVALID, LEGACY_VALID = "invalid", "legacy-valid"


def signed_bytes(record: dict[str, Any]) -> bytes:
    return canonical_bytes({k: v for k, v in record.items() if k != "signature"})


def verify_inline(record: dict[str, Any], keys: KeyRing, verifiers: Verifiers) -> tuple[str, str | None]:
    block = record.get("signature")
    if not isinstance(block, dict):
        return INVALID, "signature: block is not an object"
    if block.get("alg") != "ed25519":
        return INVALID, f"signature: unsupported alg {block.get('alg')!r} (expected 'ed25519')"
    key_id, sig_text = block.get("key_id"), block.get("sig")
    if not isinstance(key_id, str) or not key_id:
        return INVALID, "signature: key_id missing"
    if not isinstance(sig_text, str) or not sig_text:
        return INVALID, "signature: sig missing"
    pub, why = keys.lookup(key_id)
    if pub is None:
        return INVALID, f"signature: {why}"
    try:
        sig = decode_b64(sig_text)
    except ValueError:
        return INVALID, "signature: sig is not base64"
    if len(sig) != 64:
        return INVALID, f"signature: sig is {len(sig)} bytes, expected 64"
    if not verifiers.verify(pub, sig, signed_bytes(record)):
        return INVALID, f"signature: does not verify under key {key_id!r}"
    return LEGACY_VALID, None


def sign_inline(record: dict[str, Any], private_key: Any, key_id: str) -> dict[str, Any]:
    """Add an inline signature block (for producers of the legacy profile and for tests)."""
    body = {k: v for k, v in record.items() if k != "signature"}
    sig = private_key.sign(canonical_bytes(body))
    return {**body, "signature": {"alg": "ed25519", "key_id": key_id,
                                  "sig": base64.urlsafe_b64encode(sig).decode("ascii")}}
