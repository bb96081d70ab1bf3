"""keygen -> sign 10,000 generated records -> verify all dsse-valid; every single-field mutation of
a signed record is `invalid`; both Ed25519 backends agree."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path

import orjson
import polars as pl
import pytest

from benchmarks.generate import records as generate_records
from engine.authenticity.canonical import loads
from engine.authenticity.dsse import verify_raw_batch, verify_record
from engine.authenticity.ed25519 import Verifiers
from engine.authenticity.keys import KeyRing, generate_keypair
from engine.authenticity.layers import authenticity_layer, chain_layer
from engine.authenticity.sign import sign_paths

N = 10_000


@pytest.fixture(scope="module")
def signed(tmp_path_factory):
    d = tmp_path_factory.mktemp("roundtrip")
    priv, pub = generate_keypair("test-key", d / "keys")
    src = d / "records.jsonl"
    src.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in generate_records("aep", N, 7)))
    out = d / "signed.jsonl"
    report = sign_paths([str(src)], priv, "test-key", out, chain=True, jobs=2)
    assert report.signed == N and not report.skipped
    return d, out, KeyRing.from_dir(d / "keys", use_env=False)


def _frame(lines: list[str]) -> pl.DataFrame:
    return pl.DataFrame({"source": ["x"] * len(lines), "line": list(range(1, len(lines) + 1)),
                         "kind": ["aep"] * len(lines), "raw": lines})


def test_all_signed_records_verify(signed):
    _, out, ring = signed
    lines = out.read_text().splitlines()
    assert len(lines) == N
    auth = authenticity_layer(_frame(lines), ring, jobs=2)
    assert auth["authenticity"].unique().to_list() == ["dsse-valid"]
    assert set(chain_layer(_frame(lines))["chain"].unique().to_list()) <= {"intact", "not-present"}


def test_chain_links_are_intact_for_multi_record_runs(tmp_path):
    priv, _ = generate_keypair("k", tmp_path / "keys")
    recs = [{"schema_version": "aep/v0.5", "run_id": f"run-{i % 3}", "created_at_ms": i} for i in range(9)]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in recs))
    sign_paths([str(src)], priv, "k", tmp_path / "out.jsonl", chain=True)
    lines = (tmp_path / "out.jsonl").read_text().splitlines()
    assert chain_layer(_frame(lines))["chain"].to_list() == ["intact"] * 9
    ring = KeyRing.from_dir(tmp_path / "keys", use_env=False)
    assert authenticity_layer(_frame(lines), ring)["authenticity"].to_list() == ["dsse-valid"] * 9
    from engine.authenticity.layers import StreamingVerifier

    sv = StreamingVerifier(ring)  # chain hashes of signed rows come from the verification itself
    assert sv.batch(_frame(lines))["authenticity"].to_list() == ["dsse-valid"] * 9
    assert sv.finish()["chain"].to_list() == ["intact"] * 9
    # dropping the middle record of a run breaks that run only
    kept = [ln for i, ln in enumerate(lines) if i != 4]
    sv = StreamingVerifier(ring)
    sv.batch(_frame(kept))
    assert sv.finish()["chain"].to_list() == chain_layer(_frame(kept))["chain"].to_list()
    verdicts = chain_layer(_frame(kept))["chain"].to_list()
    runs = [loads(ln)["run_id"] for ln in kept]
    assert {r: v for r, v in zip(runs, verdicts, strict=True)} == {"run-0": "intact", "run-1": "broken",
                                                                 "run-2": "intact"}


def _mutations(rec: dict) -> list[tuple[str, dict]]:
    out: list[tuple[str, dict]] = []
    for key in rec:
        if key == "dsse_envelope":
            continue
        changed = copy.deepcopy(rec)
        v = changed[key]
        changed[key] = (v + "x" if isinstance(v, str) else (not v) if isinstance(v, bool)
                        else v + 1 if isinstance(v, int | float) else [] if v else [{"x": 1}] if isinstance(v, list)
                        else {"x": 1} if isinstance(v, dict) or v is None else "x")
        out.append((f"change {key}", changed))
        if isinstance(v, bool) or isinstance(v, int):  # same value, other JSON type: 1 vs 1.0 vs true
            retyped = copy.deepcopy(rec)
            retyped[key] = int(v) if isinstance(v, bool) else float(v)
            out.append((f"retype {key}", retyped))
        removed = copy.deepcopy(rec)
        del removed[key]
        out.append((f"remove {key}", removed))
    for key, value in [("extra_field", 1), ("task", "injected"), ("signature", {"alg": "ed25519", "key_id": "x",
                                                                                 "sig": "AA=="})]:
        added = copy.deepcopy(rec)
        added[key] = value
        out.append((f"add {key}", added))
    if rec.get("actions"):
        nested = copy.deepcopy(rec)
        nested["actions"][0]["state_changing"] = int(nested["actions"][0]["state_changing"])
        out.append(("nested bool -> int", nested))
    env = rec["dsse_envelope"]
    payload = base64.b64decode(env["payload"])
    reenc = copy.deepcopy(rec)
    reenc["dsse_envelope"]["payload"] = base64.b64encode(json.dumps(json.loads(payload), indent=1).encode()).decode()
    out.append(("payload re-encoded", reenc))
    for bit in (0, 7, 100, 511):
        flipped = copy.deepcopy(rec)
        sig = bytearray(base64.b64decode(env["signatures"][0]["sig"]))
        sig[bit // 8] ^= 1 << (bit % 8)
        flipped["dsse_envelope"]["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode()
        out.append((f"signature bit {bit} flipped", flipped))
    wrong = copy.deepcopy(rec)
    wrong["dsse_envelope"]["signatures"][0]["keyid"] = "other-key"
    out.append(("wrong key id", wrong))
    unknown = copy.deepcopy(rec)
    unknown["dsse_envelope"]["signatures"][0]["keyid"] = "no-such-key"
    out.append(("unknown key id", unknown))
    for key in ("payloadType", "payload", "signatures"):
        broken = copy.deepcopy(rec)
        broken["dsse_envelope"][key] = "x" if key != "signatures" else []
        out.append((f"envelope {key} changed", broken))
    extra_sig = copy.deepcopy(rec)
    extra_sig["dsse_envelope"]["signatures"].append(dict(extra_sig["dsse_envelope"]["signatures"][0]))
    out.append(("second signature", extra_sig))
    return out


@pytest.mark.parametrize("backend", ["cryptography", "ed25519-zebra"])
def test_every_single_field_mutation_is_invalid(signed, backend, tmp_path):
    if backend == "ed25519-zebra":
        pytest.importorskip("ed25519_zebra")
    d, out, ring = signed
    # a second, different key registered as "other-key": a wrong key id resolves to a real key
    other_priv, other_pub = generate_keypair("other-key", tmp_path)
    ring = KeyRing(keys={**ring.keys, "other-key": bytes.fromhex(other_pub.read_text().strip())}, use_env=False)
    verifiers = Verifiers(backend)
    lines = out.read_text().splitlines()
    checked = 0
    for line in lines[:: len(lines) // 25]:
        rec = loads(line)
        assert verify_record(rec, ring, verifiers) == ("dsse-valid", None)
        for label, mutated in _mutations(rec):
            verdict, reason = verify_record(mutated, ring, verifiers)
            assert verdict == "invalid", (label, verdict)
            assert reason, label
            checked += 1
        # stripping the envelope cannot be told from a never-signed record: it is a downgrade to
        # `unsigned` (never `dsse-valid`); `engine verify --require-signed` fails it
        stripped = {k: v for k, v in rec.items() if k != "dsse_envelope"}
        assert verify_record(stripped, ring, verifiers)[0] == "unsigned"
    assert checked > 25 * 30


def test_backends_agree_on_valid_and_corrupted_signatures(signed):
    pytest.importorskip("ed25519_zebra")
    _, out, ring = signed
    lines = out.read_text().splitlines()[:300]
    corrupted = []
    for i, line in enumerate(lines):
        rec = loads(line)
        sig = bytearray(base64.b64decode(rec["dsse_envelope"]["signatures"][0]["sig"]))
        sig[i % 64] ^= 1 << (i % 8)
        rec["dsse_envelope"]["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode()
        corrupted.append(json.dumps(rec))
    # R with a non-canonical encoding (y >= p) is rejected by both (RFC 8032 5.1.3)
    rec = loads(lines[0])
    sig = bytearray(base64.b64decode(rec["dsse_envelope"]["signatures"][0]["sig"]))
    sig[:32] = (2**255 - 19 + 1).to_bytes(32, "little")
    rec["dsse_envelope"]["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode()
    corrupted.append(json.dumps(rec))
    all_lines = lines + corrupted
    a = verify_raw_batch(all_lines, ring, backend="cryptography")
    b = verify_raw_batch(all_lines, ring, backend="ed25519-zebra")
    assert [v[0] for v in a] == [v[0] for v in b]
    assert [v[0] for v in a[:300]] == ["dsse-valid"] * 300
    assert all(v[0] == "invalid" for v in a[300:])


def test_legacy_inline_signature_round_trip(tmp_path):
    from engine.authenticity.keys import load_private_key
    from engine.authenticity.legacy import sign_inline

    priv, _ = generate_keypair("legacy-k", tmp_path)
    ring = KeyRing.from_dir(tmp_path, use_env=False)
    rec = sign_inline({"schema_version": "aep/v0.1", "run_id": "r", "created_at_ms": 1, "note": "é"},
                      load_private_key(priv), "legacy-k")
    v = Verifiers("cryptography")
    assert verify_record(rec, ring, v, legacy=True) == ("legacy-valid", None)
    assert verify_record(rec, ring, v, legacy=False)[0] == "unsigned"
    assert verify_record({**rec, "note": "e"}, ring, v, legacy=True)[0] == "invalid"
    assert verify_record({**rec, "signature": {**rec["signature"], "alg": "rsa"}}, ring, v, legacy=True)[0] == "invalid"


def test_sign_skips_records_without_run_id(tmp_path):
    priv, _ = generate_keypair("k", tmp_path / "keys")
    src = tmp_path / "in.jsonl"
    src.write_text('{"schema_version":"aep/v0.5","run_id":"a","created_at_ms":1}\n{"schema_version":"aep/v0.5"}\n')
    report = sign_paths([str(src)], priv, "k", tmp_path / "out.jsonl")
    assert report.signed == 1 and len(report.skipped) == 1 and report.skipped[0][1] == 2
    assert Path(tmp_path / "out.jsonl").read_text().count("\n") == 1


def test_cli_verify_of_signed_file(signed):
    from typer.testing import CliRunner

    import cli

    d, out, _ = signed
    res = CliRunner().invoke(cli.app, ["verify", str(out), "--keys", str(d / "keys"), "--format", "json",
                                       "--summary-only", "--require-signed", "--out", str(d / "verdicts.parquet")])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)["summary"]
    assert summary["authenticity"] == {"dsse-valid": N} and summary["ok"]
    assert pl.read_parquet(d / "verdicts.parquet").height == N


def test_text_level_mutations_keep_the_fast_layout_and_are_invalid(signed):
    """The same mutations written back in `engine sign`'s own layout (canonical body, envelope last):
    verify_raw_batch (the inline usual-envelope path) must agree with the general path."""
    from engine.authenticity.canonical import canonical_bytes
    from engine.authenticity.layout import signed_line

    _, out, ring = signed
    verifiers = Verifiers("cryptography")
    lines = out.read_text().splitlines()
    texts, labels = [], []
    for line in lines[:: len(lines) // 10]:
        rec = loads(line)
        for label, mutated in _mutations(rec):
            env = mutated.get("dsse_envelope")
            body = {k: v for k, v in mutated.items() if k != "dsse_envelope"}
            if not isinstance(env, dict):
                continue
            texts.append(signed_line(canonical_bytes(body), env).decode())
            labels.append(label)
        # a space, a reordered key or a re-encoded payload moves a line off the fast path, not to valid
        texts.append(line.replace('":', '": ', 1))
        labels.append("whitespace")
    fast = verify_raw_batch(texts, ring, backend="cryptography")
    general = [verify_record(loads(t), ring, verifiers) for t in texts]
    assert [v[0] for v in fast] == [v[0] for v in general]
    for label, (verdict, *_) in zip(labels, fast, strict=True):
        if label == "whitespace":
            assert verdict == "dsse-valid"
        else:
            assert verdict == "invalid", label


def test_concatenated_statement_is_the_canonical_statement():
    from engine.authenticity.canonical import canonical_bytes
    from engine.authenticity.dsse import PREDICATE_TYPE, STATEMENT_TYPE
    from engine.authenticity.layout import statement_bytes

    for body in ({"run_id": "r", "created_at_ms": 1}, {"run_id": 'ü "q" \\ \u2028', "x": [1.5, None, {"é": 1e-7}]},
                 next(generate_records("aep", 1, 3))):
        data = canonical_bytes(body)
        stmt, digest = statement_bytes(data, body["run_id"])
        expected = canonical_bytes({"_type": STATEMENT_TYPE, "predicate": body, "predicateType": PREDICATE_TYPE,
                                    "subject": [{"name": "urn:wasmagent:run:" + body["run_id"],
                                                 "digest": {"sha256": digest}}]})
        assert stmt == expected
