"""Redaction: the scrubber of reference §3.15 with its key bug fixed, vectorised, and the planted-secrets
acceptance case (no planted secret in any output byte, Parquet decoded too)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest

from engine.export.pipeline import ExportOptions, run_export
from engine.export.redact import REDACTED, redact_frame, scrub_value

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "export"
PLANTED = json.loads((FIX / "secrets.planted.json").read_text())["planted"]


def _redact(values: list[str], json_col: bool = False) -> list[str]:
    frame = pl.DataFrame({"v": values})
    out, _, _ = redact_frame(frame, [] if json_col else ["v"], ["v"] if json_col else [])
    return out.get_column("v").to_list()


def test_reference_scrubber_cases() -> None:
    assert scrub_value({"api_key": "abc", "n": 1}) == {"api_key": REDACTED, "n": 1}
    for secret in ("alice@example.com", "123-45-6789", "Bearer eyJhbGciOiJSUzI1NiJ9", "AKIAIOSFODNN7EXAMPLE"):
        assert secret not in _redact([f"x {secret} y"])[0]
    assert _redact(["hello world", "count=42"]) == ["hello world", "count=42"]


def test_header_keys_fixed() -> None:
    # the original lower-cased and mapped '-' to '_' but listed x-api-key with hyphens: never matched
    assert scrub_value({"X-API-Key": "k", "X-Auth-Token": "t"}) == {"X-API-Key": REDACTED, "X-Auth-Token": REDACTED}
    got = _redact(['{"headers":{"X-API-Key":"k1","X-Auth-Token":"t1","Accept":"json"}}'], json_col=True)[0]
    assert json.loads(got) == {"headers": {"X-API-Key": REDACTED, "X-Auth-Token": REDACTED, "Accept": "json"}}
    assert "abc" not in _redact(["X-API-Key: abc"])[0]


def test_nested_values_under_sensitive_keys() -> None:
    got = _redact(['{"credentials":{"user":"u","pass":"p"},"keep":[1,2]}'], json_col=True)[0]
    assert json.loads(got) == {"credentials": REDACTED, "keep": [1, 2]}


def test_unredactable_pem_is_flagged() -> None:
    frame = pl.DataFrame({"v": ["-----BEGIN RSA PRIVATE KEY-----\nMIIE truncated", "fine"]})
    _, bad, report = redact_frame(frame, ["v"])
    assert bad.to_list() == [True, False]
    assert report.n_unredactable == 1


def test_vectorised_matches_per_value_on_random_text() -> None:
    import random

    from engine.export.redact import TEXT_PATTERNS

    rng = random.Random(5)
    pieces = ["alice@example.com", "call 415-555-0132", "10.1.2.3", "Bearer abc.def", "AKIAIOSFODNN7EXAMPLE",
              "token=abcdefghijklmnopqrstuvwxyz", "plain words", "123-45-6789", "X-Api-Key: zz9",
              "550e8400-e29b-41d4-a716-446655440000", "-----BEGIN EC PRIVATE KEY-----\nAA\n-----END EC PRIVATE KEY-----"]
    texts = [" ".join(rng.choice(pieces) for _ in range(rng.randrange(1, 5))) for _ in range(300)]
    import re

    def one(t: str) -> str:  # Python `re` one value at a time, same patterns, same order
        for _, p in TEXT_PATTERNS:
            flags = 0
            if p.startswith("(?i)"):
                p, flags = p[4:], re.I
            if p.startswith("(?s)"):
                p, flags = p[4:], re.S
            t = re.sub(p, REDACTED, t, flags=flags)
        return t

    assert _redact(texts) == [one(t) for t in texts]


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_planted_secrets_absent_from_every_output_byte(tmp_path: Path, fmt: str) -> None:
    out = tmp_path / "x"
    run_export(ExportOptions(out_dir=out, rollout=(str(FIX / "secrets.jsonl"),), fmt=fmt,  # type: ignore[arg-type]
                             include_failing=True))
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(files) >= 5
    for p in files:
        data = p.read_bytes()
        if p.suffix == ".parquet":  # compressed pages: check the decoded values as well as the raw bytes
            data += json.dumps(pq.read_table(p).to_pylist(), ensure_ascii=False).encode()
        for secret in PLANTED:
            assert secret.encode() not in data, (p.name, secret)
    sft = pl.read_parquet(out / "sft.parquet") if fmt == "parquet" else pl.read_ndjson(out / "sft.jsonl")
    assert sft.height == 2  # nothing was lost: both branches exported, redacted
