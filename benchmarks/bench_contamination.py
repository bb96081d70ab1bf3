"""`engine contamination` on N training texts x M eval items with planted contamination.

Texts come from `benchmarks/gen_text.py` (Zipf vocabulary, ~200-token training texts, 15..150-token
eval items, planted items verbatim and with k word edits). Reports wall time and peak RSS of the
engine (child process, end to end from JSONL), recall on the planted items (verbatim and per
number of edits, for the default rule and for the original jaccard rule), flagged rows that were
not planted, the slow reference timed on a small sample (extrapolated per pair), and optionally
datasketch MinHashLSH (threshold 0.2, default parameters) on the same data: its time and its
recall against our exact token-Jaccard flags.
SPEC §14 target: 1,000,000 x 10,000 in <= 120 s, <= 12 GB.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from benchmarks.harness import (
    CACHE_DIR,
    Row,
    call_in_child,
    engine_cmd,
    measure,
    python_cmd,
    row_from,
    run_once,
    set_ratios,
)

DESCRIPTION = "engine contamination N x M with planted items: wall, RSS, recall; reference and MinHashLSH ratios"
TARGET_WALL_S, TARGET_RSS_BYTES = 120.0, 12e9

_REFERENCE = """
import json, sys, time
sys.path.insert(0, '.')
from tests.reference.contamination import reference
def read(p, k):
    return [json.loads(l)['text'] for _, l in zip(range(k), open(p, encoding='utf-8'))]
tr, ev = read(sys.argv[1], int(sys.argv[3])), read(sys.argv[2], int(sys.argv[4]))
t = time.perf_counter(); reference(tr, ev); dt = time.perf_counter() - t
print(json.dumps({"pairs": len(tr) * len(ev), "seconds": dt}))
"""

_MINHASH = """
import json, sys, time
sys.path.insert(0, '.')
from datasketch import MinHash, MinHashLSH
from tests.reference.contamination import tokens
def shingles(text):
    t = tokens(text)
    return {' '.join(t[i:i + 8]).encode() for i in range(len(t) - 7)}
def read(p):
    return [json.loads(l)['text'] for l in open(p, encoding='utf-8')]
tr, ev = read(sys.argv[1]), read(sys.argv[2])
start = time.perf_counter()
lsh = MinHashLSH(threshold=0.2)
def mh(s):
    m = MinHash()
    m.update_batch(list(s))
    return m
for j, e in enumerate(ev):
    s = shingles(e)
    if s:
        lsh.insert(str(j), mh(s))
flagged = []
for i, t in enumerate(tr):
    s = shingles(t)
    if s and lsh.query(mh(s)):
        flagged.append(i)
print(json.dumps({"seconds": time.perf_counter() - start, "flagged": flagged}))
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--train", type=int, default=100_000, help="training texts (SPEC target 1,000,000)")
    parser.add_argument("--test", type=int, default=1_000, help="eval items (SPEC target 10,000)")
    parser.add_argument("--datasketch", action="store_true", help="also time datasketch MinHashLSH (pip install datasketch)")
    parser.add_argument("--reference-sample", type=int, default=100, help="training texts for the reference timing")


def _recall(truth: list[dict], flagged: dict[int, dict]) -> dict[str, Any]:
    by_edits: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    for t in truth:
        row = flagged.get(t["train_index"])
        acc = by_edits[t["edits"]]
        acc[0] += 1
        acc[1] += row is not None
        acc[2] += row is not None and row["flag_jaccard"]
    return {str(k): {"planted": v[0], "found_default": v[1], "found_jaccard_rule": v[2],
                     "recall_default": v[1] / v[0], "recall_jaccard_rule": v[2] / v[0]} for k, v in sorted(by_edits.items())}


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    import polars as pl

    from benchmarks.gen_text import GEN_TEXT_VERSION, write

    folder = CACHE_DIR / f"contamination-n{args.train}-m{args.test}-s{args.seed}-g{GEN_TEXT_VERSION}"
    if not (folder / "truth.json").exists():  # generated in a child: the runner's own peak RSS stays small
        call_in_child("benchmarks.gen_text", "write_to", str(folder), args.train, args.test, args.seed)
    paths = write(folder, args.train, args.test, args.seed)
    size = paths["train"].stat().st_size + paths["test"].stat().st_size
    out = folder / "flagged.parquet"
    m = measure(engine_cmd("contamination", "--train", str(paths["train"]), "--test", str(paths["test"]),
                           "--format", "json", "--out", str(out)), repeat=args.repeat)
    main = row_from("contamination", f"engine contamination {args.train:,} x {args.test:,}", m,
                    records=args.train, input_bytes=size)
    rows = [main]
    truth = json.loads(paths["truth"].read_text(encoding="utf-8"))
    ours: set[int] = set()
    if main.ok:
        summary = json.loads(m.stdout)
        flagged_frame = pl.read_parquet(out)
        flagged = {int(r["train_index"]): r for r in flagged_frame.iter_rows(named=True)}  # flagged rows only
        ours = {i for i, r in flagged.items() if r["flag_jaccard"] and r["token_jaccard"] >= 0.2}
        recall = _recall(truth, flagged)
        planted = {t["train_index"] for t in truth}
        main.extra.update({"summary": summary, "recall_by_edits": recall,
                           "flagged_not_planted": len(set(flagged) - planted)})
        main.note = (f"flagged {summary['n_flagged']:,}; verbatim recall {recall.get('0', {}).get('recall_default', 0):.0%}; "
                     f"not planted {len(set(flagged) - planted):,}")
        notes = ["recall by number of edits (default rule / original jaccard rule): " + ", ".join(
            f"k={k}: {v['recall_default']:.0%} / {v['recall_jaccard_rule']:.0%} (n={v['planted']})" for k, v in recall.items())]
        main.extra["footnotes"] = notes
    k_tr, k_ev = min(args.reference_sample, args.train), min(max(10, args.reference_sample // 4), args.test)
    wall, rss, rc, so, se = run_once(python_cmd(_REFERENCE, str(paths["train"]), str(paths["test"]), str(k_tr), str(k_ev)))
    if rc == 0:
        ref = json.loads(so)
        est = ref["seconds"] / ref["pairs"] * args.train * args.test
        rows.append(Row("contamination", f"reference all pairs (extrapolated from {ref['pairs']:,} pairs)", args.train,
                        size, est, rss, note=f"{ref['seconds'] / ref['pairs'] * 1e3:.2f} ms per pair"))
    if args.datasketch:
        mm = measure(python_cmd(_MINHASH, str(paths["train"]), str(paths["test"])))
        lsh_row = row_from("contamination", "datasketch MinHashLSH(threshold=0.2) token 8-grams", mm,
                           records=args.train, input_bytes=size)
        if lsh_row.ok:
            res = json.loads(mm.stdout.strip().splitlines()[-1])
            lsh = set(res["flagged"])
            rec = len(lsh & ours) / len(ours) if ours else 1.0
            lsh_row.note = f"recall vs exact token Jaccard>=0.2: {rec:.1%} ({len(lsh & ours)}/{len(ours)}); LSH flags {len(lsh):,}"
            lsh_row.extra.update({"recall_vs_exact": rec, "lsh_flagged": len(lsh), "exact_flagged": len(ours)})
        rows.append(lsh_row)
    set_ratios(rows, main)
    return [r.as_dict() for r in rows]


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks.run import main as run_main

    raise SystemExit(run_main(["contamination", *sys.argv[1:]]))
