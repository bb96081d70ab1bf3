"""Run receipts: stored digest (reference §3.12.3 construction), optional DSSE, `engine verify` on them."""

from __future__ import annotations

import hashlib
import json

from typer.testing import CliRunner

from engine.authenticity.keys import KeyRing, generate_keypair
from engine.authenticity.receipt import build_receipt, save_receipt, verify_receipt


def _original_digest_check(receipt: dict) -> bool:
    """The original trust score's check, written independently: sorted, compact, ASCII-escaped."""
    body = {k: v for k, v in receipt.items() if k != "receipt_digest"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest() == receipt["receipt_digest"]


def test_unsigned_receipt_carries_its_digest(tmp_path):
    f = tmp_path / "in.txt"
    f.write_text("data ü\n")
    r = build_receipt("run-1", inputs=[str(f), str(tmp_path / "missing")], model_ids=["m1", "m2", "m1"],
                      notes="naïve", timestamp="2026-01-01T00:00:00Z")
    assert r["receipt_version"] == "run-receipt/v0.1"
    assert r["model_ids"] == ["m1", "m2"]
    assert r["inputs"][0]["digest"] == hashlib.sha256(f.read_bytes()).hexdigest()
    assert r["inputs"][1]["digest"] == ""
    assert _original_digest_check(r)
    assert verify_receipt(r, None) == {"run_id": "run-1", "ok": True, "digest": "ok", "authenticity": "unsigned",
                                       "reason": None}
    tampered = {**r, "notes": "changed"}
    assert verify_receipt(tampered, None)["digest"] == "mismatch"
    assert verify_receipt({k: v for k, v in r.items() if k != "receipt_digest"}, None)["digest"] == "missing"


def test_signed_receipt_round_trip_and_tamper(tmp_path):
    priv, _ = generate_keypair("rk", tmp_path / "keys")
    ring = KeyRing.from_dir(tmp_path / "keys", use_env=False)
    r = build_receipt("run-2", model_ids=["m"], key_path=priv, key_id="rk")
    assert _original_digest_check(r)  # the digest covers the envelope too
    assert verify_receipt(r, ring)["authenticity"] == "dsse-valid" and verify_receipt(r, ring)["ok"]
    path = tmp_path / "receipt.json"
    save_receipt(r, path)
    loaded = json.loads(path.read_text())
    assert verify_receipt(loaded, ring)["ok"]
    # edit a field and even recompute the digest: the signature still catches it
    forged = {**loaded, "operator": "mallory"}
    forged.pop("receipt_digest")
    forged["receipt_digest"] = hashlib.sha256(
        json.dumps(forged, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    res = verify_receipt(forged, ring)
    assert res["digest"] == "ok" and res["authenticity"] == "invalid" and not res["ok"]
    assert "operator" in res["reason"]


def test_cli_receipt_and_verify(tmp_path):
    import cli

    runner = CliRunner()
    assert runner.invoke(cli.app, ["keygen", "--key-id", "ck", "--out", str(tmp_path / "k")]).exit_code == 0
    out = tmp_path / "r.json"
    res = runner.invoke(cli.app, ["receipt", "--run-id", "r9", "--model", "a", "--key", str(tmp_path / "k/ck.key"),
                                  "--save", str(out)])
    assert res.exit_code == 0, res.output
    res = runner.invoke(cli.app, ["verify", str(out), "--keys", str(tmp_path / "k"), "--format", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["receipts"][0]["authenticity"] == "dsse-valid" and doc["summary"]["receipts"] == {"total": 1, "ok": 1}
    text = out.read_text().replace('"operator": "ci"', '"operator": "cj"')
    out.write_text(text)
    res = runner.invoke(cli.app, ["verify", str(out), "--keys", str(tmp_path / "k")])
    assert res.exit_code == 1
    res = runner.invoke(cli.app, ["receipt", "--run-id", "r10"])
    assert res.exit_code == 0 and json.loads(res.output)["receipt_digest"]
