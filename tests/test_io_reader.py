"""The buffer-based reader against the line-by-line reference (tests/reference/lines.py).

Random files mix regular lines with every irregular shape the reader treats apart (CRLF, white
space around, blank and comment lines, a BOM, junk, lines longer than a block, no final
newline), read with small blocks so cuts fall everywhere, plain and compressed.
"""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from engine.io import iter_record_batches
from engine.io.lines import iter_blocks
from engine.io.sources import expand_paths
from engine.io.views import not_utf8, string_views
from tests.reference.lines import BOM, candidate_lines, is_object_line

GOOD = {"schema_version": "aep/v0.1", "run_id": "r", "created_at_ms": 1}


def _random_line(rng: random.Random, i: int) -> bytes:
    obj = json.dumps(dict(GOOD, run_id=f"run-{i}", created_at_ms=i)).encode()
    shape = rng.random()
    if shape < 0.55:
        return obj
    return rng.choice([
        obj + b"\r", b"  " + obj, obj + b" \t", b"\x0c" + obj + b"\x0b\r", b"", b"\r", b"   ", b"\t\r",
        b"# a comment", b"  # indented comment", b"#" + obj, b"[1, 2]", b"null", b"42", b'"text"',
        obj[:-3], obj + b" " + obj, b"{}", b'{"a":1}', b"{" + b"x" * rng.randint(0, 40) + b"}",
        json.dumps(dict(GOOD, run_id="y" * rng.randint(100, 3000))).encode(),
    ])


def _random_file(rng: random.Random, n: int) -> bytes:
    body = b"\n".join(_random_line(rng, i) for i in range(n))
    if rng.random() < 0.7:
        body += b"\n"
    return (BOM if rng.random() < 0.3 else b"") + body


def _write(path: Path, data: bytes, compression: str) -> Path:
    if compression == "gzip":
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(data))
    elif compression == "zstd":
        import zstandard

        path = path.with_name(path.name + ".zst")
        path.write_bytes(zstandard.ZstdCompressor().compress(data))
    else:
        path.write_bytes(data)
    return path


@pytest.mark.parametrize("compression", ["none", "gzip", "zstd"])
def test_line_splitter_matches_the_reference(tmp_path: Path, compression: str) -> None:
    rng = random.Random(f"lines-{compression}")
    for case in range(25):
        data = _random_file(rng, rng.randint(0, 300))
        path = _write(tmp_path / f"c{case}.jsonl", data, compression)
        src = expand_paths([str(path)])[0]
        for block_bytes in (64, 1000, 1 << 20):
            got, skipped = [], 0
            for block in iter_blocks(src, block_bytes):
                got.extend((int(block.numbers[i]), block.line(i)) for i in range(len(block)))
                skipped += block.skipped
            expected, expected_skipped = candidate_lines(data)
            assert got == expected, (case, block_bytes)
            assert skipped == expected_skipped, (case, block_bytes)


