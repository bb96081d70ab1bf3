"""`engine sign` and `engine verify` on N generated AEP records (DSSE, Ed25519), end to end.

Rows:
- `engine sign --jobs J` (N records -> DSSE-signed JSONL, key from `engine keygen`);
- `engine verify --jobs J` end to end (read + authenticity + chain), with the default Ed25519
  backend (ed25519-zebra when installed) and with `ENGINE_ED25519_BACKEND=cryptography`;
- the authenticity layer alone (records already in memory), which is what the issue's
  ">= 30,000 records/s on 2 cores" target measures;
- the reference: a per-record loop (json.loads, json.dumps canonical form, cryptography verify,
  one process), timed on a 2,000-record sample and extrapolated to N.
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
    set_ratios,
)

DESCRIPTION = "engine sign / engine verify (DSSE Ed25519) on N AEP records vs a per-record reference"
REFERENCE_SAMPLE = 2000
TARGET_RATE = 30_000

_LAYER_ONLY = """
import json, sys, time
from engine.io import load_records
from engine.authenticity.keys import KeyRing
from engine.authenticity.layers import authenticity_layer
records = load_records([sys.argv[1]]).records
ring = KeyRing.from_dir(sys.argv[2], use_env=False)
start = time.perf_counter()
out = authenticity_layer(records, ring, jobs=int(sys.argv[3]))
seconds = time.perf_counter() - start
counts = {k: int(v) for k, v in out["authenticity"].value_counts().iter_rows()}
print(json.dumps({"n": records.height, "seconds": seconds, "counts": counts}))
"""

_REFERENCE = """
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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n", type=int, default=100_000, help="AEP records (issue: 1,000,000)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes for sign/verify")
    parser.add_argument("--no-baselines", action="store_true", help="skip the cryptography-backend and reference rows")


def _keys() -> Path:
    d = CACHE_DIR / "bench-keys"
    if not (d / "bench.key").exists():
        from engine.authenticity.keys import generate_keypair

        generate_keypair("bench", d, force=True)
    return d


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    src = cached_jsonl("aep", args.n, args.seed)
    keys = _keys()
    signed = CACHE_DIR / f"signed-{src.name}"
    n, jobs = args.n, str(args.jobs)

    m = measure(engine_cmd("sign", str(src), "--key", str(keys / "bench.key"), "--out", str(signed), "--chain",
                           "--jobs", jobs, "--format", "json"), repeat=1)
    rows = [row_from("verify", f"engine sign --chain --jobs {jobs}", m, records=n, input_bytes=src.stat().st_size)]
    if not signed.exists():
        return [r.as_dict() for r in rows]
    size = signed.stat().st_size

    verify = engine_cmd("verify", str(signed), "--keys", str(keys), "--format", "json", "--summary-only",
                        "--jobs", jobs)
    vm = measure(verify, repeat=args.repeat)
    main = row_from("verify", f"engine verify --jobs {jobs} (end to end)", vm, records=n, input_bytes=size)
    if main.ok:
        summary = json.loads(vm.stdout)["summary"]
        main.note = f"dsse-valid {summary['authenticity'].get('dsse-valid', 0):,} / {summary['records']:,}"
    rows.append(main)

    wall, rss, rc, out, err = run_once(python_cmd(_LAYER_ONLY, str(signed), str(keys), jobs))
    if rc == 0:
        res = json.loads(out)
        layer = Row("verify", f"authenticity layer only, jobs {jobs}", n, size, res["seconds"], rss,
                    note=f"{res['n'] / res['seconds']:,.0f} records/s (target >= {TARGET_RATE:,}) {res['counts']}")
        rows.append(layer)
    else:
        rows.append(Row("verify", "authenticity layer only", n, size, None, rss, ok=False,
                        note=f"FAILED: {(err.strip().splitlines() or [''])[-1][:160]}"))

    if not args.no_baselines:
        cm = measure(verify, repeat=1, env={"ENGINE_ED25519_BACKEND": "cryptography"})
        rows.append(row_from("verify", f"engine verify --jobs {jobs}, cryptography backend", cm, records=n,
                             input_bytes=size))
        sample = head_sample(signed, REFERENCE_SAMPLE)
        wall, rss, rc, out, err = run_once(python_cmd(_REFERENCE, str(sample), str(keys / "bench.pub")))
        if rc == 0:
            ref = json.loads(out)
            rows.append(Row("verify", f"per-record reference, 1 process (extrapolated from {ref['n']:,})", n, size,
                            ref["seconds"] / max(1, ref["n"]) * n, rss, note=f"valid {ref['valid']:,}/{ref['n']:,}"))
    set_ratios(rows, main)
    main.extra["footnotes"] = [f"Ed25519 backend: {_backend()}; machine cores: {os.cpu_count()}"]
    return [r.as_dict() for r in rows]


def _backend() -> str:
    from engine.authenticity.ed25519 import backend_name

    return backend_name()
