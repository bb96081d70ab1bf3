"""The export's fast paths agree with the slow, obvious computation they replace (differential tests):
evidence digests from the child process, the redaction prefilter without word boundaries, the ASCII
injection scan, and the line splitter's block-wise newline search."""

from __future__ import annotations

import gzip
import json
import random
import re
from pathlib import Path

import numpy as np
import polars as pl

from engine.export import gates
from engine.export.lineage import DigestJob, evidence_digests
from engine.export.redact import PREFILTER_JSON, PREFILTER_TEXT, TEXT_PATTERNS, UNREDACTABLE
from engine.export.source import read_inputs

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "export"


def _messy_lines(rng: random.Random, n: int) -> list[str]:
    lines = []
    for i in range(n):
        kind = rng.randrange(10)
        if kind == 0:
            lines.append(rng.choice(['{"rollout_id": "r", not json', '{"a": 1e400}', '{"a": "\\ud800"}',
                                     '{"big": 123456789012345678901234567890}']))
        elif kind == 1:
            lines.append("# a comment")
        elif kind == 2:
            lines.append("")
        elif kind == 3:
            lines.append("[1, 2]")  # not an object: quarantined by the reader, never digested
        else:
            rec = {"z": i, "a": {"y": [1.5, -0.0, 1e300, "é\u2028"], "b": None}, "task": "t" * rng.randrange(50),
                   "n": rng.randrange(-10**18, 10**18)}
            text = json.dumps(rec, ensure_ascii=rng.random() < 0.5, indent=None if rng.random() < 0.7 else 1)
            lines.append(" " + text if kind == 4 else text.replace("\n", " "))
    return lines


def test_child_digests_equal_the_in_process_digests(tmp_path: Path) -> None:
    rng = random.Random(11)
    a, b, c = tmp_path / "a.jsonl", tmp_path / "b.jsonl.gz", tmp_path / "c.jsonl"
    a.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(_messy_lines(rng, 400)).encode())  # BOM, CRLF, no final newline
    b.write_bytes(gzip.compress(("\n".join(_messy_lines(rng, 300)) + "\n").encode()))  # not mapped: digested here
    c.write_text("\n".join(_messy_lines(rng, 500)) + "\n")
    inputs = read_inputs([str(a), str(b), str(c)])
    assert [Path(m.path).name for m in inputs.mapped] == ["a.jsonl", "c.jsonl"]
    job = DigestJob(inputs, child_min_records=1)
    assert job._proc is not None  # the child really ran
    got = job.result()
    want = evidence_digests(inputs.records.column("raw"))
    assert got.null_count() > 0
    assert got.to_list() == want.to_list()
    here = DigestJob(inputs, child_min_records=10**9)  # below the threshold: everything on the thread
    assert here._proc is None
    assert here.result().to_list() == want.to_list()


def test_digest_job_falls_back_when_the_child_fails(tmp_path: Path, monkeypatch: object) -> None:
    import engine.export.lineage as lineage

    f = tmp_path / "a.jsonl"
    f.write_text("\n".join(_messy_lines(random.Random(3), 200)) + "\n")
    inputs = read_inputs([str(f)])
    monkeypatch.setattr(lineage, "_child_output", lambda proc, files: (proc.kill(), None)[1])  # type: ignore[attr-defined]
    got = DigestJob(inputs, child_min_records=1).result()
    assert got.to_list() == evidence_digests(inputs.records.column("raw")).to_list()


def test_block_wise_newlines_match_a_whole_file_search(tmp_path: Path, monkeypatch: object) -> None:
    import engine.export.source as source

    monkeypatch.setattr(source, "_NL_BLOCK", 7)  # type: ignore[attr-defined]  # many blocks, lines across them
    data = np.frombuffer(("\n".join(_messy_lines(random.Random(5), 300)) + "\n\n").encode(), dtype=np.uint8)
    assert source._newlines(data).tolist() == np.flatnonzero(data == 10).tolist()
    assert source._newlines(np.zeros(0, dtype=np.uint8)).tolist() == []


def _word_boundary_texts(rng: random.Random, n: int) -> list[str]:
    pieces = ["alice@example.com", "415-555-0132", "(415) 555-0132", "+1 415.555.0132", "10.1.2.3", "999.1.2.3",
              "Bearer abc.def", "bearer\tXYZ==", "AKIAIOSFODNN7EXAMPLE", "token = abcdefghijklmnopqrstuvwxyz",
              "123-45-6789", "X-Api-Key: zz9", "authorization=QQ", "550e8400-e29b-41d4-a716-446655440000",
              "-----BEGIN EC PRIVATE KEY-----\nAA\n-----END EC PRIVATE KEY-----", "-----BEGIN RSA PRIVATE KEY",
              '"api-key": "v"', '"Password" : 12', '"x_auth_token":{"a":1}', "plain", "42"]
    glue = ["", " ", "é", "ß", "_", "1", "x", "-", ".", "\u00a0", "日本"]  # letters and digits touching a match
    return ["".join(rng.choice(glue) + rng.choice(pieces) for _ in range(rng.randrange(1, 4))) + rng.choice(glue)
            for _ in range(n)]


def _py_flags(p: str) -> tuple[str, int]:
    flags = 0
    while p[:4] in ("(?i)", "(?s)"):
        flags |= re.I if p[:4] == "(?i)" else re.S
        p = p[4:]
    return p, flags