def test_every_line_is_typed_slow_or_quarantined_as_python_says(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reader outcome per line: quarantined exactly when Python's json does not read an object;
    typed rows carry their own line's text and values (small runs, so parallel parts and the
    isolation of failing lines are exercised)."""
    import engine.io.typed as typed

    monkeypatch.setattr(typed, "MIN_SPLIT_LINES", 8)
    rng = random.Random("outcome")
    lines: list[bytes] = []
    for i in range(3000):
        rec: dict[str, object] = dict(GOOD, run_id=f"run-{i}", created_at_ms=i)
        roll = rng.random()
        if roll < 0.08:
            rec["run_id"] = i  # wrong type: the reader names the row
        elif roll < 0.14:
            rec["authorization_evidence_count"] = rng.choice([1.5, 2.0, 1e3, 10**30])  # int conversions
        elif roll < 0.17:
            rec["actions"] = [{"action_id": "a", "tool_name": "t", "state_changing": "yes"}]
        line = json.dumps(rec).encode()
        roll = rng.random()
        if roll < 0.03:
            line = line + b" " + line  # two objects on one line
        elif roll < 0.05:
            line = line[:-1] + b"," + b'"x":\n{"y": 1}}'  # a value that would span two lines
        elif roll < 0.07:
            line = line.replace(b"run-", b"\xff\xferun-")  # bad UTF-8
        elif roll < 0.09:
            line = b"  " + line + b"\r"
        lines.append(line)
    path = tmp_path / "mix.jsonl"
    data = b"\n".join(lines) + b"\n"
    path.write_bytes(data)
    expected, _ = candidate_lines(data)
    outcome: dict[int, str] = {}
    for batch in iter_record_batches([str(path)], kind="aep", block_bytes=50_000):
        for number, _excerpt, _reason in batch.quarantine:
            outcome[number] = "quarantine"
        for part in batch.parts:
            for number, raw, obj in part.slow:
                assert obj == json.loads(raw)
                outcome[number] = "slow"
            for number, raw, run_id, created in part.typed.select("line", "raw", "run_id", "created_at_ms").iter_rows():
                decoded = json.loads(raw)
                assert (decoded["run_id"], decoded["created_at_ms"]) == (run_id, created)
                outcome[number] = "typed"
    texts = dict(expected)
    assert sorted(outcome) == sorted(texts)
    for number, text in texts.items():
        assert (outcome[number] != "quarantine") == is_object_line(text), (number, text[:80])
    assert sum(v == "typed" for v in outcome.values()) > 2000
    assert sum(v == "slow" for v in outcome.values()) > 300


def test_typed_raw_text_is_the_line_even_when_earlier_batches_are_kept(tmp_path: Path) -> None:
    """Block buffers are reused only when nothing refers to them: keeping every batch alive
    must leave each raw text intact."""
    lines = [json.dumps(dict(GOOD, run_id=f"run-{i}-" + "z" * (i % 50))) for i in range(5000)]
    path = tmp_path / "keep.jsonl"
    path.write_text("\n".join(lines) + "\n")
    kept = list(iter_record_batches([str(path)], block_bytes=8192))
    assert len(kept) > 50
    frame = pl.concat([p.typed.select("line", "raw", "run_id") for b in kept for p in b.parts])
    assert frame.get_column("raw").to_list() == lines
    assert frame.get_column("line").to_list() == list(range(1, 5001))
    assert frame.get_column("run_id").to_list() == [json.loads(x)["run_id"] for x in lines]


def test_string_views_equal_slices_and_not_utf8_finds_the_bad_ones() -> None:
    rng = random.Random("views")
    data = bytes(rng.choice(b"abc{}\"\n \xc3\xa9") for _ in range(5000)) + b"\xff\xfe tail"
    starts = np.array(sorted(rng.randrange(len(data)) for _ in range(400)), dtype=np.int64)
    ends = np.minimum(starts + np.array([rng.choice([0, 1, 5, 12, 13, 40]) for _ in starts]), len(data))
    views = string_views(data, starts, ends)
    slices = [data[s:e] for s, e in zip(starts.tolist(), ends.tolist(), strict=True)]
    bad = [i for i, b in enumerate(slices) if not _utf8(b)]
    assert not_utf8(views) == bad
    good = [i for i in range(len(slices)) if i not in set(bad)]
    subset = string_views(data, starts[good], ends[good])
    assert subset.to_pylist() == [slices[i].decode() for i in good]
    assert pl.Series(subset).to_list() == [slices[i].decode() for i in good]


def _utf8(b: bytes) -> bool:
    try:
        b.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@pytest.mark.parametrize("text, has", [
    ('{"a": [{"b": ["x", "y"]}], "c": ["z"]}', False),
    ('{"a": [{"b": ["x", null]}], "c": ["z"]}', True),
    ('{"a": [null], "c": ["z"]}', True),
    ('{"a": [{"b": null}], "c": [null]}', True),
    ('{"a": null, "c": []}', False),  # a null list is not a null item
    ('{"a": [{}], "c": null}', False),
])
def test_null_items_are_known_from_arrow_null_counts(text: str, has: bool) -> None:
    import pyarrow as pa

    from engine.io.lines import LineBlock
    from engine.io.parse import parse_block

    schema = pa.schema([("a", pa.list_(pa.struct([("b", pa.list_(pa.string()))]))), ("c", pa.list_(pa.string()))])
    good = b'{"a": [{"b": ["q"]}], "c": ["r"]}'
    parsed = parse_block(LineBlock.from_lines("t", [1, 2, 3], [good, text.encode(), good]), schema)
    assert parsed.table.num_rows == 3
    assert parsed.null_items == has


@pytest.mark.parametrize("good_lines", [3000, 20000])
def test_a_corrupt_gzip_tail_comes_after_the_good_batches(tmp_path: Path, good_lines: int) -> None:
    from engine.errors import InputError

    body = ("\n".join(json.dumps(dict(GOOD, run_id=f"r{i}")) for i in range(good_lines)) + "\n").encode()
    packed = gzip.compress(body)
    path = tmp_path / "bad.jsonl.gz"
    path.write_bytes(packed[: len(packed) * 3 // 4] + b"garbage" * 20)
    seen = 0
    with pytest.raises(InputError):
        for batch in iter_record_batches([str(path)], kind="aep", block_bytes=4096):
            seen += sum(p.size for p in batch.parts)
    assert 0 < seen < good_lines


def test_map_record_batches_gives_fn_of_every_batch_in_order_and_raises_where_it_failed(tmp_path: Path) -> None:
    """`fn` runs on the block workers; results still come in input order, and an error of `fn`
    on one batch reaches the caller after the results of the batches before it."""
    from engine.io.records import map_record_batches

    lines = [json.dumps(dict(GOOD, run_id=f"run-{i}")) for i in range(3000)]
    path = tmp_path / "m.jsonl"
    path.write_text("\n".join(lines) + "\n")

    def first_lines(batch: object) -> list[int]:
        return [p.typed.get_column("line").to_list() for p in batch.parts][0]  # type: ignore[attr-defined]

    plain = [first_lines(b) for b in iter_record_batches([str(path)], block_bytes=4096)]
    mapped = list(map_record_batches([str(path)], first_lines, block_bytes=4096))
    assert len(plain) > 20 and mapped == plain
    assert [n for part in mapped for n in part] == list(range(1, 3001))

    def fails_on_line_2000(batch: object) -> list[int]:
        out = first_lines(batch)
        if 2000 in out:
            raise ValueError("boom at 2000")
        return out

    seen: list[int] = []
    with pytest.raises(ValueError, match="boom at 2000"):
        for part in map_record_batches([str(path)], fails_on_line_2000, block_bytes=4096):
            seen.extend(part)
    assert seen == list(range(1, seen[-1] + 1)) and 1500 < seen[-1] < 2000
