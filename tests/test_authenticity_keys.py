"""Key loading, and: private keys never appear in any output, file we write, or error message."""

from __future__ import annotations

import base64
import stat
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from engine.authenticity.keys import (
    KeyRing,
    decode_key_text,
    env_var_name,
    generate_keypair,
    load_private_key,
)
from engine.errors import UsageError, VerificationError

ROOT = Path(__file__).resolve().parent.parent


def test_env_var_name_follows_reference():
    assert env_var_name("aep-signer-v1") == "WASMAGENT_AEP_PUBKEY_AEP_SIGNER_V1"
    assert env_var_name("a.b/c") == "WASMAGENT_AEP_PUBKEY_A_B_C"


def test_key_text_formats():
    raw = bytes(range(32))
    for text in (raw.hex(), raw.hex().upper(), base64.b64encode(raw).decode(),
                 base64.urlsafe_b64encode(raw).decode().rstrip("="), " " + raw.hex() + "\n"):
        assert decode_key_text(text) == raw
    with pytest.raises(ValueError):
        decode_key_text(base64.b64encode(bytes(31)).decode())
    with pytest.raises(ValueError):
        decode_key_text("not a key!")


def test_keys_dir_reports_bad_files_by_name(tmp_path):
    (tmp_path / "good.pub").write_text(bytes(32).hex())
    (tmp_path / "bad.pub").write_text("zz")
    ring = KeyRing.from_dir(tmp_path, use_env=False)
    assert ring.lookup("good")[0] == bytes(32)
    key, why = ring.lookup("bad")
    assert key is None and "bad.pub" in why
    assert ring.lookup("nope") == (None, "no verifying key for key id 'nope'")
    with pytest.raises(VerificationError):
        KeyRing.from_dir(tmp_path / "missing")


def test_keygen_modes_and_refuses_overwrite(tmp_path):
    priv, pub = generate_keypair("k1", tmp_path)
    assert stat.S_IMODE(priv.stat().st_mode) == 0o600
    assert len(decode_key_text(pub.read_text())) == 32
    with pytest.raises(UsageError):
        generate_keypair("k1", tmp_path)
    with pytest.raises(UsageError):
        generate_keypair("../evil", tmp_path)
    generate_keypair("k1", tmp_path, force=True)


def _secret_forms(key_path: Path) -> list[bytes]:
    key = load_private_key(key_path)
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                            serialization.NoEncryption())
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    forms = [raw, raw.hex().encode(), raw.hex().upper().encode(), der.hex().encode(),
             base64.b64encode(raw), base64.b64encode(raw).rstrip(b"="),
             base64.urlsafe_b64encode(raw).rstrip(b"="), base64.b64encode(der).rstrip(b"=")]
    pem_body = b"".join(key_path.read_bytes().splitlines()[1:-1])
    forms.append(pem_body[:40])  # any long run of the PEM body
    forms.append(pem_body[-24:])
    return forms


def _runner(capsys, monkeypatch, cwd: Path):
    """Run `engine ARGS` in-process through cli.main (the real error mapping), capturing both streams."""
    import cli

    monkeypatch.chdir(cwd)
    monkeypatch.setenv("COLUMNS", "200")

    def run(args: list[str]) -> bytes:
        monkeypatch.setattr(sys, "argv", ["engine", *args])
        try:
            cli.main()
        except SystemExit:
            pass
        out = capsys.readouterr()
        return (out.out + "\n" + out.err).encode()

    return run


