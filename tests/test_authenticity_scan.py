"""`engine verify`'s range scan (workers read and verify byte ranges) against the general path.

The reference is the slow, obviously-correct route: engine.io's general reader, one
`verify_record` per record, the chain verdicts of tests/reference/chain.py. Inputs are generated
signed records plus mutations that keep or break the signer's layout, adversarial signed records
(non-canonical signed bodies, nested run_id, small floats, prefixes of every shape) and lines the
reader must quarantine.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import random
from pathlib import Path

import orjson
import pytest

from benchmarks.generate import records as generate_records
from engine.authenticity import ranges, verify
from engine.authenticity.canonical import canonical_bytes, loads, record_hash
from engine.authenticity.dsse import PAYLOAD_TYPE, pae, verify_and_hash, verify_record
from engine.authenticity.ed25519 import Verifiers
from engine.authenticity.keys import KeyRing, generate_keypair, load_private_key
from engine.authenticity.receipt import build_receipt
from engine.authenticity.sign import sign_paths
from engine.io import load_records
from tests.reference.chain import run_verdict

STATEMENT = "https://in-toto.io/Statement/v1"
PREDICATE = "https://wasmagent.dev/attestations/aep/v0.4"


def _envelope(stmt_bytes: bytes, key, keyid: str, *, urlsafe: bool = False) -> dict:
    sig = key.sign(pae(PAYLOAD_TYPE, stmt_bytes))
    enc = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    return {"payloadType": PAYLOAD_TYPE, "payload": enc(stmt_bytes).decode(),
            "signatures": [{"keyid": keyid, "sig": enc(sig).decode()}]}


def _statement(body_text: bytes, run_id: object, *, indent: bool = False) -> bytes:
    """A Statement over `body_text` exactly as given (canonical or not)."""
    digest = hashlib.sha256(body_text).hexdigest()
    subject = json.dumps([{"digest": {"sha256": digest}, "name": f"urn:wasmagent:run:{run_id}"}])
    sep = ",\n " if indent else ","
    return (f'{{"_type":"{STATEMENT}"{sep}"predicate":'.encode() + body_text
            + f'{sep}"predicateType":"{PREDICATE}"{sep}"subject":{subject}}}'.encode())


def _line_with(body_text: bytes, env: dict) -> bytes:
    return body_text[:-1] + b',"dsse_envelope":' + orjson.dumps(env) + b"}"


def _adversarial(key, keyid: str, rng: random.Random) -> list[bytes]:
    out: list[bytes] = []
    base = {"schema_version": "aep/v0.5", "run_id": "adv-1", "created_at_ms": 5, "note": "x"}
    canon = canonical_bytes(base)
    # a key holder signing a NON-canonical body (spaces, key order): invalid, whatever the layout
    for text in (json.dumps(base).encode(), json.dumps(dict(reversed(base.items())), separators=(",", ":")).encode()):
        out.append(_line_with(text, _envelope(_statement(text, "adv-1"), key, keyid)))
    # properly signed, but the line's body text is spaced out / reordered: still the same record
    env = _envelope(_statement(canon, "adv-1"), key, keyid)
    out.append(_line_with(json.dumps(base, indent=1).encode(), env))
    out.append(orjson.dumps({"dsse_envelope": env, **base}))
    # url-safe base64, an indented Statement, padding removed: the general path decides
    out.append(_line_with(canon, _envelope(_statement(canon, "adv-1"), key, keyid, urlsafe=True)))
    out.append(_line_with(canon, _envelope(_statement(canon, "adv-1", indent=True), key, keyid)))
    env_np = _envelope(_statement(canon, "adv-1"), key, keyid)
    env_np["payload"] = env_np["payload"].rstrip("=")
    out.append(_line_with(canon, env_np))
    # run_id of other types, nested run_id only, a non-string / upper-case / non-ASCII link
    for rid in (7, None, {"x": 1}, "ünï", 'q"uote'):
        body = {**base, "run_id": rid}
        text = canonical_bytes(body)
        out.append(_line_with(text, _envelope(_statement(text, rid), key, keyid)))
    nested = {"schema_version": "aep/v0.5", "meta": {"run_id": "inner"}, "created_at_ms": 1}
    text = canonical_bytes(nested)
    out.append(_line_with(text, _envelope(_statement(text, "inner"), key, keyid)))
    for prev in (5, "ABCDEF", "İx", None):
        body = {**base, "run_id": "adv-chain", "prev_record_hash": prev}
        text = canonical_bytes(body)
        out.append(_line_with(text, _envelope(_statement(text, "adv-chain"), key, keyid)))
    # floats Python and orjson write differently, hex ids that look like exponents, huge ints
    for extra in ({"f": 1e-7}, {"f": [0.00001, -2.5e-9]}, {"id": "89ca18e8881e-0"}, {"f": 1e-4}, {"big": 2**70},
                  {"s": "0.00001 1e-7"}, {"f": 1e16}):
        body = {**base, "run_id": f"adv-f{len(out)}", **extra}
        text = canonical_bytes(body)
        out.append(_line_with(text, _envelope(_statement(text, body["run_id"]), key, keyid)))
    # inline signature that mirrors / does not mirror the envelope; an unsigned legacy block
    env = _envelope(_statement(canon, "adv-1"), key, keyid)
    mirror = {"alg": "ed25519", "key_id": keyid, "sig": env["signatures"][0]["sig"]}
    out.append(orjson.dumps({**base, "signature": mirror, "dsse_envelope": env}))
    out.append(orjson.dumps({**base, "signature": {**mirror, "sig": "AAAA"}, "dsse_envelope": env}))
    out.append(orjson.dumps({**base, "signature": {"alg": "ed25519", "key_id": keyid, "sig": "AA"}}))
    out.append(orjson.dumps({**base, "\\u0073ignature": 1}))
    out.append(json.dumps({**base, "run_id": "esc-\u00e9"}, ensure_ascii=True).encode())
    # unsigned records, the same runs twice, a run that links to its predecessor
    first = {**base, "run_id": "plain", "prev_record_hash": None}
    second = {**base, "run_id": "plain", "created_at_ms": 6, "prev_record_hash": record_hash(first)}
    out += [orjson.dumps(first), orjson.dumps(second), orjson.dumps({**base, "receipt_version": "x"})]
    rng.shuffle(out)
    return out


def _noise() -> list[bytes]:
    return [b"", b"   ", b"# a comment", b"not json", b"[1, 2]", b'"text"', b"null", b'{"a": NaN}',
            b'{"run_id": "r-nan", "v": NaN}', b'{"a": 1} {"b": 2}', b"\xff\xfe{}", b'{"a": "\\ud800"}',
            b'{"run_id": "big", "n": 123456789012345678901234567890}', b"{" * 300 + b"}" * 300,
            b'  {"run_id": "padded", "created_at_ms": 1}\t', b'{"run_id": "crlf"}\r']


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("scan")
    priv, _ = generate_keypair("k", d / "keys")
    generate_keypair("other", d / "keys")
    src = d / "in.jsonl"
    recs = list(generate_records("aep", 300, 11))
    for i, r in enumerate(recs[:60]):  # a few multi-record runs, so chains are intact, then broken by mutations
        r["run_id"] = f"shared-{i % 4}"
    src.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in recs))
    signed = d / "signed.jsonl"
    sign_paths([str(src)], priv, "k", signed, chain=True, jobs=1)
    key = load_private_key(priv)
    rng = random.Random(3)
    lines = signed.read_bytes().splitlines()
    out: list[bytes] = []
    for i, line in enumerate(lines):
        out.append(line)
        if i % 7 == 0 and (i > 60 or i == 7):
            out.extend(_text_mutations(line, rng))
    out.extend(_adversarial(key, "k", rng))
    for j, noise in enumerate(_noise()):
        out.insert(rng.randrange(len(out)), noise)
        out.insert(rng.randrange(len(out)), _adversarial(key, "k", random.Random(j))[0])
    receipt = build_receipt("rc")
    out.insert(5, orjson.dumps(receipt))
    path = d / "mixed.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + b"\n".join(out) + b"\n" + lines[0])  # BOM, no final newline
    return d, path


def _text_mutations(line: bytes, rng: random.Random) -> list[bytes]:
    rec = loads(line)
    out = []
    body = {k: v for k, v in rec.items() if k != "dsse_envelope"}
    key = rng.choice(sorted(body))
    changed = copy.deepcopy(rec)
    changed[key] = "mutated"
    out.append(orjson.dumps(changed))
    removed = copy.deepcopy(rec)
    del removed[key]
    out.append(_line_with(canonical_bytes({k: v for k, v in removed.items() if k != "dsse_envelope"}),
                          removed["dsse_envelope"]))
    flipped = copy.deepcopy(rec)
    sig = bytearray(base64.b64decode(flipped["dsse_envelope"]["signatures"][0]["sig"]))
    sig[rng.randrange(64)] ^= 1 << rng.randrange(8)
    flipped["dsse_envelope"]["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode()
    out.append(orjson.dumps(flipped))
    wrong = copy.deepcopy(rec)
    wrong["dsse_envelope"]["signatures"][0]["keyid"] = rng.choice(["other", "missing"])
    out.append(orjson.dumps(wrong))
    out.append(line.replace(b'":', b'": ', 3))
    out.append(line[: len(line) // 2])  # truncated: not JSON
    return out


def _reference(path: Path, ring: KeyRing) -> tuple[list[tuple], list[tuple]]:
    """(source, line, run_id, authenticity, reason, chain) per record and the quarantine, slowly."""
    loaded = load_records([str(path)])
    verifiers = Verifiers("cryptography")
    rows, objs = [], []
    # the run_id column is what JSON path `$.run_id` reads (null where polars cannot read the line)
    run_ids = loaded.records["raw"].str.json_path_match("$.run_id").to_list()
    for (source, line, kind, raw), rid in zip(loaded.records.iter_rows(), run_ids, strict=True):
        obj = loads(raw)
        if kind == "unknown" and str(obj.get("receipt_version", "")).startswith("run-receipt/"):
            continue  # a receipt in a file of no record kind: verified as a receipt
        verdict, reason = verify_record(obj, ring, verifiers)
        rows.append((source, line, rid, verdict, reason))
        objs.append(obj)
    # a run is the records of one run_id, as JSON text when it is not a string (json_path_match)
    runs: dict[str, list[dict]] = {}
    for (_, _, rid, _, _), obj in zip(rows, objs, strict=True):
        if rid is not None:
            runs.setdefault(rid, []).append(obj)
    verdict_of = {rid: run_verdict(run) for rid, run in runs.items()}
    chain = ["not-present" if rid is None else verdict_of[rid] for _, _, rid, _, _ in rows]
    quarantine = [(s, n, r) for s, n, _, r in loaded.quarantine.iter_rows()]
    return [(*r, c) for r, c in zip(rows, chain, strict=True)], quarantine


@pytest.mark.parametrize("jobs, range_bytes", [(1, 1 << 20), (1, 4096), (2, 8192)])
def test_range_scan_equals_the_general_path(corpus, monkeypatch, jobs, range_bytes):
    d, path = corpus
    ring = KeyRing.from_dir(d / "keys", use_env=False)
    monkeypatch.setattr(ranges, "RANGE_BYTES", range_bytes)  # the main process plans, the workers follow
    monkeypatch.setattr(verify, "PARALLEL_MIN_BYTES", 0)
    result = verify.verify_paths([str(path)], verify.VerifyOptions(keys_dir=d / "keys", jobs=jobs))
    got = [(r["source"], r["line"], r["run_id"], r["authenticity"], r["authenticity_reason"], r["chain"])
           for r in result.verdicts.iter_rows(named=True)]
    want, want_quarantine = _reference(path, ring)
    assert len(got) == len(want) > 400
    for g, w in zip(got, want, strict=True):
        assert g == w
    assert [tuple(r) for r in result.quarantine.iter_rows()] == want_quarantine
    assert len(want_quarantine) >= 10
    assert result.receipts == []  # in a file of AEP records a receipt line is one more record
    verdicts = {v for *_, v, _, _ in want}
    assert {"dsse-valid", "invalid", "unsigned"} <= verdicts
    assert {c for *_, c in want} >= {"intact", "broken", "not-present"}


def test_general_batches_give_the_same_as_the_range_scan(corpus, monkeypatch):
    """Files the workers do not read (compressed, .json, parquet) take engine.io's batches."""
    d, path = corpus
    opts = verify.VerifyOptions(keys_dir=d / "keys", jobs=1)
    ranged = verify.verify_paths([str(path)], opts)
    monkeypatch.setattr(ranges, "ranged_source", lambda src: False)
    batched = verify.verify_paths([str(path)], opts)
    assert ranged.verdicts.equals(batched.verdicts)
    assert ranged.quarantine.equals(batched.quarantine)
    assert ranged.receipts == batched.receipts


