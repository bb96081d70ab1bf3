"""DSSE verification and signing of AEP records (profile `aep-dsse-ed25519-decoded-body-v1`).

A record is signed by its `dsse_envelope`: Ed25519 over PAE(payloadType, payload) where payload is
the base64-DEcoded in-toto Statement v1 (the base64 is transport only). The Statement binds the
record: `subject[0].name == "urn:wasmagent:run:<run_id>"`, `subject[0].digest.sha256` is the SHA-256
of the canonical record body (the record without `dsse_envelope` and `signature`) and the
`predicate` equals that body. Exactly one signature. A `signature` block next to the envelope (the
corpus emitters add one) must mirror the envelope's signature, so it cannot be swapped silently.

Verdicts: `unsigned` | `dsse-valid` | `invalid` (+ reason); `legacy-valid` only with `--legacy`.
"""

from __future__ import annotations

import base64
import binascii
import gc
import hashlib
from collections.abc import Callable
from typing import Any

import orjson

from engine.authenticity.canonical import canonical_bytes, loads, record_body, record_hash, risky_numbers
from engine.authenticity.ed25519 import Verifiers
from engine.authenticity.keys import KeyRing, decode_b64


def _binascii_b64encode(data: bytes) -> bytes:
    return binascii.b2a_base64(data, newline=False)


def _b64encoder() -> Callable[[bytes], bytes]:
    """Standard base64 with padding, no newline: pybase64 (SIMD, ~10x) when importable, else binascii."""
    try:
        from pybase64 import b64encode as simd
    except ImportError:  # pybase64 is a dependency; binascii is the fallback (tests run both)
        return _binascii_b64encode
    return simd  # type: ignore[no-any-return]


b64encode = _b64encoder()


PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://wasmagent.dev/attestations/aep/v0.4"
SUBJECT_PREFIX = "urn:wasmagent:run:"
SIGNING_PROFILE = "aep-dsse-ed25519-decoded-body-v1"

UNSIGNED, DSSE_VALID, INVALID, LEGACY_VALID = "unsigned", "dsse-valid", "invalid", "legacy-valid"

Verdict = tuple[str, str | None]


def pae(payload_type: str, body: bytes) -> bytes:
    """DSSE v1 Pre-Authentication Encoding."""
    t = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(body), body)


def _differing_fields(a: dict[str, Any], b: dict[str, Any]) -> str:
    names = sorted(k for k in set(a) | set(b) if k not in a or k not in b or canonical_bytes(a[k]) != canonical_bytes(b[k]))
    return ", ".join(names[:8]) + (" ..." if len(names) > 8 else "")


def check_statement(stmt: Any, body: dict[str, Any], *, predicate_type: str, subject_prefix: str,
                    subject_id_field: str) -> str | None:
    """Reason the Statement does not bind `body`, or None when it does."""
    if not isinstance(stmt, dict):
        return "payload is not a JSON object"
    if stmt.get("_type") != STATEMENT_TYPE:
        return f"statement _type is {stmt.get('_type')!r}, expected {STATEMENT_TYPE}"
    if stmt.get("predicateType") != predicate_type:
        return f"predicateType is {stmt.get('predicateType')!r}, expected {predicate_type}"
    subjects = stmt.get("subject")
    if not isinstance(subjects, list) or len(subjects) != 1 or not isinstance(subjects[0], dict):
        return "statement must have exactly one subject"
    subject = subjects[0]
    name = subject.get("name")
    if not isinstance(name, str) or not name:
        return "subject name absent: the attestation is not bound to a run"
    expected_name = subject_prefix + str(body.get(subject_id_field))
    if name != expected_name:
        return f"subject name {name!r} does not name this record ({expected_name!r})"
    digest = subject.get("digest")
    want = digest.get("sha256") if isinstance(digest, dict) else None
    if not isinstance(want, str):
        return "subject has no sha256 digest"
    predicate = stmt.get("predicate")
    if not isinstance(predicate, dict):
        return "statement has no predicate object"
    # Strict binding: both sides serialised the same way must be byte-identical (unlike `==`,
    # this tells 1 from 1.0 from true). orjson's sorted form is that serialisation; it differs from
    # the canonical form only in how some floats are written, so the digest accepts either.
    body_bytes = _sorted_dump(body)
    if body_bytes is None or _sorted_dump(predicate) != body_bytes:
        if canonical_bytes(predicate) != canonical_bytes(body):
            return f"record differs from the signed predicate in: {_differing_fields(predicate, body)}"
        body_bytes = canonical_bytes(body)
    want = want.lower()
    if hashlib.sha256(body_bytes).hexdigest() != want and hashlib.sha256(canonical_bytes(body)).hexdigest() != want:
        return "record digest does not match the signed subject digest"
    return None


