"""`engine verify`: authenticity and chain verdicts for records, plus receipts, from files."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from engine.authenticity.canonical import loads
from engine.authenticity.keys import KeyRing
from engine.authenticity.layers import summarize, verify_frame
from engine.authenticity.receipt import is_receipt, verify_receipt


@dataclass(frozen=True)
class VerifyOptions:
    keys_dir: Path | None = None
    legacy: bool = False
    jobs: int | None = None
    require_signed: bool = False
    require_intact: bool = False
    chain_across_files: bool = False


@dataclass
class VerifyResult:
    verdicts: pl.DataFrame
    receipts: list[dict[str, Any]] = field(default_factory=list)
    quarantine: pl.DataFrame | None = None
    options: VerifyOptions = VerifyOptions()

    def failing(self) -> pl.DataFrame:
        bad_auth = ["invalid"] + (["unsigned"] if self.options.require_signed else [])
        cond = pl.col("authenticity").is_in(bad_auth) | (pl.col("chain") == "broken")
        if self.options.require_intact:
            cond = cond | (pl.col("chain") != "intact")
        return self.verdicts.filter(cond)

    def ok(self) -> bool:
        # a line that could not be read could not be verified either
        unread = 0 if self.quarantine is None else self.quarantine.height
        return self.failing().height == 0 and unread == 0 and all(r["ok"] for r in self.receipts)

    def summary(self) -> dict[str, Any]:
        s = summarize(self.verdicts)
        s["failing"] = self.failing().height
        s["receipts"] = {"total": len(self.receipts), "ok": sum(1 for r in self.receipts if r["ok"])}
        s["quarantined"] = 0 if self.quarantine is None else self.quarantine.height
        s["ok"] = self.ok()
        return s


def keyring_for(keys_dir: Path | None) -> KeyRing:
    return KeyRing.from_dir(keys_dir) if keys_dir is not None else KeyRing(use_env=True)


def verify_paths(paths: Sequence[str], options: VerifyOptions) -> VerifyResult:
    from engine.io import load_records

    ring = keyring_for(options.keys_dir)
    loaded = load_records(list(paths))
    records = loaded.records
    maybe_receipt = records.select(
        (pl.col("kind") == "unknown") & pl.col("raw").str.contains("receipt_version", literal=True)
    ).to_series()
    receipts: list[dict[str, Any]] = []
    keep = ~maybe_receipt
    if maybe_receipt.any():
        cand = records.filter(maybe_receipt)
        is_rec = []
        for source, line, raw in cand.select("source", "line", "raw").iter_rows():
            obj = loads(raw)
            if is_receipt(obj):
                receipts.append({"source": source, "line": line, **verify_receipt(obj, ring)})
                is_rec.append(True)
            else:
                is_rec.append(False)
        flags = maybe_receipt.to_list()
        it = iter(is_rec)
        keep = pl.Series([not (f and next(it)) for f in flags])
    verdicts = verify_frame(records.filter(keep), ring, legacy=options.legacy, jobs=options.jobs,
                            across_files=options.chain_across_files)
    return VerifyResult(verdicts=verdicts, receipts=receipts, quarantine=loaded.quarantine, options=options)
