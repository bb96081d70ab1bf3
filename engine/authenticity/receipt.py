"""Run receipts (reference §3.17) that carry their own digest and, optionally, a DSSE signature.

`receipt_digest` = SHA-256 of the receipt without `receipt_digest`, sorted keys, compact,
ASCII-escaped (the construction reference §3.12.3 verifies, so the original trust score accepts
our receipts). The optional `dsse_envelope` signs the receipt body (without `receipt_digest` and
`dsse_envelope`) as an in-toto Statement with subject `urn:wasmagent:receipt:<run_id>`; it is
added before the digest, so the digest covers the signature too.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine import __version__
from engine.authenticity.canonical import canonical_ascii_bytes
from engine.authenticity.dsse import DSSE_VALID, INVALID, UNSIGNED, make_envelope, verify_envelope
from engine.authenticity.ed25519 import Verifiers
from engine.authenticity.keys import KeyRing, load_private_key
from engine.authenticity.registry import sha256_file

RECEIPT_VERSION = "run-receipt/v0.1"
RECEIPT_PREDICATE = "https://wasmagent.dev/attestations/run-receipt/v0.1"
RECEIPT_SUBJECT_PREFIX = "urn:wasmagent:receipt:"
_CARRIERS = ("receipt_digest", "dsse_envelope")


def _git_head() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def _file_ref(path: str) -> dict[str, str]:
    return {"path": path, "digest": sha256_file(path) if os.path.isfile(path) else ""}


def receipt_digest(receipt: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_ascii_bytes({k: v for k, v in receipt.items() if k != "receipt_digest"}))\
        .hexdigest()


def build_receipt(run_id: str, *, inputs: Sequence[str] = (), outputs: Sequence[str] = (),
                  model_ids: Sequence[str] = (), operator: str = "ci", policy_bundle_digest: str = "",
                  notes: str = "", key_path: str | Path | None = None, key_id: str | None = None,
                  timestamp: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "receipt_version": RECEIPT_VERSION,
        "run_id": run_id,
        "timestamp_utc": timestamp or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "operator": operator,
        "repo_commit": _git_head(),
        "engine_version": __version__,
        "inputs": [_file_ref(p) for p in inputs],
        "outputs": [_file_ref(p) for p in outputs],
        "model_ids": list(dict.fromkeys(model_ids)),
        "policy_bundle_digest": policy_bundle_digest,
        "notes": notes,
    }
    receipt = dict(body)
    if key_path is not None:
        if not key_id:
            key_id = Path(key_path).stem
        receipt["dsse_envelope"] = make_envelope(body, load_private_key(key_path), key_id,
                                                 predicate_type=RECEIPT_PREDICATE,
                                                 subject_prefix=RECEIPT_SUBJECT_PREFIX)
    receipt["receipt_digest"] = receipt_digest(receipt)
    return receipt


def is_receipt(obj: Any) -> bool:
    return isinstance(obj, dict) and str(obj.get("receipt_version", "")).startswith("run-receipt/")


def verify_receipt(receipt: dict[str, Any], keys: KeyRing | None) -> dict[str, Any]:
    """{run_id, digest: ok|mismatch|missing, authenticity: unsigned|dsse-valid|invalid, reason}."""
    stored = receipt.get("receipt_digest")
    if not isinstance(stored, str) or not stored:
        digest = "missing"
    else:
        digest = "ok" if stored == receipt_digest(receipt) else "mismatch"
    env = receipt.get("dsse_envelope")
    if env is None:
        auth, reason = UNSIGNED, None
    else:
        body = {k: v for k, v in receipt.items() if k not in _CARRIERS}
        auth, reason = verify_envelope(env, body, None, keys or KeyRing(use_env=True), Verifiers(),
                                       predicate_type=RECEIPT_PREDICATE, subject_prefix=RECEIPT_SUBJECT_PREFIX)
    if digest != "ok" and auth == DSSE_VALID:
        reason = "signature valid but receipt_digest does not match"
    ok = digest == "ok" and auth != INVALID
    return {"run_id": receipt.get("run_id"), "ok": ok, "digest": digest, "authenticity": auth, "reason": reason}


def save_receipt(receipt: dict[str, Any], path: str | Path) -> None:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(receipt, indent=2, ensure_ascii=True) + "\n", encoding="ascii")
    os.replace(tmp, p)
