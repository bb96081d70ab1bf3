"""Every fixture of the installed wasmagent-protocol AEP conformance manifest gets its expected
authenticity and chain verdicts (no fixture skipped).

The manifest's `not-checked` is an evaluation state, not an outcome (verifier-result-contract.md
§1): the corpus makes no claim about that layer for that fixture. We still evaluate every layer and
assert the outcome the fixture's content implies: records without any signature carrier are
`unsigned`; a fixture without a `chain` entry is a single document whose chain is `not-present`
unless it carries a link.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from wasmagent_protocol import get_aep_conformance_dir, get_aep_conformance_manifest

from engine.authenticity.canonical import loads
from engine.authenticity.keys import KeyRing
from engine.authenticity.layers import authenticity_layer, chain_layer
from engine.io import load_records

CORPUS = Path(get_aep_conformance_dir())
MANIFEST = get_aep_conformance_manifest()
TARGETS = MANIFEST["conformance_target"]


def _ring() -> KeyRing:
    by_keyid = MANIFEST["verifying_keys"]["by_keyid"]
    return KeyRing.from_mapping({kid: (CORPUS / rel).read_text() for kid, rel in by_keyid.items()})


def _expected_authenticity(entry: dict, records: pl.DataFrame) -> set[str]:
    want = entry["authenticity"]
    if want != "not-checked":
        return {want}
    signed = records["raw"].map_elements(lambda r: "dsse_envelope" in loads(r), return_dtype=pl.Boolean)
    assert not signed.any(), "not-checked fixtures in this corpus carry no envelope"
    return {"unsigned"}


def _expected_chain(entry: dict, records: pl.DataFrame) -> set[str]:
    want = entry.get("chain", "not-checked")
    if want != "not-checked":
        return {want}
    objs = [loads(r) for r in records["raw"].to_list()]
    if len(objs) == 1 and objs[0].get("prev_record_hash") is None:
        return {"not-present"}
    return {"not-present", "intact"}


def test_manifest_is_nonempty_and_every_fixture_exists():
    assert len(TARGETS) >= 30
    for entry in TARGETS:
        assert (CORPUS / entry["path"]).is_file(), entry["path"]


@pytest.mark.parametrize("entry", TARGETS, ids=[e["path"] for e in TARGETS])
def test_fixture_verdicts(entry):
    loaded = load_records([str(CORPUS / entry["path"])])
    records = loaded.records
    assert loaded.quarantine.height == 0
    assert records.height >= 1
    auth = authenticity_layer(records, _ring())
    chain = chain_layer(records)
    assert auth.height == chain.height == records.height
    want_auth = _expected_authenticity(entry, records)
    got_auth = set(auth["authenticity"].to_list())
    assert got_auth <= want_auth and got_auth, (entry["path"], auth.to_dicts())
    if entry.get("authenticity") == "invalid":
        assert auth["authenticity_reason"].is_not_null().all()
    want_chain = _expected_chain(entry, records)
    got_chain = set(chain["chain"].to_list())
    assert len(got_chain) == 1 and got_chain <= want_chain, (entry["path"], chain.to_dicts())


def test_without_keys_signed_fixtures_are_invalid_not_valid(monkeypatch):
    for name in list(__import__("os").environ):
        if name.startswith("WASMAGENT_AEP_PUBKEY_"):
            monkeypatch.delenv(name)
    records = load_records([str(CORPUS / "dsse/js-signed-v05.json")]).records
    out = authenticity_layer(records, KeyRing(use_env=True))
    assert out["authenticity"].to_list() == ["invalid"]
    assert "no verifying key" in out["authenticity_reason"][0]


def test_env_key_lookup(monkeypatch):
    key_hex = (CORPUS / "dsse/js-verify-key.hex").read_text().strip()
    monkeypatch.setenv("WASMAGENT_AEP_PUBKEY_CONFORMANCE_SEED_KEY_01", key_hex)
    records = load_records([str(CORPUS / "dsse/js-signed-v05.json")]).records
    assert authenticity_layer(records, None)["authenticity"].to_list() == ["dsse-valid"]


def test_chain_reasons_name_the_position():
    records = load_records([str(CORPUS / "chain/broken-middle.jsonl")]).records
    out = chain_layer(records)
    assert out["chain"].to_list() == ["broken", "broken"]
    assert "record 2 of 2" in out["chain_reason"][0] and "broken-middle.jsonl:2" in out["chain_reason"][0]


def test_historical_js_inline_signature_verifies_only_with_legacy():
    records = load_records([str(CORPUS / "historical/js-canonical-ed25519.json")]).records
    ring = KeyRing.from_mapping({"conformance-seed-key-01": (CORPUS / "dsse/js-verify-key.hex").read_text()})
    plain = authenticity_layer(records, ring)
    assert plain["authenticity"].to_list() == ["unsigned"]
    assert "--legacy" in plain["authenticity_reason"][0]
    assert authenticity_layer(records, ring, legacy=True)["authenticity"].to_list() == ["legacy-valid"]


def _keys_dir(tmp_path: Path) -> Path:
    d = tmp_path / "keys"
    d.mkdir()
    for kid, rel in MANIFEST["verifying_keys"]["by_keyid"].items():
        (d / f"{kid}.pub").write_text((CORPUS / rel).read_text())
    return d


def test_cli_verify_on_corpus(tmp_path):
    import json

    from typer.testing import CliRunner

    import cli

    keys = _keys_dir(tmp_path)
    runner = CliRunner()
    good = [str(CORPUS / e["path"]) for e in TARGETS if e["authenticity"] == "dsse-valid"]
    res = runner.invoke(cli.app, ["verify", *good, "--keys", str(keys), "--format", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert set(doc["summary"]["authenticity"]) == {"dsse-valid"}
    assert {r["chain"] for r in doc["records"]} <= {"not-present", "intact"}
    res = runner.invoke(cli.app, ["verify", str(CORPUS / "dsse"), str(CORPUS / "chain"), "--keys", str(keys),
                                  "--format", "json"])
    assert res.exit_code == 1
    doc = json.loads(res.output)
    assert doc["summary"]["chain"]["broken"] == 2 and doc["summary"]["authenticity"]["invalid"] == 7
    res = runner.invoke(cli.app, ["verify", str(CORPUS / "chain/intact-3.jsonl"), "--require-intact"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(cli.app, ["verify", str(CORPUS / "chain/partial-last.jsonl"), "--require-intact"])
    assert res.exit_code == 1
