"""`engine sign` on JSON-lines files signed range by range by the workers equals engine.io's batch path.

Byte-identical output and the same report, with and without --chain, for runs that continue
across ranges (the workers' first links are re-signed by the main process), interleaved runs,
and lines only engine.io's reader can judge (the main process signs those ranges).
"""

from __future__ import annotations

import random

import orjson
import pytest

from benchmarks.generate import records as generate_records
from engine.authenticity import ranges, sign
from engine.authenticity.keys import generate_keypair
from engine.authenticity.layers import chain_layer
from engine.authenticity.sign import sign_paths


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("signranges")
    priv, _ = generate_keypair("k", d / "keys")
    rng = random.Random(5)
    recs = list(generate_records("aep", 240, 21))
    for i, r in enumerate(recs):
        if i < 120:
            r["run_id"] = f"contiguous-{i // 15}"  # runs of 15 records in a row
        elif i < 200:
            r["run_id"] = f"interleaved-{i % 5}"  # 5 runs round-robin over the rest of the file
    lines = [orjson.dumps(r) for r in recs]
    clean = d / "clean.jsonl"
    clean.write_bytes(b"\n".join(lines) + b"\n")
    noisy_lines = list(lines)
    for noise in (b"", b"# comment", b"not json", b'{"run_id": "nan-run", "v": NaN}', b'{"no_run": 1}',
                  b'{"run_id": ""}', b"[1]", b'  {"run_id": "contiguous-0", "padded": true}\r'):
        noisy_lines.insert(rng.randrange(len(noisy_lines)), noise)
    noisy = d / "noisy.jsonl"
    noisy.write_bytes(b"\xef\xbb\xbf" + b"\n".join(noisy_lines))
    return d, priv, clean, noisy


def _sign(paths, priv, out, chain, jobs):
    rep = sign_paths([str(p) for p in paths], priv, "k", out, chain=chain, jobs=jobs)
    return out.read_bytes(), rep.signed, rep.skipped


@pytest.mark.parametrize("chain", [True, False])
@pytest.mark.parametrize("jobs, range_bytes", [(1, 4096), (2, 6000), (2, 1 << 20)])
def test_ranged_signing_equals_batch_signing(inputs, tmp_path, monkeypatch, chain, jobs, range_bytes):
    d, priv, clean, noisy = inputs
    paths = [clean, noisy]
    monkeypatch.setattr(ranges, "RANGE_BYTES", range_bytes)
    monkeypatch.setattr(sign, "PARALLEL_MIN_BYTES", 0)
    got = _sign(paths, priv, tmp_path / "ranged.jsonl", chain, jobs)
    monkeypatch.setattr(sign, "ranged_source", lambda src: False)
    want = _sign(paths, priv, tmp_path / "batched.jsonl", chain, jobs)
    assert got[1] == want[1] > 400
    assert got[2] == want[2] and len(want[2]) >= 4
    assert got[0] == want[0]


def test_chains_across_ranges_are_intact(inputs, tmp_path, monkeypatch):
    import polars as pl

    d, priv, clean, _ = inputs
    monkeypatch.setattr(ranges, "RANGE_BYTES", 5000)  # every run straddles ranges
    monkeypatch.setattr(sign, "PARALLEL_MIN_BYTES", 0)
    out = tmp_path / "signed.jsonl"
    sign_paths([str(clean)], priv, "k", out, chain=True, jobs=2)
    lines = out.read_text().splitlines()
    frame = pl.DataFrame({"source": ["x"] * len(lines), "line": list(range(1, len(lines) + 1)), "raw": lines})
    assert chain_layer(frame)["chain"].value_counts().sort("chain").rows() == [("intact", 200), ("not-present", 40)]


def test_a_sign_worker_that_dies_is_a_one_line_input_error_naming_the_file(inputs, tmp_path, monkeypatch):
    from concurrent.futures.process import BrokenProcessPool

    from engine.authenticity.pool import WorkerPool
    from engine.errors import InputError

    d, priv, clean, _ = inputs

    def dying(self, fn, calls, **kw):
        raise BrokenProcessPool("A process in the process pool was terminated abruptly")
        yield  # a generator, like the real one

    monkeypatch.setattr(WorkerPool, "ordered", dying)
    monkeypatch.setattr(ranges, "RANGE_BYTES", 6000)
    monkeypatch.setattr(sign, "PARALLEL_MIN_BYTES", 0)
    with pytest.raises(InputError) as err:
        sign_paths([str(clean)], priv, "k", tmp_path / "out.jsonl", chain=False, jobs=2)
    line = err.value.one_line()
    assert line.startswith(f"{clean}: a sign worker process died") and "\n" not in line