def test_private_key_never_leaks(tmp_path, capsys, monkeypatch):
    from benchmarks.generate import records

    (tmp_path / "recs.jsonl").write_text("".join(__import__("json").dumps(r) + "\n" for r in records("aep", 20, 1)))
    run = _runner(capsys, monkeypatch, tmp_path)
    outputs = [run(["keygen", "--key-id", "leak", "--out", "keys"]),
               run(["keygen", "--key-id", "leak", "--out", "keys", "--format", "json"])]  # refused
    key = tmp_path / "keys" / "leak.key"
    (tmp_path / "art.txt").write_text("artifact\n")
    broken = tmp_path / "broken.key"
    broken.write_bytes(key.read_bytes()[:-30])
    misplaced = tmp_path / "misplaced"
    misplaced.mkdir()
    (misplaced / "leak.pub").write_bytes(key.read_bytes())
    commands = [
        ["sign", "recs.jsonl", "--key", "keys/leak.key", "--out", "signed.jsonl", "--chain"],
        ["sign", "recs.jsonl", "--key", "keys/leak.key", "--out", "signed2.jsonl", "--format", "json"],
        ["verify", "signed.jsonl", "--keys", "keys", "--format", "json"],
        ["verify", "signed.jsonl", "--keys", "keys"],
        ["verify", "signed.jsonl", "--keys", "misplaced", "--format", "json"],
        ["verify", "keys/leak.key", "--format", "json"],
        ["verify", "keys/leak.key"],
        ["sign", "keys/leak.key", "--key", "keys/leak.key", "--out", "x.jsonl", "--format", "json"],
        ["sign", "recs.jsonl", "--key", "broken.key", "--out", "y.jsonl"],
        ["sign", "recs.jsonl", "--key", "recs.jsonl", "--out", "y.jsonl"],
        ["registry", "register", "--registry-dir", "reg", "--id", "a", "--type", "verifier", "--version", "1",
         "--artifact", "art.txt", "--key", "keys/leak.key", "--format", "json"],
        ["registry", "register", "--registry-dir", "reg", "--id", "b", "--type", "verifier", "--version", "1",
         "--key", "broken.key"],
        ["registry", "list", "--registry-dir", "reg", "--format", "json"],
        ["registry", "log", "--registry-dir", "reg", "--format", "json"],
        ["registry", "verify", "--registry-dir", "reg", "--keys", "keys", "--format", "json"],
        ["registry", "verify", "--registry-dir", "reg", "--keys", "misplaced"],
        ["receipt", "--run-id", "r", "--input", "keys/leak.key", "--key", "keys/leak.key"],
        ["receipt", "--run-id", "r", "--key", "broken.key"],
    ]
    for args in commands:
        outputs.append(run(args))
    forms = _secret_forms(key)
    # every file we wrote, except the private key itself and the two copies the test made on purpose
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.suffix != ".key" and p.parent != misplaced]
    blobs = outputs + [p.read_bytes() for p in written]
    assert any(b"signed 20 record" in o for o in outputs)
    joined = b"".join(outputs)
    assert b"not an unencrypted Ed25519 private key" in joined  # the error paths really ran
    assert b"key load error in leak.pub" in joined
    assert any(form in key.read_bytes() or form in b"".join(forms) for form in forms)
    for blob in blobs:
        for form in forms:
            assert form not in blob
    assert b"Traceback" not in b"".join(outputs)


def test_a_public_key_file_or_a_mismatched_pair_is_refused_as_signing_key(tmp_path):
    # a raw public key is 32 bytes of hex, just like a raw seed: without the check it signs with another key
    generate_keypair("me", tmp_path / "keys")
    generate_keypair("other", tmp_path / "other")
    pub_text = (tmp_path / "keys" / "me.pub").read_text()
    with pytest.raises(VerificationError, match="this is a public key file"):
        load_private_key(tmp_path / "keys" / "me.pub")
    (tmp_path / "keys" / "me.pub").write_text((tmp_path / "other" / "other.pub").read_text())
    with pytest.raises(VerificationError, match=r"does not match its public key file me\.pub") as err:
        load_private_key(tmp_path / "keys" / "me.key")
    assert pub_text.strip() not in err.value.one_line()
    (tmp_path / "keys" / "me.pub").write_text(pub_text)
    assert load_private_key(tmp_path / "keys" / "me.key") is not None  # the matching pair loads
    (tmp_path / "keys" / "me.pub").unlink()
    assert load_private_key(tmp_path / "keys" / "me.key") is not None  # no sibling: nothing to compare