def test_receipts_among_unknown_records(corpus, tmp_path, monkeypatch):
    d, _ = corpus
    lines = [orjson.dumps(build_receipt(f"rc-{i}", timestamp="2024-01-01T00:00:00Z")) for i in range(3)]
    lines.insert(1, b'{"run_id": "u", "receipt_version": "other"}')
    lines.append(b'{"note": "no kind"}')
    path = tmp_path / "receipts.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    opts = verify.VerifyOptions(keys_dir=d / "keys", jobs=1)
    ranged = verify.verify_paths([str(path)], opts)
    monkeypatch.setattr(ranges, "ranged_source", lambda src: False)
    batched = verify.verify_paths([str(path)], opts)
    assert [r["run_id"] for r in ranged.receipts] == ["rc-0", "rc-1", "rc-2"]
    assert all(r["ok"] for r in ranged.receipts)
    assert ranged.receipts == batched.receipts
    assert ranged.verdicts.equals(batched.verdicts) and ranged.verdicts.height == 2


def test_verify_and_hash_equals_verify_record_and_record_hash(corpus):
    d, path = corpus
    ring = KeyRing.from_dir(d / "keys", use_env=False)
    for backend in ("cryptography", "ed25519-zebra"):
        if backend == "ed25519-zebra":
            pytest.importorskip("ed25519_zebra")
        verifiers = Verifiers(backend)
        n = 0
        for raw in load_records([str(path)]).records["raw"].to_list():
            want = (*verify_record(loads(raw), ring, verifiers), record_hash(loads(raw)))
            assert verify_and_hash(loads(raw), ring, verifiers) == want
            assert verify_and_hash(loads(raw), ring, verifiers, legacy=True)[0] == verify_record(
                loads(raw), ring, verifiers, legacy=True)[0]
            n += 1
        assert n > 400


