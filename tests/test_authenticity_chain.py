"""Chain layer vs the slow reference on random and adversarial runs; canonical JSON fast path vs json."""

from __future__ import annotations

import json
import math

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.authenticity.canonical import canonical_bytes, record_hash
from engine.authenticity.layers import chain_layer
from tests.reference.chain import canonical_hash
from tests.reference.chain import chain_verdicts as reference_verdicts

_json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8),
)
_json = st.recursive(_json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)), max_leaves=12)


@settings(max_examples=400, deadline=None)
@given(_json)
def test_canonical_fast_path_matches_python_json(value):
    expected = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8",
                                                                                                   "surrogatepass")
    assert canonical_bytes(value) == expected


def test_canonical_tricky_numbers():
    for v in (1e-5, 1e-7, 5e-324, 1e16, 1e22, 123456789.123, -0.0, 0.0001, 2**64, -(2**64), math.pi):
        obj = {"v": v, "l": [v], "s": "e-5 0.00001"}
        assert canonical_bytes(obj) == json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


@st.composite
def _runs(draw):
    """Records of a few interleaved runs with correct, missing, wrong, orphan links."""
    n_runs = draw(st.integers(1, 4))
    records: list[dict] = []
    last: dict[str, dict] = {}
    for i in range(draw(st.integers(1, 14))):
        run = f"run-{draw(st.integers(0, n_runs - 1))}"
        rec: dict = {"schema_version": "aep/v0.5", "run_id": run, "created_at_ms": i,
                     "x": draw(st.sampled_from(["a", "é", 1.5, None]))}
        mode = draw(st.sampled_from(["link", "link", "link", "none", "null", "wrong", "orphan"]))
        if mode == "link" and run in last:
            rec["prev_record_hash"] = canonical_hash(last[run])
        elif mode == "null":
            rec["prev_record_hash"] = None
        elif mode in ("wrong", "orphan"):
            rec["prev_record_hash"] = "f" * 64
        if draw(st.booleans()):
            rec["signature"] = {"alg": "ed25519", "key_id": "k", "sig": "AA"}  # outside the hashed body
        records.append(rec)
        last[run] = rec
    if draw(st.booleans()):
        records.append({"schema_version": "aep/v0.5", "created_at_ms": 0})  # no run_id
    return records


@settings(max_examples=300, deadline=None)
@given(_runs())
def test_chain_layer_matches_reference(records):
    frame = pl.DataFrame({"source": ["f"] * len(records), "line": list(range(1, len(records) + 1)),
                          "kind": ["aep"] * len(records), "raw": [json.dumps(r) for r in records]})
    got = chain_layer(frame)
    assert got["chain"].to_list() == reference_verdicts(records)
    assert got.height == len(records)


def test_record_hash_matches_reference():
    rec = {"run_id": "r", "b": [1, 2.5, "ü"], "a": {"z": None}, "dsse_envelope": {"x": 1}, "signature": {}}
    assert record_hash(rec) == canonical_hash(rec)


def _frame(records: list[dict], sources: list[str]) -> pl.DataFrame:
    return pl.DataFrame({"source": sources, "line": list(range(1, len(records) + 1)),
                         "kind": ["aep"] * len(records), "raw": [json.dumps(r) for r in records]})


def _linked_run(run_id: str, n: int) -> list[dict]:
    out: list[dict] = []
    for i in range(n):
        rec = {"run_id": run_id, "created_at_ms": i, "prev_record_hash": canonical_hash(out[-1]) if out else None}
        out.append(rec)
    return out


def test_streaming_links_equal_whole_frame():
    from engine.authenticity.chain import link_frame, verdicts_from_links

    records = _linked_run("a", 5) + _linked_run("b", 3)
    records[6]["prev_record_hash"] = "0" * 64
    frame = _frame(records, ["f"] * len(records))
    whole = chain_layer(frame)
    parts = [link_frame(frame.slice(i, 3), hash_all=True) for i in range(0, frame.height, 3)]
    streamed = verdicts_from_links(pl.concat(parts))
    assert streamed.equals(whole)
    assert whole["chain"].to_list() == ["intact"] * 5 + ["broken"] * 3


def test_runs_are_per_file_unless_followed_across_files():
    run = _linked_run("r", 4)
    frame = _frame(run, ["part1.jsonl", "part1.jsonl", "part2.jsonl", "part2.jsonl"])
    assert chain_layer(frame)["chain"].to_list() == ["intact", "intact", "orphaned", "orphaned"]
    assert chain_layer(frame, across_files=True)["chain"].to_list() == ["intact"] * 4


def test_streaming_verifier_matches_whole_frame_layers():
    from engine.authenticity.layers import StreamingVerifier, authenticity_layer

    records = _linked_run("a", 4) + _linked_run("b", 4)
    records[5]["prev_record_hash"] = None
    frame = _frame(records, ["f"] * 8)
    sv = StreamingVerifier(None)
    auth = pl.concat([sv.batch(frame.slice(i, 3)) for i in range(0, 8, 3)])
    assert auth.equals(authenticity_layer(frame, None))
    chain = sv.finish()
    assert chain.select("chain", "chain_reason").equals(chain_layer(frame))
    assert chain["line"].to_list() == list(range(1, 9))
