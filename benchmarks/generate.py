"""Seeded generator of realistic AEP, rollout-wire, compliance and eval-log data at any size.

    python benchmarks/generate.py aep --n 1000000 --seed 1 --out benchmarks/.cache/aep.jsonl
    python benchmarks/generate.py rollout --n 5000 --seed 1 --out rollouts.jsonl --invalid-rate 0.03
    python benchmarks/generate.py eval --n 200 --seed 1 --out DIR      # DIR/eval_a.json, DIR/eval_b.json
    python benchmarks/generate.py smoke --out data/smoke                 # the bundled smoke dataset

The same arguments give byte-identical files. Records are streamed, so size is bounded only
by disk. In memory: `records(kind, n, seed)` yields dicts; `lines(...)` yields labelled JSONL
lines (valid / invalid / semantic / unparsable / blank / comment) so tests know the ground truth;
`mutate(record, rng)` damages a record at random for differential tests.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import synth  # noqa: E402
from benchmarks.corrupt import break_semantics, break_structure, mutate  # noqa: E402

__all__ = ["KINDS", "GENERATOR_VERSION", "records", "lines", "eval_pair", "mutate", "write_jsonl",
           "write_eval_pair", "write_smoke", "SMOKE_SEED"]

# Bump when the output for a given seed changes (benchmark caches key on it).
GENERATOR_VERSION = 1
KINDS = ("aep", "rollout", "compliance", "eval")
SMOKE_SEED = 20260125
LABELS = ("valid", "invalid", "semantic", "unparsable", "blank", "comment")

# Compact separators, as the JS producers and the golden fixtures write them; UTF-8 kept raw.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _encode(rec: dict[str, Any]) -> str:
    """Compact JSON text of a generated record. orjson writes the same bytes as `_ENCODER` for
    these records (checked by the tests) about 6x faster; integers beyond 64 bits make it raise,
    and then the standard encoder takes over. (orjson would write NaN as null: generated and
    broken records contain none; `mutate()` output is never encoded here.)"""
    try:
        return orjson.dumps(rec).decode()
    except (TypeError, orjson.JSONEncodeError):
        return _ENCODER.encode(rec)


def _check(kind: str, n: int) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")


def records(kind: str, n: int, seed: int) -> Iterator[dict[str, Any]]:
    """`n` structurally valid records of `kind` (for `eval`: the items of log A)."""
    _check(kind, n)
    rng = random.Random(seed)
    if kind == "aep":
        return synth.aep_records(n, rng)
    if kind == "rollout":
        return synth.rollout_records(n, rng)
    if kind == "compliance":
        return synth.compliance_records(n, rng)
    return iter(synth.eval_logs(n, rng)[0]["results"])


def eval_pair(n: int, seed: int, max_new_tokens: int = 300) -> tuple[dict[str, Any], dict[str, Any]]:
    """Greedy-eval logs A (baseline, often truncated) and B (candidate) over the same `n` ids."""
    return synth.eval_logs(n, random.Random(seed), max_new_tokens)


def _unparsable(j: int, sample: str) -> str:
    cut = max(1, len(sample) // 2)
    return (sample[:cut], "NaN", '["aep/v0.1", "run-0001", 1750900000000]',
            '{"schema_version": "aep/v0.2", "run_id": "run-trailing-comma",}')[j % 4]


def lines(kind: str, n: int, seed: int, *, invalid_rate: float = 0.0, semantic_rate: float = 0.0,
          unparsable: int = 0, comments: bool = False) -> Iterator[tuple[str, str]]:
    """(label, text) for every line of a JSONL file of `n` records (text without newline).

    Exactly round(n * invalid_rate) records are broken structurally and round(n * semantic_rate)
    (AEP only) semantically; `unparsable` lines that are not JSON objects are inserted after
    seeded positions; `comments` adds a `#` header and one blank line. The record stream itself
    does not depend on these options: damage draws from its own seeded generator.
    """
    if kind == "eval":
        raise ValueError("eval logs are JSON documents, not JSONL; use eval_pair()")
    _check(kind, n)
    damage = random.Random(f"damage-{seed}")
    n_invalid = round(n * invalid_rate)
    n_semantic = round(n * semantic_rate) if kind == "aep" else 0
    chosen = damage.sample(range(n), min(n, n_invalid + n_semantic))
    invalid_at = set(chosen[:n_invalid])
    semantic_at = set(chosen[n_invalid:])
    junk_after = Counter(damage.randrange(n) for _ in range(unparsable)) if n else Counter()
    blank_after = damage.randrange(n) if comments and n else -1
    if comments:
        yield "comment", f"# {kind} records generated by benchmarks/generate.py (seed {seed}, n {n})"
    encode = _encode
    junk_no = 0
    for i, rec in enumerate(records(kind, n, seed)):
        if i in invalid_at:
            yield "invalid", encode(break_structure(kind, rec, damage))
        elif i in semantic_at:
            yield "semantic", encode(break_semantics(rec, damage))
        else:
            text = encode(rec)
            yield "valid", text
        for _ in range(junk_after.get(i, 0)):
            yield "unparsable", _unparsable(junk_no, encode(rec))
            junk_no += 1
        if i == blank_after:
            yield "blank", ""


def _atomic_write(path: Path, chunks: Iterator[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            for chunk in chunks:
                fh.write(chunk)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_jsonl(path: str | Path, kind: str, n: int, seed: int, **options: Any) -> dict[str, int]:
    """Write the lines of `lines(kind, n, seed, **options)`; return the count of each label."""
    counts: Counter[str] = Counter()

    def chunks() -> Iterator[str]:
        buf: list[str] = []
        for label, text in lines(kind, n, seed, **options):
            counts[label] += 1
            buf.append(text)
            if len(buf) >= 4096:
                yield "\n".join(buf) + "\n"
                buf.clear()
        if buf:
            yield "\n".join(buf) + "\n"

    _atomic_write(Path(path), chunks())
    return {label: counts[label] for label in LABELS}


def write_eval_pair(out_dir: str | Path, n: int, seed: int, names: tuple[str, str] = ("eval_a.json", "eval_b.json"),
                    max_new_tokens: int = 300) -> list[Path]:
    out = Path(out_dir)
    written = []
    for name, log in zip(names, eval_pair(n, seed, max_new_tokens), strict=True):
        target = out / name
        _atomic_write(target, iter([json.dumps(log, ensure_ascii=False, indent=1) + "\n"]))
        written.append(target)
    return written


# name -> (kind, n, options) of the bundled smoke dataset (SPEC §2 `data/`)
SMOKE_FILES: dict[str, tuple[str, int, dict[str, Any]]] = {
    "aep.jsonl": ("aep", 200, {"invalid_rate": 0.03, "semantic_rate": 0.02, "unparsable": 3, "comments": True}),
    "rollouts.jsonl": ("rollout", 105, {"invalid_rate": 0.03, "unparsable": 1, "comments": True}),
    "compliance.jsonl": ("compliance", 40, {"invalid_rate": 0.05}),
}
SMOKE_EVAL_ITEMS = 200


def write_smoke(out_dir: str | Path, seed: int = SMOKE_SEED) -> dict[str, dict[str, int]]:
    out = Path(out_dir)
    summary = {}
    for offset, (name, (kind, n, options)) in enumerate(SMOKE_FILES.items()):
        summary[name] = write_jsonl(out / name, kind, n, seed + offset, **options)
    write_eval_pair(out, SMOKE_EVAL_ITEMS, seed + len(SMOKE_FILES))
    summary["eval_a.json"] = summary["eval_b.json"] = {"valid": SMOKE_EVAL_ITEMS}
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=[*KINDS, "smoke"], help="record kind, or `smoke` for the bundled dataset")
    parser.add_argument("--n", type=int, default=1000, help="records (rollout: branch lines; eval: items per log)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="output file (eval, smoke: output directory)")
    parser.add_argument("--invalid-rate", type=float, default=0.0, help="fraction of schema-invalid records")
    parser.add_argument("--semantic-rate", type=float, default=0.0,
                        help="fraction of AEP records breaking a semantic invariant")
    parser.add_argument("--unparsable", type=int, default=0, help="lines that are not JSON objects")
    parser.add_argument("--comments", action="store_true", help="add a # header and a blank line")
    parser.add_argument("--max-new-tokens", type=int, default=300, help="eval: the generation budget in meta")
    args = parser.parse_args(argv)
    if args.kind == "smoke":
        for name, counts in write_smoke(args.out).items():
            print(f"{name}: {counts}", file=sys.stderr)
    elif args.kind == "eval":
        for path in write_eval_pair(args.out, args.n, args.seed, max_new_tokens=args.max_new_tokens):
            print(f"wrote {path}", file=sys.stderr)
    else:
        counts = write_jsonl(args.out, args.kind, args.n, args.seed, invalid_rate=args.invalid_rate,
                             semantic_rate=args.semantic_rate, unparsable=args.unparsable, comments=args.comments)
        print(f"wrote {args.out}: {counts}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