def test_plan_ranges_cut_at_line_starts(tmp_path):
    path = tmp_path / "x.jsonl"
    data = b"".join(b"x" * (i % 37) + b"\n" for i in range(2000)) + b"tail"
    path.write_bytes(data)
    for size in (1, 50, 999, 1 << 20):
        cuts = ranges.plan_ranges(str(path), len(data), size)
        assert cuts[0][0] == 0 and cuts[-1][1] == len(data)
        assert all(a == b for (_, a), (b, _) in zip(cuts, cuts[1:], strict=False))
        assert all(data[a - 1:a] == b"\n" for a, _ in cuts[1:])
    assert ranges.plan_ranges(str(path), 0) == []


def test_base64_backends_agree_and_the_fallback_gives_the_same_verdicts(corpus, monkeypatch):
    import os

    from engine.authenticity import dsse, layout

    for n in (0, 1, 2, 3, 57, 1900, 4096):
        data = os.urandom(n)
        assert dsse.b64encode(data) == dsse._binascii_b64encode(data) == base64.b64encode(data)
    d, path = corpus
    opts = verify.VerifyOptions(keys_dir=d / "keys", jobs=1)
    fast = verify.verify_paths([str(path)], opts)
    monkeypatch.setattr(dsse, "b64encode", dsse._binascii_b64encode)
    monkeypatch.setattr(layout, "b64encode", dsse._binascii_b64encode)
    slow = verify.verify_paths([str(path)], opts)
    assert fast.verdicts.equals(slow.verdicts)