def _expected_statement(body_bytes: bytes, body: dict[str, Any], predicate_type: str, subject_prefix: str,
                        subject_id_field: str) -> tuple[bytes, str]:
    """(the sorted-key compact Statement that binds `body`, SHA-256 hex of `body_bytes`), by concatenation.

    `body_bytes` is `body` dumped with sorted keys (`_sorted_dump`). Payloads written that way (our
    signer, the Rust emitter) are checked by one byte comparison: equality proves type,
    predicateType, the single subject's name and digest, and predicate == body at once, without
    parsing the payload. Anything else (other key order, JS emitter) fails the comparison and
    takes the parsing path, which decides with its own reasons.
    """
    digest = hashlib.sha256(body_bytes).hexdigest()
    name = orjson.dumps(subject_prefix + str(body.get(subject_id_field)))
    return b"".join((b'{"_type":"', STATEMENT_TYPE.encode(), b'","predicate":', body_bytes,
                     b',"predicateType":', orjson.dumps(predicate_type), b',"subject":[{"digest":{"sha256":"',
                     digest.encode(), b'"},"name":', name, b"}]}")), digest


def _sorted_dump(obj: Any) -> bytes | None:
    try:
        return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
    except (TypeError, orjson.JSONEncodeError):  # e.g. integers beyond 64 bits, nesting beyond 254
        return None


def verify_envelope(env: Any, body: dict[str, Any], inline_sig: Any, keys: KeyRing, verifiers: Verifiers, *,
                    predicate_type: str = PREDICATE_TYPE, subject_prefix: str = SUBJECT_PREFIX,
                    subject_id_field: str = "run_id") -> Verdict:
    """Verify one DSSE envelope against the record body it travels with."""
    verdict, reason, _ = _verify_envelope(env, body, inline_sig, keys, verifiers, predicate_type,
                                          subject_prefix, subject_id_field)
    return verdict, reason


def _verify_envelope(env: Any, body: dict[str, Any], inline_sig: Any, keys: KeyRing, verifiers: Verifiers,
                     predicate_type: str, subject_prefix: str,
                     subject_id_field: str) -> tuple[str, str | None, str | None]:
    """`verify_envelope`, plus the chain hash of `body` when it came for free (else None).

    The chain hash is the SHA-256 of canonical_bytes(body); the Statement digest is the SHA-256 of
    the sorted dump, and the two byte strings are equal unless the dump holds a number Python's
    json writes differently (canonical.risky_numbers).
    """
    if not isinstance(env, dict):
        return INVALID, "dsse_envelope is not an object", None
    ptype, payload, sigs = env.get("payloadType"), env.get("payload"), env.get("signatures")
    if not isinstance(ptype, str) or not isinstance(payload, str) or not isinstance(sigs, list):
        return INVALID, "dsse_envelope needs payloadType, payload and signatures", None
    if len(sigs) != 1:
        return INVALID, f"exactly one signature required, found {len(sigs)}", None
    if ptype != PAYLOAD_TYPE:
        return INVALID, f"payloadType is {ptype!r}, expected {PAYLOAD_TYPE}", None
    entry = sigs[0]
    if not isinstance(entry, dict) or not isinstance(entry.get("keyid"), str) or not isinstance(entry.get("sig"), str):
        return INVALID, "signature entry needs string keyid and sig", None
    keyid, sig_text = entry["keyid"], entry["sig"]
    dumped = _sorted_dump(body)
    expected: bytes | None = None
    chain_hash: str | None = None
    if dumped is not None:
        expected, digest = _expected_statement(dumped, body, predicate_type, subject_prefix, subject_id_field)
        if not risky_numbers(dumped):
            chain_hash = digest
    # fast path: encoding the expected Statement and comparing costs a third of decoding the payload
    matches = expected is not None and binascii.b2a_base64(expected, newline=False).decode("ascii") == payload
    try:
        body_bytes = expected if matches and expected is not None else decode_b64(payload)
        sig = decode_b64(sig_text)
    except ValueError:
        return INVALID, "payload or signature is not base64", chain_hash
    if len(sig) != 64:
        return INVALID, f"signature is {len(sig)} bytes, expected 64", chain_hash
    if not matches and body_bytes != expected:
        try:
            stmt = loads(body_bytes)
        except ValueError:
            return INVALID, "payload is not JSON", chain_hash
        reason = check_statement(stmt, body, predicate_type=predicate_type, subject_prefix=subject_prefix,
                                 subject_id_field=subject_id_field)
        if reason is not None:
            return INVALID, reason, chain_hash
    pub, why = keys.lookup(keyid)
    if pub is None:
        return INVALID, why, chain_hash
    if not verifiers.verify(pub, sig, pae(ptype, body_bytes)):
        return INVALID, f"signature does not verify under key {keyid!r}", chain_hash
    if inline_sig is not None and (
        not isinstance(inline_sig, dict) or inline_sig.get("sig") != sig_text or inline_sig.get("key_id") != keyid
    ):
        # the emitters mirror the DSSE signature inline; a block that differs was swapped or edited
        return INVALID, "inline signature block does not mirror the DSSE signature", chain_hash
    return DSSE_VALID, None, chain_hash


