"""Read one eval log into per-item (id, correct, text) columns, stdlib only.

Accepted shapes (SPEC §3): a JSON object with a `results` (or `items`) list and optional `meta`;
a top-level JSON array of items; JSONL with one item per line; lm-evaluation-harness
`samples_*.jsonl` (mapped through the bridge of reference §3.10). `.gz` and `.zst` wrappers,
a UTF-8 BOM, CRLF line ends, blank lines and `#` comment lines are handled.

This reader exists beside `engine.io.load_records` on purpose: that one imports polars, and the
claim-audit commands must start in well under a second on two small logs.

Decisions (tested in tests/test_stats_evallog.py):
- ids are compared as strings: JSON `1` and `"1"` are the same item; integral floats (`1.0`)
  become `"1"`. How many ids were converted is reported, never hidden.
- `correct` must be a boolean, or the numbers 0/1 (lm-eval writes `acc` as 0.0/1.0). A missing or
  null `correct` and any other value (`"yes"`, `2`) exclude the item, counted by reason; an
  excluded item is neither right nor wrong.
- an id that occurs more than once in one log is ambiguous (which row pairs?), so every row with
  that id is excluded and counted as `duplicate_id`.
- a line that is not a JSON object, or an item without an id, is quarantined (source, line,
  reason) and the rest of the file is still read.
"""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from engine.errors import InputError

ItemStatus = Literal["ok", "missing_correct", "non_boolean_correct", "duplicate_id"]
LogFormat = Literal["json", "jsonl", "lm-eval"]

EXCERPT_CHARS = 120


@dataclass(frozen=True)
class Quarantined:
    source: str
    line: int
    reason: str
    excerpt: str


@dataclass(frozen=True)
class FieldNames:
    """Where the id, the correctness flag and the generated text live in an item (dotted paths)."""

    id: str = "id"
    correct: str = "correct"
    text: str = "gen_text"


@dataclass(frozen=True)
class EvalLog:
    """One eval log, one entry per item that has an id (quarantined lines are not items)."""

    source: str
    format: LogFormat
    ids: tuple[str, ...]
    correct: tuple[bool | None, ...]
    texts: tuple[str, ...]
    lines: tuple[int, ...]
    status: tuple[ItemStatus, ...]
    meta: dict[str, Any]
    n_read: int
    quarantine: tuple[Quarantined, ...]
    ids_converted: int
    id_types: tuple[str, ...]
    notes: tuple[str, ...] = field(default=())

    @property
    def n_items(self) -> int:
        return len(self.ids)

    def excluded(self) -> dict[str, list[str]]:
        """Ids of excluded items by reason (reasons with no items left out)."""
        out: dict[str, list[str]] = {}
        for item_id, st in zip(self.ids, self.status, strict=True):
            if st != "ok":
                out.setdefault(st, []).append(item_id)
        return out

    def scored(self) -> dict[str, bool]:
        """id -> correct for the items that count."""
        return {
            i: bool(c)
            for i, c, st in zip(self.ids, self.correct, self.status, strict=True)
            if st == "ok"
        }


def _open_text(path: Path) -> str:
    name = path.name.lower()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError("no such file", path=str(path)) from None
    except IsADirectoryError:
        raise InputError("is a directory, expected an eval log file", path=str(path)) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path=str(path)) from None
    try:
        if name.endswith(".gz"):
            raw = gzip.decompress(raw)
        elif name.endswith(".zst"):
            import zstandard

            raw = zstandard.ZstdDecompressor().decompressobj().decompress(raw)
    except Exception as exc:  # corrupt container: gzip.BadGzipFile, zstd errors, EOFError
        raise InputError(f"corrupt compressed file: {exc}", path=str(path)) from None
    if raw[:4] == b"PAR1":
        raise InputError("a Parquet file is not an eval log here", path=str(path),
                         hint="eval logs are JSON/JSONL; for a long Parquet table use `engine paired --long`")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", path=str(path)) from None


def _get(obj: dict[str, Any], dotted: str) -> Any:
    cur: Any = obj
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"


def _normalise_id(value: Any) -> tuple[str | None, bool]:
    """(id as string or None when unusable, whether a conversion happened)."""
    if isinstance(value, str):
        return (value, False) if value != "" else (None, False)
    if isinstance(value, bool) or value is None:
        return None, False
    if isinstance(value, int):
        return str(value), True
    if isinstance(value, float) and value.is_integer():
        return str(int(value)), True
    if isinstance(value, float):
        return repr(value), True
    return None, False


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    return None


# --- lm-evaluation-harness bridge (reference §3.10) -------------------------------------------

_LM_EVAL_ID_KEYS = ("doc_id", "id", "sample_id")


