"""Ed25519 signature verification with a per-key cache.

The `cryptography` library (OpenSSL) is the reference backend. OpenSSL's verify costs ~150 us on
the 2-core machines we target, which alone caps throughput near 13k signatures/s; when the optional
`ed25519_zebra` extension (PyPI `py-ed25519-zebra-bindings`, Rust ed25519-zebra) is importable it
is used instead (~50 us). ed25519-zebra implements ZIP-215: it also accepts non-canonical point
encodings, so we reject those up front (RFC 8032 §5.1.3 requires y < p) and the two backends accept
exactly the same signatures from any signer (tests check agreement). Set
`ENGINE_ED25519_BACKEND=cryptography` to force the reference backend.
"""

from __future__ import annotations

import os
from collections.abc import Callable

_P = 2**255 - 19
_L = 2**252 + 27742317777372353535851937790883648493


def _canonical_point(enc: bytes) -> bool:
    return (int.from_bytes(enc, "little") & ((1 << 255) - 1)) < _P


def _cryptography_verifier(pub: bytes) -> Callable[[bytes, bytes], bool]:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    key = Ed25519PublicKey.from_public_bytes(pub)
    verify = key.verify

    def check(sig: bytes, msg: bytes) -> bool:
        try:
            verify(sig, msg)
        except InvalidSignature:
            return False
        return True

    return check


def _zebra_verifier(pub: bytes) -> Callable[[bytes, bytes], bool] | None:
    try:
        from ed25519_zebra import ed_verify  # type: ignore[import-not-found]
    except ImportError:
        return None
    if not _canonical_point(pub):
        return lambda sig, msg: False

    def check(sig: bytes, msg: bytes) -> bool:
        # R canonical (y < p) and S < L; the byte tests decide nearly every signature without ints
        if len(sig) != 64 or ((sig[31] & 0x7F) == 0x7F and not _canonical_point(sig[:32])) or (
                sig[63] >= 0x10 and int.from_bytes(sig[32:], "little") >= _L):
            return False
        return bool(ed_verify(sig, msg, pub))

    return check


def backend_name() -> str:
    if os.environ.get("ENGINE_ED25519_BACKEND", "").lower() == "cryptography":
        return "cryptography"
    try:
        import ed25519_zebra  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        return "cryptography"
    return "ed25519-zebra"


class Verifiers:
    """Cache of verify callables per raw public key."""

    def __init__(self, backend: str | None = None) -> None:
        self.backend = backend or backend_name()
        self._cache: dict[bytes, Callable[[bytes, bytes], bool]] = {}

    def verify(self, pub: bytes, sig: bytes, msg: bytes) -> bool:
        fn = self._cache.get(pub)
        if fn is None:
            fn = self._make(pub)
            self._cache[pub] = fn
        return fn(sig, msg)

    def _make(self, pub: bytes) -> Callable[[bytes, bytes], bool]:
        if len(pub) != 32:
            return lambda sig, msg: False
        if self.backend == "ed25519-zebra":
            fn = _zebra_verifier(pub)
            if fn is not None:
                return fn
        try:
            return _cryptography_verifier(pub)
        except ValueError:
            return lambda sig, msg: False
