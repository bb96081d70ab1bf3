"""Texts and ids of contamination inputs, from `engine.io.load_records` frames.

Text field: `--text-field` if given; otherwise `text`, else `final_answer`, else the content of
the last `assistant` message of `messages`. A record with none of them counts as an empty text
(it can never be flagged) and is counted in the summary. Ids: `--id-field` if given and present,
else `id`, else `source:line`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

_MESSAGES = pl.Struct({"messages": pl.List(pl.Struct({"role": pl.String, "content": pl.String}))})


@dataclass(frozen=True)
class TextInput:
    texts: pl.Series
    ids: pl.Series
    n_missing_text: int
    quarantine: pl.DataFrame


def _field(name: str) -> pl.Expr:
    return pl.col("raw").str.json_path_match(f"$.{name}")


def _last_assistant() -> pl.Expr:
    msgs = pl.col("raw").str.json_decode(_MESSAGES).struct.field("messages")
    return msgs.list.eval(
        pl.element().filter(pl.element().struct.field("role") == "assistant").struct.field("content")
    ).list.last()


def extract(records: pl.DataFrame, *, text_field: str | None, id_field: str | None) -> tuple[pl.Series, pl.Series]:
    if text_field:
        text = _field(text_field)
    else:
        text = pl.coalesce(_field("text"), _field("final_answer"))
    frame = records.select(text.alias("text"), "raw", "source", "line")
    if not text_field:
        need = frame["text"].is_null()
        if need.any() and frame.filter(need)["raw"].str.contains('"messages"').any():
            sub = frame.filter(need).select(_last_assistant().alias("m"))["m"]
            frame = frame.with_columns(frame["text"].scatter(need.arg_true(), sub))
    ident = _field(id_field) if id_field else _field("id")
    ids = records.select(
        pl.coalesce(ident, pl.col("source") + pl.lit(":") + pl.col("line").cast(pl.String)).alias("id"))["id"]
    return frame["text"], ids


def read_texts(paths: Sequence[str], *, text_field: str | None = None, id_field: str | None = None) -> TextInput:
    from engine.io.records import load_records

    loaded = load_records(list(paths))
    texts, ids = extract(loaded.records, text_field=text_field, id_field=id_field)
    return TextInput(texts, ids, int(texts.is_null().sum()), loaded.quarantine)
