"""The A_truncated channel of T0v2 triage (reference §3.9): wrong answers cut off by the token cap.

An answer is cut off when it has no `#### N` answer line and its length reaches
max(max_new_tokens - margin, 0) tokens. Length is counted with a tokenizer when one is given
(any object with `encode`), else as characters // 2 ("char/2", a rough stand-in that callers must
flag). Only items whose `correct` is known count: an item without `correct` is excluded, not
treated as correct (the original skipped it as if it were right) and not as wrong.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from engine.errors import UsageError
from engine.stats.evallog import EvalLog

ANSWER_LINE = re.compile(r"####\s*-?\d[\d,.]*")
DEFAULT_MARGIN = 8
TokenCountMode = Literal["tokens", "char/2"]


class Tokenizer(Protocol):
    def encode(self, text: str) -> Any: ...


def _encoded_length(encoded: Any) -> int:
    ids = getattr(encoded, "ids", encoded)  # tokenizers.Encoding has .ids; transformers gives a list
    return len(ids)


def token_counts(texts: Sequence[str], tokenizer: Tokenizer | None) -> list[int]:
    if tokenizer is None:
        return [len(t) // 2 for t in texts]
    batch = getattr(tokenizer, "encode_batch", None)
    if callable(batch):
        return [_encoded_length(e) for e in batch(list(texts))]
    return [_encoded_length(tokenizer.encode(t)) for t in texts]


def hit_cap(texts: Sequence[str], max_new_tokens: int, margin: int = DEFAULT_MARGIN,
            tokenizer: Tokenizer | None = None) -> tuple[list[bool], list[int], list[bool]]:
    """(cut off?, token counts, has answer line?) for each text, whatever its correctness."""
    threshold = max(max_new_tokens - margin, 0)
    counts = token_counts(texts, tokenizer)
    answered = [ANSWER_LINE.search(t) is not None for t in texts]
    flags = [not ans and k >= threshold for ans, k in zip(answered, counts, strict=True)]
    return flags, counts, answered


def resolve_max_new_tokens(option: int | None, log: EvalLog) -> tuple[int, str]:
    """The generation cap and where it came from; never a silent default."""
    if option is not None:
        if option < 1:
            raise UsageError(f"--max-new-tokens must be a positive integer, got {option}")
        return option, "option"
    meta = log.meta.get("max_new_tokens")
    if isinstance(meta, int) and not isinstance(meta, bool) and meta > 0:
        return meta, "meta.max_new_tokens"
    raise UsageError(
        "the generation cap is unknown: pass --max-new-tokens N",
        path=log.source,
        hint="the max_new_tokens the log was generated with; the log has no meta.max_new_tokens",
    )


@dataclass(frozen=True)
class TruncationReport:
    source: str
    max_new_tokens: int
    max_new_tokens_source: str
    margin: int
    token_count_mode: TokenCountMode
    ids: tuple[str, ...]
    correct: tuple[bool | None, ...]
    tokens: tuple[int, ...]
    answer_line: tuple[bool, ...]
    truncated: tuple[bool, ...]  # wrong and cut off; False for right or excluded items
    n_total: int
    n_scored: int
    n_excluded: dict[str, int]

    @property
    def n_wrong(self) -> int:
        return sum(1 for c in self.correct if c is False)

    @property
    def n_truncated(self) -> int:
        return sum(self.truncated)

    @property
    def share_of_wrong(self) -> float:
        return self.n_truncated / self.n_wrong if self.n_wrong else 0.0

    @property
    def rate_of_scored(self) -> float:
        return self.n_truncated / self.n_scored if self.n_scored else 0.0

    def truncated_ids(self) -> list[str]:
        return [i for i, t in zip(self.ids, self.truncated, strict=True) if t]

    def not_truncated_wrong_ids(self) -> list[str]:
        return [i for i, c, t in zip(self.ids, self.correct, self.truncated, strict=True) if c is False and not t]

    def as_dict(self, items: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "input": self.source,
            "max_new_tokens": self.max_new_tokens,
            "max_new_tokens_source": self.max_new_tokens_source,
            "margin": self.margin,
            "threshold": max(self.max_new_tokens - self.margin, 0),
            "token_count_mode": self.token_count_mode,
            "n_total": self.n_total,
            "n_scored": self.n_scored,
            "n_excluded": dict(sorted(self.n_excluded.items())),
            "n_wrong": self.n_wrong,
            "n_truncated": self.n_truncated,
            "truncated_share_of_wrong": round(self.share_of_wrong, 6),
            "truncated_rate_of_scored": round(self.rate_of_scored, 6),
            "truncated_ids": self.truncated_ids(),
            "not_truncated_wrong_ids": self.not_truncated_wrong_ids(),
        }
        if items:
            out["items"] = [
                {"id": i, "correct": c, "tokens": k, "answer_line": a, "truncated": t}
                for i, c, k, a, t in zip(self.ids, self.correct, self.tokens, self.answer_line,
                                         self.truncated, strict=True)
            ]
        return out


def classify(log: EvalLog, max_new_tokens: int, max_new_tokens_source: str = "option",
             margin: int = DEFAULT_MARGIN, tokenizer: Tokenizer | None = None) -> TruncationReport:
    if margin < 0:
        raise UsageError(f"--margin must be >= 0, got {margin}")
    flags, counts, answered = hit_cap(log.texts, max_new_tokens, margin, tokenizer)
    correct = tuple(c if st == "ok" else None for c, st in zip(log.correct, log.status, strict=True))
    truncated = tuple(f and c is False for f, c in zip(flags, correct, strict=True))
    excluded: dict[str, int] = {}
    for st in log.status:
        if st != "ok":
            excluded[st] = excluded.get(st, 0) + 1
    return TruncationReport(
        source=log.source, max_new_tokens=max_new_tokens, max_new_tokens_source=max_new_tokens_source,
        margin=margin, token_count_mode="char/2" if tokenizer is None else "tokens",
        ids=log.ids, correct=correct, tokens=tuple(counts), answer_line=tuple(answered), truncated=truncated,
        n_total=log.n_read, n_scored=sum(1 for c in correct if c is not None), n_excluded=excluded,
    )


CHAR2_WARNING = (
    "warning: no tokenizer given: token counts are characters // 2 (token_count_mode \"char/2\"), "
    "a rough estimate; pass --tokenizer NAME for exact counts"
)


def warn_char2() -> None:
    sys.stderr.write(CHAR2_WARNING + "\n")


class _EncodingAdapter:
    """Wraps a `tokenizers.Tokenizer` (encode returns an Encoding) without special tokens."""

    def __init__(self, tok: Any) -> None:
        self._tok = tok

    def encode(self, text: str) -> Any:
        return self._tok.encode(text, add_special_tokens=False)

    def encode_batch(self, texts: list[str]) -> Any:
        return self._tok.encode_batch(texts, add_special_tokens=False)


def load_tokenizer(name: str) -> Tokenizer:
    """A tokenizer from a local tokenizer.json (or a folder holding one) or the local HF cache.

    Never downloads: an audit must not depend on the network. Uses `tokenizers` when installed,
    else `transformers` with local_files_only.
    """
    errors: list[str] = []
    try:
        import tokenizers
    except ImportError:
        tokenizers = None  # type: ignore[assignment]
        errors.append("the `tokenizers` package is not installed")
    if tokenizers is not None:
        candidate = Path(name)
        if candidate.is_dir():
            candidate = candidate / "tokenizer.json"
        if not candidate.is_file():
            try:
                from huggingface_hub import try_to_load_from_cache

                cached = try_to_load_from_cache(name, "tokenizer.json")
                candidate = Path(cached) if isinstance(cached, str) else candidate
            except Exception as exc:  # huggingface_hub missing or the name is not a repo id
                errors.append(f"no local cache lookup ({type(exc).__name__})")
        if candidate.is_file():
            try:
                return _EncodingAdapter(tokenizers.Tokenizer.from_file(str(candidate)))
            except Exception as exc:
                raise UsageError(f"cannot load tokenizer {name!r}: {exc}", path=str(candidate)) from None
        errors.append(f"no tokenizer.json for {name!r} on disk or in the local Hugging Face cache")
    try:
        from transformers import AutoTokenizer
    except ImportError:
        errors.append("the `transformers` package is not installed")
    else:
        try:
            return AutoTokenizer.from_pretrained(name, local_files_only=True)  # type: ignore[no-any-return]
        except Exception as exc:
            errors.append(f"transformers could not load it offline ({type(exc).__name__})")
    raise UsageError(
        f"cannot load tokenizer {name!r}: " + "; ".join(errors),
        hint="give a path to a tokenizer.json with `tokenizers` installed, or omit --tokenizer to count characters/2",
    )
