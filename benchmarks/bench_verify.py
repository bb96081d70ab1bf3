"""`engine sign` and `engine verify` on N generated AEP records (DSSE, Ed25519), end to end.

Rows:
- `engine sign --chain --jobs J` (N records -> DSSE-signed JSONL, key from `engine keygen`), and the
  per-record signing reference (json, cryptography, one process), timed on 2,000 records and
  extrapolated to N: the sign ratio is reference wall / engine wall;
- `engine verify --jobs J` end to end (read + authenticity + chain) with the default Ed25519
  backend (ed25519-zebra): the issue's ">= 30,000 records/s on 2 cores"; with
  `ENGINE_ED25519_BACKEND=cryptography`; and the per-record verifying reference (json.loads,
  json.dumps canonical form, cryptography verify, one process), extrapolated likewise.

Ratios: each reference row's `ratio` is how many times slower it is than its engine row.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from benchmarks.harness import (
    CACHE_DIR,
    Row,
    cached_jsonl,
    engine_cmd,
    head_sample,
    measure,
    python_cmd,
    row_from,
    run_once,
)

DESCRIPTION = "engine sign / engine verify (DSSE Ed25519) on N AEP records vs per-record references"
REFERENCE_SAMPLE = 2000
TARGET_RATE = 30_000

_REFERENCE_VERIFY = """
import base64, hashlib, json, sys, time
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(open(sys.argv[2]).read().strip()))
lines = [l for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
start = time.perf_counter()
valid = 0
for line in lines:
    rec = json.loads(line)
    env = rec.pop("dsse_envelope")
    payload = base64.b64decode(env["payload"])
    stmt = json.loads(payload)
    body = json.dumps(rec, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    ok = stmt["predicate"] == rec and stmt["subject"][0]["digest"]["sha256"] == hashlib.sha256(body).hexdigest()
    pae = b"DSSEv1 %d %s %d %s" % (len(env["payloadType"]), env["payloadType"].encode(), len(payload), payload)
    try:
        key.verify(base64.b64decode(env["signatures"][0]["sig"]), pae)
    except Exception:
        ok = False
    valid += ok
print(json.dumps({"n": len(lines), "seconds": time.perf_counter() - start, "valid": valid}))
"""

_REFERENCE_SIGN = """
import base64, hashlib, json, sys, time
from cryptography.hazmat.primitives import serialization
key = serialization.load_pem_private_key(open(sys.argv[2], "rb").read(), password=None)
lines = [l for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
ptype = "application/vnd.in-toto+json"
canonical = lambda o: json.dumps(o, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
start = time.perf_counter()
out = []
for line in lines:
    rec = json.loads(line)
    body = {k: v for k, v in rec.items() if k not in ("dsse_envelope", "signature")}
    data = canonical(body)
    stmt = canonical({"_type": "https://in-toto.io/Statement/v1", "predicate": body,
                      "predicateType": "https://wasmagent.dev/attestations/aep/v0.4",
                      "subject": [{"digest": {"sha256": hashlib.sha256(data).hexdigest()},
                                   "name": "urn:wasmagent:run:" + str(body.get("run_id"))}]})
    sig = key.sign(b"DSSEv1 %d %s %d %s" % (len(ptype), ptype.encode(), len(stmt), stmt))
    env = {"payloadType": ptype, "payload": base64.b64encode(stmt).decode(),
           "signatures": [{"keyid": "bench", "sig": base64.b64encode(sig).decode()}]}
    out.append(json.dumps({**body, "dsse_envelope": env}))
print(json.dumps({"n": len(lines), "seconds": time.perf_counter() - start}))
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n", type=int, default=100_000, help="AEP records (issue: 1,000,000)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes for sign/verify")
    parser.add_argument("--no-baselines", action="store_true", help="skip the cryptography-backend row")


def _keys() -> Path:
    d = CACHE_DIR / "bench-keys"
    if not (d / "bench.key").exists():
        from engine.authenticity.keys import generate_keypair

        generate_keypair("bench", d, force=True)
    return d


def _reference_row(code: str, sample: Path, key_file: Path, n: int, size: int, label: str,
                   engine_row: Row) -> Row:
    wall, rss, rc, out, err = run_once(python_cmd(code, str(sample), str(key_file)))
    if rc != 0:
        return Row("verify", label, n, size, None, rss, ok=False,
                   note=f"FAILED: {(err.strip().splitlines() or [''])[-1][:160]}")
    ref = json.loads(out)
    row = Row("verify", f"{label} (extrapolated from {ref['n']:,})", n, size, ref["seconds"] / max(1, ref["n"]) * n,
              rss, note=f"valid {ref['valid']:,}/{ref['n']:,}" if "valid" in ref else "")
    if row.wall_s and engine_row.wall_s:
        row.ratio = row.wall_s / engine_row.wall_s
    return row


def _rate_note(row: Row, extra: str = "") -> None:
    if row.ok and row.wall_s:
        row.note = (f"{row.records / row.wall_s:,.0f} records/s, {row.cpu_s or 0:.1f} CPU-s"
                    + (f"; {extra}" if extra else ""))


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    load_before = os.getloadavg()[0]
    src = cached_jsonl("aep", args.n, args.seed)
    keys = _keys()
    signed = CACHE_DIR / f"signed-{src.name}"
    n, jobs = args.n, str(args.jobs)

    m = measure(engine_cmd("sign", str(src), "--key", str(keys / "bench.key"), "--out", str(signed), "--chain",
                           "--jobs", jobs, "--format", "json"), repeat=1)
    sign_row = row_from("verify", f"engine sign --chain --jobs {jobs}", m, records=n, input_bytes=src.stat().st_size)
    _rate_note(sign_row)
    rows = [sign_row]
    if not signed.exists():
        return [r.as_dict() for r in rows]
    size = signed.stat().st_size
    rows.append(_reference_row(_REFERENCE_SIGN, head_sample(src, REFERENCE_SAMPLE), keys / "bench.key", n,
                               src.stat().st_size, "per-record signing reference, 1 process", sign_row))

    verify = engine_cmd("verify", str(signed), "--keys", str(keys), "--format", "json", "--summary-only",
                        "--jobs", jobs)
    vm = measure(verify, repeat=args.repeat)
    main = row_from("verify", f"engine verify --jobs {jobs} (end to end)", vm, records=n, input_bytes=size)
    if main.ok:
        summary = json.loads(vm.stdout)["summary"]
        _rate_note(main, f"target >= {TARGET_RATE:,}; dsse-valid {summary['authenticity'].get('dsse-valid', 0):,}"
                         f" / {summary['records']:,}")
    rows.append(main)
    if not args.no_baselines:
        cm = measure(verify, repeat=1, env={"ENGINE_ED25519_BACKEND": "cryptography"})
        crow = row_from("verify", f"engine verify --jobs {jobs}, cryptography backend", cm, records=n,
                        input_bytes=size)
        _rate_note(crow)
        if crow.wall_s and main.wall_s:
            crow.ratio = crow.wall_s / main.wall_s
        rows.append(crow)
    rows.append(_reference_row(_REFERENCE_VERIFY, head_sample(signed, REFERENCE_SAMPLE), keys / "bench.pub", n,
                               size, "per-record verifying reference, 1 process", main))
    main.ratio = sign_row.ratio = 1.0
    main.extra["footnotes"] = [f"Ed25519 backend: {_backend()}; machine cores: {os.cpu_count()}; "
                               f"load average (1 min) before {load_before:.2f}, after {os.getloadavg()[0]:.2f}"]
    return [r.as_dict() for r in rows]


def _backend() -> str:
    from engine.authenticity.ed25519 import backend_name

    return backend_name()
