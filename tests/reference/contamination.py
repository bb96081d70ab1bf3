"""Slow, obviously-correct reference for contamination (SPEC §6, reference §3.5).

Sets of tuples and strings, every training text against every eval text. Used only by the
differential tests; never import it from the engine.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u00ad", "\u2060", "\ufeff", "\u2061", "\u2062", "\u2063", "\u2064"]


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    for ch in INVISIBLE:
        text = text.replace(ch, " ")
    return re.sub(r"\s+", " ", text).strip()


def tokens(text: str) -> list[str]:
    return re.findall(r"\w+", normalize(text).lower())


def token_ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    toks = tokens(text)
    return {tuple(toks[i : i + n]) for i in range(len(toks) - n + 1)}


def char_ngrams(text: str, n: int) -> set[str]:
    s = normalize(text).lower()
    return {s[i : i + n] for i in range(len(s) - n + 1)}


def jaccard(a: set, b: set) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def containment(eval_set: set, train_set: set) -> float:
    if not eval_set:
        return 0.0
    return len(eval_set & train_set) / len(eval_set)


@dataclass(frozen=True)
class RefRow:
    token_jaccard: float
    char_jaccard: float
    containment: float
    any_13gram_hit: bool
    flag_jaccard: bool
    flag_containment: bool


def reference(train: list[str], evals: list[str], *, ngram: int = 8, threshold: float = 0.2,
              char_threshold: float = 0.7, containment_threshold: float = 0.5) -> list[RefRow]:
    ev_tok = [token_ngrams(e, ngram) for e in evals]
    ev_13 = [token_ngrams(e, 13) for e in evals]
    ev_chr = [[char_ngrams(e, n) for n in range(5, 11)] for e in evals]
    out = []
    for t in train:
        a_tok = token_ngrams(t, ngram)
        a_13 = token_ngrams(t, 13)
        a_chr = [char_ngrams(t, n) for n in range(5, 11)]
        tj = max((jaccard(a_tok, b) for b in ev_tok), default=0.0)
        cont = max((containment(b, a_tok) for b in ev_tok), default=0.0)
        cj = max((max(jaccard(x, y) for x, y in zip(a_chr, bs, strict=True)) for bs in ev_chr), default=0.0)
        hit = any(a_13 & b for b in ev_13)
        out.append(RefRow(tj, cj, cont, hit, tj >= threshold or cj >= char_threshold, cont >= containment_threshold))
    return out