def test_cryptography_backend_gives_the_same_verdicts(corpus, monkeypatch):
    d, path = corpus
    opts = verify.VerifyOptions(keys_dir=d / "keys", jobs=2)
    monkeypatch.setattr(verify, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(ranges, "RANGE_BYTES", 1 << 16)
    default = verify.verify_paths([str(path)], opts)
    monkeypatch.setenv("ENGINE_ED25519_BACKEND", "cryptography")  # the workers inherit it
    reference = verify.verify_paths([str(path)], opts)
    assert default.verdicts.equals(reference.verdicts)


@pytest.mark.parametrize("shrink", [True, False])
def test_a_worker_that_dies_is_a_one_line_input_error_naming_the_file(corpus, tmp_path, monkeypatch, shrink):
    """A worker killed mid-file (SIGBUS when the file shrinks under its map, or an OOM kill) must not
    surface as an internal BrokenProcessPool; the message says whether the file changed."""
    from concurrent.futures.process import BrokenProcessPool

    from engine.authenticity.pool import WorkerPool
    from engine.errors import InputError

    d, path = corpus
    copy_path = tmp_path / "copy.jsonl"
    copy_path.write_bytes(path.read_bytes())
    real_ordered = WorkerPool.ordered

    def dying(self, fn, calls, **kw):
        it = real_ordered(self, fn, calls, **kw)
        yield next(it)
        if shrink:
            with copy_path.open("r+b") as fh:
                fh.truncate(copy_path.stat().st_size // 2)
        raise BrokenProcessPool("A process in the process pool was terminated abruptly")

    monkeypatch.setattr(WorkerPool, "ordered", dying)
    monkeypatch.setattr(verify, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(ranges, "RANGE_BYTES", 8192)
    with pytest.raises(InputError) as err:
        verify.verify_paths([str(copy_path)], verify.VerifyOptions(keys_dir=d / "keys", jobs=2))
    line = err.value.one_line()
    assert str(copy_path) in line and "\n" not in line
    assert ("changed while it was read" in line) is shrink
    assert ("worker process died" in line) is not shrink
