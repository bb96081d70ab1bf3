"""Verifying keys by key id, and private signing keys.

Public keys: `--keys DIR` holds `<keyid>.pub` files with the raw 32-byte Ed25519 key in hex or
base64 (standard or url-safe, padding optional); `WASMAGENT_AEP_PUBKEY_<ID>` environment variables
work too (reference §3.2: ID = key id with every non-alphanumeric character replaced by `_`,
upper-cased). Private keys are PKCS#8 PEM files written with mode 0600. No function here ever puts
key material into an exception message or a return value meant for display.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import UsageError, VerificationError

ENV_PREFIX = "WASMAGENT_AEP_PUBKEY_"
_HEX = re.compile(r"^[0-9a-fA-F]+$")


def env_var_name(key_id: str) -> str:
    return ENV_PREFIX + re.sub(r"[^0-9A-Za-z]", "_", key_id).upper()


def decode_b64(text: str) -> bytes:
    """Standard or url-safe base64, padding optional. Raises ValueError on anything else."""
    if len(text) % 4 == 0:
        try:  # the common case: canonical standard base64
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            pass
    s = "".join(text.split())
    s = s.replace("-", "+").replace("_", "/")
    s += "=" * (-len(s) % 4)
    try:
        return base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64") from exc


def decode_key_text(text: str) -> bytes:
    """Raw 32-byte public key from hex or base64 text. Raises ValueError (without the text)."""
    s = text.strip()
    if len(s) == 64 and _HEX.match(s):
        return bytes.fromhex(s)
    raw = decode_b64(s)
    if len(raw) != 32:
        raise ValueError(f"key is {len(raw)} bytes, expected 32")
    return raw


@dataclass
class KeyRing:
    """Public keys by key id; `lookup` falls back to the environment when `use_env` is set."""

    keys: dict[str, bytes] = field(default_factory=dict)
    use_env: bool = True
    # key id -> why it could not be loaded (reported instead of a silent "unknown key")
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_dir(cls, directory: str | Path, *, use_env: bool = True) -> KeyRing:
        d = Path(directory)
        if not d.is_dir():
            raise VerificationError("keys directory not found", path=str(d))
        ring = cls(use_env=use_env)
        for path in sorted(d.glob("*.pub")):
            try:
                ring.keys[path.stem] = decode_key_text(path.read_text(encoding="utf-8"))
            except (ValueError, UnicodeDecodeError, OSError) as exc:
                ring.errors[path.stem] = f"key load error in {path.name}: {exc}"
        return ring

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, bytes | str], *, use_env: bool = False) -> KeyRing:
        ring = cls(use_env=use_env)
        for kid, value in mapping.items():
            ring.keys[kid] = value if isinstance(value, bytes) else decode_key_text(value)
        return ring

    def lookup(self, key_id: str) -> tuple[bytes | None, str | None]:
        """(raw key, None) or (None, reason)."""
        if key_id in self.keys:
            return self.keys[key_id], None
        if key_id in self.errors:
            return None, self.errors[key_id]
        if self.use_env:
            name = env_var_name(key_id)
            value = os.environ.get(name)
            if value is not None:
                try:
                    raw = decode_key_text(value)
                except ValueError as exc:
                    return None, f"key load error in ${name}: {exc}"
                self.keys[key_id] = raw
                return raw, None
        return None, f"no verifying key for key id {key_id!r}"

    def snapshot(self) -> dict[str, bytes]:
        """Plain mapping (keys resolved so far), picklable for worker processes."""
        return dict(self.keys)


# ------------------------------------------------------------------------------------------------
# private keys
# ------------------------------------------------------------------------------------------------


def generate_keypair(key_id: str, out_dir: str | Path, *, force: bool = False) -> tuple[Path, Path]:
    """Write `<key_id>.key` (PKCS#8 PEM, mode 0600) and `<key_id>.pub` (hex) into `out_dir`."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    if not key_id or re.search(r"[/\\\x00]", key_id) or key_id in (".", ".."):
        raise UsageError(f"invalid key id {key_id!r}", hint="use letters, digits, '-', '_' and '.'")
    d = Path(out_dir)
    d.mkdir(parents=True, exist_ok=True)
    priv_path, pub_path = d / f"{key_id}.key", d / f"{key_id}.pub"
    if not force and (priv_path.exists() or pub_path.exists()):
        raise UsageError(f"key files for {key_id!r} already exist", path=str(d), hint="pass --force to replace")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    pub = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    _write_private(priv_path, pem)
    tmp = pub_path.with_name(pub_path.name + ".tmp")
    tmp.write_text(pub.hex() + "\n", encoding="ascii")
    os.replace(tmp, pub_path)
    return priv_path, pub_path


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    if tmp.exists():
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def load_private_key(path: str | Path):  # -> Ed25519PrivateKey
    """Load an Ed25519 private key: PKCS#8 PEM, or a raw 32-byte seed in hex/base64.

    Errors name the file only: the file's content never appears in a message.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    p = Path(path)
    if p.suffix == ".pub":  # a raw public key looks exactly like a raw seed: it would sign, with another key
        raise VerificationError("this is a public key file; pass the private key (`<keyid>.key` from engine keygen)",
                                path=str(p))
    try:
        data = p.read_bytes()
    except OSError:
        raise VerificationError("cannot read private key file", path=str(p)) from None
    try:
        if b"-----BEGIN" in data:
            key = serialization.load_pem_private_key(data, password=None)
        else:
            key = Ed25519PrivateKey.from_private_bytes(decode_key_text(data.decode("ascii")))
    except Exception:
        # deliberately drop the cause: library messages may quote the input
        raise VerificationError(
            "not an unencrypted Ed25519 private key (PKCS#8 PEM or 32-byte hex/base64 seed)", path=str(p)
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise VerificationError("private key is not Ed25519", path=str(p))
    _check_sibling_public_key(p, public_bytes(key))
    return key


def _check_sibling_public_key(path: Path, pub: bytes) -> None:
    """A `<stem>.pub` beside the private key (engine keygen writes both) must be its public key: a
    mismatched pair signs records that `engine verify --keys` of that folder calls invalid."""
    sibling = path.with_suffix(".pub")
    try:
        text = sibling.read_text(encoding="ascii")
    except (OSError, UnicodeError):
        return  # no readable sibling: nothing to compare
    try:
        expected = decode_key_text(text)
    except ValueError:
        return  # KeyRing.from_dir reports an unusable .pub file by name when it is used
    if expected != pub:
        raise VerificationError(f"private key does not match its public key file {sibling.name} "
                                "(were the two files written by different keygen runs?)", path=str(path))


def public_bytes(private_key) -> bytes:  # type: ignore[no-untyped-def]
    from cryptography.hazmat.primitives import serialization

    return private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