PATTERNS = [p for _, p in TEXT_PATTERNS]


def test_prefilter_flags_every_value_a_pattern_matches() -> None:
    texts = _word_boundary_texts(random.Random(7), 3000)
    s = pl.Series(texts)
    text_hit = s.str.contains(PREFILTER_TEXT).to_list()
    json_hit = s.str.contains(PREFILTER_JSON).to_list()
    n_exact = 0
    for t, th, jh in zip(texts, text_hit, json_hit, strict=True):
        exact = any(re.search(pat, t, flags) for pat, flags in map(_py_flags, PATTERNS)) or bool(
            re.search(UNREDACTABLE, t))
        n_exact += exact
        assert th or not exact, t
        assert jh or not exact, t
    assert 0 < n_exact < len(texts)


def test_redaction_result_unchanged_by_the_prefilter() -> None:
    """Redacting through the prefilter equals applying every replacement to every value."""
    from engine.export.redact import _redact_column, _redact_values

    texts = _word_boundary_texts(random.Random(9), 2000) + [None]  # type: ignore[list-item]
    col = pl.Series("v", texts, dtype=pl.String)
    for is_json in (False, True):
        new, bad, _ = _redact_column(col, is_json)
        full, full_bad = _redact_values(col, is_json)
        assert bad.to_list() == full_bad.fill_null(False).to_list()
        ok = ~bad  # an unredactable value's record is quarantined whatever its text
        assert new.filter(ok).to_list() == full.filter(ok).to_list()
        assert 0 < bad.sum() < len(texts) if is_json else bad.sum() > 0


def test_ascii_injection_scan_equals_the_normalised_scan() -> None:
    rng = random.Random(13)
    frags = list(gates._fragments())
    variants = [f.upper() for f in frags] + [f.title() for f in frags] + frags + [
        "ＩＧＮＯＲＥ previous instructions", "ignore\u200bprevious instructions", "İgnore previous instructions",
        "ignore previous instructionſ", "exfiltratе", "ＥＸＦＩＬＴＲＡＴＥ", "plain text", "", "KELVIN \u212a"]
    texts = ["".join(rng.choice(["", "a ", "é ", "x"]) + rng.choice(variants) for _ in range(rng.randrange(1, 3)))
             for _ in range(3000)] + [None]
    s = pl.Series("t", texts, dtype=pl.String)
    got = gates.injection_flags(s)
    want = gates._injection_flags_unique(s)
    assert got.to_list() == want.to_list()
    assert 0 < sum(got.to_list()) < len(texts)


def test_partition_rows_equal_the_filtered_partitions(monkeypatch: object) -> None:
    from engine.export import stream

    monkeypatch.setattr(stream, "PARTITION_ROWS", 10)  # type: ignore[attr-defined]
    rng = random.Random(17)
    # rollouts interleaved over the first 60 records (masks), then in runs of 3 (contiguous: slices)
    rollout = [f"r{rng.randrange(12)}" if i < 60 else f"s{i // 3}" for i in range(120)]
    rids = [i for i in range(120) if i % 7]
    eligible = pl.DataFrame({"rid": rids, "rollout_id": [rollout[i] for i in rids]})
    tools = pl.DataFrame({"rid": sorted(rng.randrange(125) for _ in range(300)), "pos": range(300)})
    part = eligible.select("rid", (pl.col("rid").min().over("rollout_id") // 10).alias("part"))
    t_all = tools.join(part, on="rid", how="inner", maintain_order="left")
    keys = part.get_column("part").unique(maintain_order=True).to_list()
    plan = stream._partition_rows(eligible, tools)
    assert len(plan) == len(keys)
    kinds = set()
    for k, (e_rows, t_rows) in zip(keys, plan, strict=True):
        kinds.add(type(e_rows).__name__)
        assert stream._take(eligible, e_rows).equals(eligible.filter(part.get_column("part") == k))
        assert stream._take(tools, t_rows).equals(t_all.filter(pl.col("part") == k).drop("part"))
    assert kinds == {"slice", "ndarray"}


def test_digest_child_exits_when_the_export_is_killed(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    src = tmp_path / "a.jsonl"
    src.write_text("".join(json.dumps({"i": i, "pad": "x" * 2000}) + "\n" for i in range(60_000)))
    code = ("import sys, time\nfrom engine.export.source import read_inputs\nfrom engine.export.lineage import DigestJob\n"
            f"job = DigestJob(read_inputs([{str(src)!r}]), child_min_records=1)\n"
            "print(job._proc.pid, flush=True)\ntime.sleep(60)\n")
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                              cwd=Path(__file__).resolve().parent.parent)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait(timeout=30)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            with open(f"/proc/{child}/stat") as fh:
                if fh.read().split()[2] == "Z":  # exited, waiting for init to reap it
                    break
        except FileNotFoundError:
            break
        time.sleep(0.05)
    else:
        os.kill(child, signal.SIGKILL)
        raise AssertionError("the digest child outlived its parent by 30 s")


def test_repeated_source_column_equals_pyarrow_repeat() -> None:
    import pyarrow as pa

    from engine.export.source import _repeated

    for text, n in (("data/rollouts é.jsonl", 7), ("", 3), ("x", 0), ("p", 1)):
        got = _repeated(text, n)
        got.validate(full=True)
        assert got.equals(pa.repeat(pa.scalar(text, type=pa.large_string()), n))
