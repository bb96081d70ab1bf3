"""Seeded generator of realistic contamination-benchmark texts.

Training texts: ~200 tokens (100..300) drawn from a Zipf(1.1) vocabulary of 50,000 pseudo-words,
with commas and full stops attached to some words and a few non-ASCII words (accents, curly
apostrophes) so that ~3% of texts take the Unicode path. Eval items: 15..150 tokens from the same
vocabulary (test questions are shorter than training documents). A known set of eval items is
planted into training texts, verbatim and with k word edits (substitute, delete, insert), between
a random prefix and suffix of the host text; `truth` lists (train_index, eval_index, edits).

    python benchmarks/gen_text.py --train 100000 --test 1000 --out benchmarks/.cache/ct
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

GEN_TEXT_VERSION = 1
VOCAB = 50_000
NON_ASCII = ["café", "naïve", "don’t", "résumé", "“quoted”", "Zürich", "coöperate", "façade"]
LETTERS = np.frombuffer(b"etaoinshrdlcumwfgypbvkjxqz", dtype=np.uint8)
LETTER_P = np.array([12.7, 9.1, 8.2, 7.5, 7.0, 6.7, 6.3, 6.1, 6.0, 4.3, 4.0, 2.8, 2.8, 2.4, 2.4, 2.2, 2.0,
                     2.0, 1.9, 1.5, 1.0, 0.8, 0.15, 0.15, 0.1, 0.07])


def vocabulary(rng: np.random.Generator) -> list[str]:
    lengths = np.clip(rng.poisson(5.0, VOCAB) + 1, 1, 16)
    letters = rng.choice(LETTERS, size=int(lengths.sum()), p=LETTER_P / LETTER_P.sum()).tobytes().decode()
    ends = np.cumsum(lengths)
    words = [letters[e - k : e] for e, k in zip(ends.tolist(), lengths.tolist(), strict=True)]
    words = list(dict.fromkeys(words))  # distinct, rank order kept
    short = sorted(words[:200], key=len)  # frequent words are short, as in real text
    words = short + words[200:]
    for i, w in enumerate(NON_ASCII):  # moderately frequent non-ASCII words
        words.insert(2500 + 301 * i, w)
    return words


def _texts(rng: np.random.Generator, words: pl.Series, p: np.ndarray, lengths: np.ndarray) -> pl.Series:
    total = int(lengths.sum())
    idx = rng.choice(words.len(), size=total, p=p)
    punct = rng.choice(np.array(["", ",", "."], dtype=object), size=total, p=[0.88, 0.06, 0.06])
    toks = pl.DataFrame({"w": words.gather(idx), "s": pl.Series(punct, dtype=pl.String)}).select(
        (pl.col("w") + pl.col("s")).alias("t"))["t"]
    offsets = pa.array(np.concatenate(([0], np.cumsum(lengths))).astype(np.int32))
    lists = pl.Series(pa.ListArray.from_arrays(offsets, toks.to_arrow()))
    return lists.list.join(" ")


def edit_words(rng: np.random.Generator, text: str, k: int, vocab: list[str]) -> str:
    words = text.split(" ")
    for _ in range(k):
        i = int(rng.integers(len(words)))
        op = rng.random()
        if op < 0.5:
            words[i] = vocab[int(rng.integers(len(vocab)))]
        elif op < 0.75 and len(words) > 1:
            del words[i]
        else:
            words.insert(i, vocab[int(rng.integers(len(vocab)))])
    return " ".join(words)


def generate(n_train: int, n_test: int, seed: int = 1, *, planted_verbatim: int | None = None,
             planted_edited: int | None = None, max_edits: int = 8) -> tuple[pl.DataFrame, pl.DataFrame, list[dict]]:
    rng = np.random.default_rng(seed)
    vocab = vocabulary(rng)
    ranks = np.arange(1, len(vocab) + 1, dtype=np.float64)
    p = ranks**-1.1
    p /= p.sum()
    words = pl.Series(vocab, dtype=pl.String)
    train = _texts(rng, words, p, rng.integers(100, 301, n_train)).to_list()
    evals = _texts(rng, words, p, rng.integers(15, 151, n_test)).to_list()
    n_verb = planted_verbatim if planted_verbatim is not None else max(1, n_test // 50)
    n_edit = planted_edited if planted_edited is not None else max(1, n_test // 25)
    hosts = rng.choice(n_train, size=min(n_train, n_verb + n_edit), replace=False)
    items = rng.choice(n_test, size=hosts.size, replace=hosts.size > n_test)
    truth = []
    for j, (h, e) in enumerate(zip(hosts.tolist(), items.tolist(), strict=True)):
        edits = 0 if j < n_verb else 1 + (j - n_verb) % max_edits
        planted = evals[e] if edits == 0 else edit_words(rng, evals[e], edits, vocab)
        host = train[h].split(" ")
        cut = int(rng.integers(len(host) + 1))
        keep = max(0, 200 - len(planted.split(" ")))  # host stays ~200 tokens long
        train[h] = " ".join([*host[max(0, cut - keep // 2) : cut], planted, *host[cut : cut + keep - keep // 2]])
        truth.append({"train_index": h, "eval_index": e, "edits": edits})
    tr = pl.DataFrame({"id": [f"t{i}" for i in range(n_train)], "text": train})
    ev = pl.DataFrame({"id": [f"e{i}" for i in range(n_test)], "text": evals})
    return tr, ev, truth


def write(out_dir: Path, n_train: int, n_test: int, seed: int = 1) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"train": out_dir / "train.jsonl", "test": out_dir / "test.jsonl", "truth": out_dir / "truth.json"}
    if all(p.exists() for p in paths.values()):
        return paths
    tr, ev, truth = generate(n_train, n_test, seed)
    for name, frame in (("train", tr), ("test", ev)):
        tmp = paths[name].with_name(f".{paths[name].name}.tmp-{os.getpid()}")
        frame.write_ndjson(tmp)
        os.replace(tmp, paths[name])
    paths["truth"].write_text(json.dumps(truth) + "\n", encoding="utf-8")
    return paths


def write_to(out_dir: str, n_train: int, n_test: int, seed: int = 1) -> None:
    write(Path(out_dir), n_train, n_test, seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", type=int, default=10_000)
    parser.add_argument("--test", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    print(json.dumps({k: str(v) for k, v in write(args.out, args.train, args.test, args.seed).items()}))


if __name__ == "__main__":
    main()