def _lm_eval_item(sample: dict[str, Any]) -> dict[str, Any]:
    """Map one lm-eval sample onto the {id, correct, gen_text, expected} item shape."""
    item_id = next((sample[k] for k in _LM_EVAL_ID_KEYS if sample.get(k) is not None), None)
    if item_id is None:
        item_id = _get(sample, "doc.idx")
    expected = next(
        (v for v in (sample.get("target"), sample.get("answer"), _get(sample, "doc.answer")) if v), None
    )
    resps = sample.get("filtered_resps") or sample.get("resps") or []
    gen: Any = resps[0] if isinstance(resps, list) and resps else ""
    if isinstance(gen, list):
        gen = gen[0] if gen else ""
    gen_text = "" if gen is None else str(gen)
    correct: Any = sample.get("acc")
    if correct is None:
        correct = sample.get("exact_match")
    if correct is None:
        correct = expected is not None and str(expected) in gen_text
    return {"id": item_id, "correct": correct, "gen_text": gen_text, "expected": expected}


def _looks_like_lm_eval(path: Path, first: dict[str, Any] | None) -> bool:
    if re.match(r"samples_.*\.jsonl", path.name):
        return True
    return first is not None and "doc_id" in first and ("resps" in first or "filtered_resps" in first)


# --- parsing ---------------------------------------------------------------------------------


def _parse_jsonl(text: str, source: str) -> tuple[list[tuple[int, Any]], list[Quarantined]]:
    rows: list[tuple[int, Any]] = []
    bad: list[Quarantined] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        try:
            obj = json.loads(s)
        except json.JSONDecodeError as exc:
            bad.append(Quarantined(source, lineno, f"not JSON: {exc.msg}", _excerpt(s)))
            continue
        rows.append((lineno, obj))
    return rows, bad