def verify_record(record: Any, keys: KeyRing, verifiers: Verifiers, *, legacy: bool = False,
                  owned: bool = False) -> Verdict:
    """Authenticity verdict of one parsed record (`owned`: the caller's dict may be consumed)."""
    if not isinstance(record, dict):
        return INVALID, "record is not a JSON object"
    env = record.get("dsse_envelope")
    if env is None:
        if "signature" in record and record["signature"] is not None:
            if legacy:
                from engine.authenticity.legacy import verify_inline

                return verify_inline(record, keys, verifiers)
            return UNSIGNED, "inline signature block not verified (legacy profile: pass --legacy)"
        return UNSIGNED, None
    if owned:  # popping is O(1); copying the body costs ~5 us per record
        inline = record.pop("signature", None)
        record.pop("dsse_envelope")
        return verify_envelope(env, record, inline, keys, verifiers)
    return verify_envelope(env, record_body(record), record.get("signature"), keys, verifiers)


_STMT_HEAD = b'{"_type":"' + STATEMENT_TYPE.encode() + b'","predicate":'
_STMT_MID = b',"predicateType":' + orjson.dumps(PREDICATE_TYPE) + b',"subject":[{"digest":{"sha256":"'
_PAE_HEAD = b"DSSEv1 %d %s " % (len(PAYLOAD_TYPE), PAYLOAD_TYPE.encode())


def verify_and_hash(record: dict[str, Any], keys: KeyRing, verifiers: Verifiers, *,
                    legacy: bool = False) -> tuple[str, str | None, str]:
    """(verdict, reason, chain hash) of one parsed record, which this call may consume.

    The verdict is `verify_record`'s and the hash `record_hash`'s.
    """
    verdict, reason, digest, dumped = verify_and_digest(record, keys, verifiers, legacy=legacy)
    if dumped is not None and risky_numbers(dumped):
        digest = record_hash(record)
    return verdict, reason, digest


def verify_and_digest(record: dict[str, Any], keys: KeyRing, verifiers: Verifiers, *,
                      legacy: bool = False) -> tuple[str, str | None, str, bytes | None]:
    """(verdict, reason, digest, dumped): `verify_and_hash` with the float check left to the caller.

    When `dumped` is None, `digest` is the chain hash. Otherwise `digest` is the SHA-256 of
    `dumped`, the body's sorted orjson dump, and it is the chain hash unless
    `canonical.risky_numbers(dumped)`; then the chain hash is `record_hash(orjson.loads(dumped))`
    (the dump reads back as equal values). A caller with many records tests them at once.

    A DSSE record whose envelope has the usual shape (standard base64, the payload exactly the
    Statement that binds the body) is decided inline, the body serialised once for the Statement
    and the chain link; at the first deviation the general `_verify_envelope` decides, so verdicts
    and reasons are the same (a differential test holds them equal on mutated records).
    """
    env = record.get("dsse_envelope")
    if env is None:
        verdict, reason = verify_record(record, keys, verifiers, legacy=legacy)
        return verdict, reason, record_hash(record), None
    inline = record.pop("signature", None)  # popping is O(1); copying the body costs ~5 us per record
    del record["dsse_envelope"]
    fast = _usual_envelope(env, record, inline, keys, verifiers)
    if fast is not None:
        return fast
    verdict, reason, chain_hash = _verify_envelope(env, record, inline, keys, verifiers, PREDICATE_TYPE,
                                                   SUBJECT_PREFIX, "run_id")
    return verdict, reason, chain_hash if chain_hash is not None else record_hash(record), None