def _parse_json_document(text: str, source: str) -> tuple[list[tuple[int, Any]], dict[str, Any]] | None:
    """Items (numbered 1..n) and meta of a whole-file JSON document; None if it is really JSONL."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":
            return None
        raise InputError(f"not JSON: {exc.msg}", path=source, line=exc.lineno) from None
    if isinstance(doc, list):
        return list(enumerate(doc, start=1)), {}
    if isinstance(doc, dict):
        for key in ("results", "items"):
            if isinstance(doc.get(key), list):
                meta = doc.get("meta")
                return list(enumerate(doc[key], start=1)), meta if isinstance(meta, dict) else {}
        return [(1, doc)], {}
    raise InputError("expected a JSON object with a `results` list, an array of items, or JSONL", path=source)


def read_eval_log(path: str | Path, fields: FieldNames | None = None) -> EvalLog:
    """Read one eval log. Raises InputError for unusable files (missing, corrupt, not JSON)."""
    fields = fields or FieldNames()
    p = Path(path)
    source = str(path)
    text = _open_text(p)
    meta: dict[str, Any] = {}
    rows: list[tuple[int, Any]]
    quarantine: list[Quarantined] = []
    stripped = text.lstrip()
    is_jsonl_name = any(p.name.lower().endswith(ext) for ext in (".jsonl", ".jsonl.gz", ".jsonl.zst", ".ndjson"))
    parsed = None if is_jsonl_name or not stripped.startswith(("{", "[")) else _parse_json_document(text, source)
    if parsed is not None:
        rows, meta = parsed
        fmt: LogFormat = "json"
    else:
        rows, quarantine = _parse_jsonl(text, source)
        fmt = "jsonl"
        if not rows and quarantine and len(quarantine) == sum(1 for ln in text.splitlines() if ln.strip()):
            q = quarantine[0]
            raise InputError(f"not JSON or JSONL ({q.reason})", path=source, line=q.line)
        # A one-line JSONL holding a whole {"results": [...]} document is still that document.
        if len(rows) == 1 and isinstance(rows[0][1], dict) and isinstance(rows[0][1].get("results"), list):
            single = _parse_json_document(json.dumps(rows[0][1]), source)
            if single is not None:
                rows, meta = single
                fmt = "json"
    first = next((obj for _, obj in rows if isinstance(obj, dict)), None)
    lm_eval = fmt == "jsonl" and _looks_like_lm_eval(p, first)
    if lm_eval:
        fmt = "lm-eval"
    return _items_from_rows(rows, quarantine, source, fmt, meta, fields, lm_eval)


def _items_from_rows(
    rows: list[tuple[int, Any]],
    quarantine: list[Quarantined],
    source: str,
    fmt: LogFormat,
    meta: dict[str, Any],
    fields: FieldNames,
    lm_eval: bool,
) -> EvalLog:
    # Per-item Python is the point here: each item needs its own id/correct checks and a precise
    # reason when rejected. Eval logs are small (hundreds to tens of thousands of items).
    ids: list[str] = []
    correct: list[bool | None] = []
    texts: list[str] = []
    lines: list[int] = []
    status: list[ItemStatus] = []
    converted = 0
    id_types: set[str] = set()
    for lineno, obj in rows:
        if not isinstance(obj, dict):
            quarantine.append(Quarantined(source, lineno, f"not a JSON object ({type(obj).__name__})",
                                          _excerpt(json.dumps(obj))))
            continue
        item = _lm_eval_item(obj) if lm_eval else obj
        if lm_eval:
            # Bridge fields by default; a field the user names explicitly is read from the raw sample.
            item = {
                "id": item["id"] if fields.id == "id" else _get(obj, fields.id),
                "correct": item["correct"] if fields.correct == "correct" else _get(obj, fields.correct),
                "gen_text": item["gen_text"] if fields.text == "gen_text" else _get(obj, fields.text),
            }
            fields_here = FieldNames()
        else:
            fields_here = fields
        raw_id = _get(item, fields_here.id)
        item_id, was_converted = _normalise_id(raw_id)
        if item_id is None:
            why = f"no usable `{fields.id}`" if raw_id is None else f"`{fields.id}` is {type(raw_id).__name__}"
            quarantine.append(Quarantined(source, lineno, why, _excerpt(json.dumps(obj)[:400])))
            continue
        id_types.add(type(raw_id).__name__)
        converted += was_converted and not lm_eval  # the bridge defines lm-eval ids as strings
        raw_correct = _get(item, fields_here.correct)
        value = _as_bool(raw_correct)
        ids.append(item_id)
        correct.append(value)
        gen = _get(item, fields_here.text)
        texts.append(gen if isinstance(gen, str) else "" if gen is None else str(gen))
        lines.append(lineno)
        if raw_correct is None:
            status.append("missing_correct")
        elif value is None:
            status.append("non_boolean_correct")
        else:
            status.append("ok")
    dup = {i for i, k in Counter(ids).items() if k > 1}
    if dup:
        status = ["duplicate_id" if i in dup else s for i, s in zip(ids, status, strict=True)]
    notes: list[str] = []
    if converted:
        notes.append(f"{source}: {converted} non-string id(s) compared as strings (e.g. 1 -> \"1\")")
    return EvalLog(
        source=source, format=fmt, ids=tuple(ids), correct=tuple(correct), texts=tuple(texts),
        lines=tuple(lines), status=tuple(status), meta=meta, n_read=len(rows) + sum(
            1 for q in quarantine if q.reason.startswith("not JSON:")),
        quarantine=tuple(quarantine), ids_converted=converted, id_types=tuple(sorted(id_types)),
        notes=tuple(notes),
    )


def read_nonempty_log(path: str | Path, fields: FieldNames | None = None) -> EvalLog:
    """`read_eval_log`, but a log without a single usable item is an input error (exit 2)."""
    log = read_eval_log(path, fields)
    if log.n_items == 0:
        first = log.quarantine[0] if log.quarantine else None
        detail = f"; first rejected line {first.line}: {first.reason}" if first else ""
        raise InputError(
            f"no eval items with an id ({log.n_read} read, {len(log.quarantine)} quarantined{detail})",
            path=str(path),
            hint=f"expected a {{\"results\": [...]}} object, a JSON array or JSONL items with `{(fields or FieldNames()).id}`",
        )
    return log


def read_numbers(path: str | Path, field_name: str = "error") -> list[float]:
    """Calibration numbers: a JSON array, an object with an `errors` list, or lines holding a number
    or an object with `field_name`. Anything else is an InputError naming the line."""
    p = Path(path)
    text = _open_text(p)
    source = str(path)
    stripped = text.strip()
    if stripped.startswith(("[", "{")) and not p.name.lower().endswith((".jsonl", ".jsonl.gz")):
        parsed = _parse_json_document(text, source)
        if parsed is not None:
            items, _ = parsed
            if len(items) == 1 and isinstance(items[0][1], dict) and isinstance(items[0][1].get("errors"), list):
                items = list(enumerate(items[0][1]["errors"], start=1))
            return [_number(v, field_name, source, i) for i, v in items]
    rows, bad = _parse_jsonl(text, source)
    if bad:
        raise InputError(bad[0].reason, path=source, line=bad[0].line)
    return [_number(v, field_name, source, i) for i, v in rows]


def _number(value: Any, field_name: str, source: str, line: int) -> float:
    if isinstance(value, dict):
        value = _get(value, field_name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"expected a number or an object with a numeric `{field_name}`", path=source, line=line)
    return float(value)