def _usual_envelope(env: Any, body: dict[str, Any], inline_sig: Any, keys: KeyRing,
                    verifiers: Verifiers) -> tuple[str, str | None, str, bytes] | None:
    """`_verify_envelope`'s answer (+ digest, dump) for the usual envelope, None for anything else.

    Each test is one `_verify_envelope` makes in the same order, or implies its outcome: the payload
    is exactly the standard base64 of the expected Statement (its `matches`), and strict decoding
    of the signature accepts a subset of what its `decode_b64` does, with the same bytes.
    """
    if type(env) is not dict:
        return None
    payload, sigs = env.get("payload"), env.get("signatures")
    if (env.get("payloadType") != PAYLOAD_TYPE or type(payload) is not str or type(sigs) is not list
            or len(sigs) != 1 or type(sigs[0]) is not dict):
        return None
    keyid, sig_text = sigs[0].get("keyid"), sigs[0].get("sig")
    if type(keyid) is not str or type(sig_text) is not str:
        return None
    try:
        dumped = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
        sig = binascii.a2b_base64(sig_text, strict_mode=True)
        encoded = payload.encode("ascii")
    except (TypeError, orjson.JSONEncodeError, binascii.Error, ValueError):  # UnicodeError is a ValueError
        return None
    digest = hashlib.sha256(dumped).hexdigest()
    name = orjson.dumps(SUBJECT_PREFIX + str(body.get("run_id")))
    stmt = b"".join((_STMT_HEAD, dumped, _STMT_MID, digest.encode(), b'"},"name":', name, b"}]}"))
    # base64-encoding the expected Statement is much cheaper than decoding the payload
    if len(sig) != 64 or b64encode(stmt) != encoded:
        return None
    pub, why = keys.lookup(keyid)
    if pub is None:
        return INVALID, why, digest, dumped
    if not verifiers.verify(pub, sig, b"%s%d %s" % (_PAE_HEAD, len(stmt), stmt)):
        return INVALID, f"signature does not verify under key {keyid!r}", digest, dumped
    if inline_sig is not None and (
        not isinstance(inline_sig, dict) or inline_sig.get("sig") != sig_text or inline_sig.get("key_id") != keyid
    ):
        return INVALID, "inline signature block does not mirror the DSSE signature", digest, dumped
    return DSSE_VALID, None, digest, dumped


def make_envelope(body: dict[str, Any], private_key: Any, key_id: str, *, predicate_type: str = PREDICATE_TYPE,
                  subject_prefix: str = SUBJECT_PREFIX, subject_id_field: str = "run_id") -> dict[str, Any]:
    """DSSE envelope binding `body` (already without signature carriers)."""
    return make_envelope_bytes(body, private_key, key_id, predicate_type=predicate_type,
                               subject_prefix=subject_prefix, subject_id_field=subject_id_field)[0]


def make_envelope_bytes(body: dict[str, Any], private_key: Any, key_id: str, *,
                        predicate_type: str = PREDICATE_TYPE, subject_prefix: str = SUBJECT_PREFIX,
                        subject_id_field: str = "run_id") -> tuple[dict[str, Any], bytes]:
    """(envelope, canonical body bytes)."""
    body_bytes = canonical_bytes(body)
    statement = {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": subject_prefix + str(body.get(subject_id_field)),
                     "digest": {"sha256": hashlib.sha256(body_bytes).hexdigest()}}],
        "predicateType": predicate_type,
        "predicate": body,
    }
    payload = canonical_bytes(statement)
    sig = private_key.sign(pae(PAYLOAD_TYPE, payload))
    return {
        "payloadType": PAYLOAD_TYPE,
        "payload": base64.b64encode(payload).decode("ascii"),
        "signatures": [{"keyid": key_id, "sig": base64.b64encode(sig).decode("ascii")}],
    }, body_bytes


def verify_raw_batch(raws: list[bytes] | list[str], keys: KeyRing, legacy: bool = False,
                     backend: str | None = None, want_hash: bool = False) -> list[tuple[str, str | None, str | None]]:
    """(verdict, reason, chain hash or None) per JSON text, UTF-8 bytes or str.

    Runs in worker processes too (no polars here). With `want_hash` the third item is the SHA-256
    of the record's canonical body, computed from what verification already had in hand.
    """
    verifiers = Verifiers(backend)
    out: list[tuple[str, str | None, str | None]] = []
    append = out.append
    # parsed records hold no reference cycles; the cyclic GC would only rescan them (~10% of the time)
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for raw in raws:
            try:
                rec = loads(raw)
            except ValueError:
                append((INVALID, "record is not valid JSON", None))
                continue
            if not isinstance(rec, dict):
                append((INVALID, "record is not a JSON object", None))
                continue
            verdict, reason, digest = verify_and_hash(rec, keys, verifiers, legacy=legacy)
            append((verdict, reason, digest if want_hash else None))
    finally:
        if was_enabled:
            gc.enable()
    return out
