"""`engine audit`: the one-command main job.

Stages: ingest every input into a fresh DuckDB store (structural + semantic validation and the
admission score happen per batch inside ingest, and so do the verifier-audit and trust inputs:
ingest hands each batch it read to `EvidenceAudit`, so the inputs are read once), then the
authenticity and chain layers when the records are signed or chained (or keys are given),
contamination against `--eval-items`, claim
audits for each `--claim A B`, and finally the report rendered from SQL over the store. Every
stage's results are tables of the store (`audit_*`), so `engine sql` can answer the same
questions the report does and `engine report --store` can render it again.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import duckdb
import polars as pl

from engine.errors import UsageError

FailOn = Literal["reject", "invalid", "critical", "contamination"]
FAIL_ON: tuple[str, ...] = ("reject", "invalid", "critical", "contamination")
STORE_NAME = "evidence.duckdb"


@dataclass(frozen=True)
class AuditOptions:
    out_dir: Path
    eval_items: tuple[str, ...] = ()
    claims: tuple[tuple[str, str], ...] = ()
    max_new_tokens: int | None = None  # generation cap of the claim logs when they do not record it
    keys_dir: Path | None = None
    verify: bool = False  # force the authenticity / chain pass even on unsigned records
    policy: str | None = None
    kind: str | None = None
    top: int = 20
    fail_under: float | None = None
    fail_on: tuple[str, ...] = ()
    progress: bool = False
    title: str = "Evidence audit report"


@dataclass
class AuditResult:
    store: Path
    outputs: dict[str, str]
    summary: dict[str, Any]
    stages: list[tuple[str, float]] = field(default_factory=list)
    exit_code: int = 0
    reasons: list[str] = field(default_factory=list)


StageFn = Callable[[str], Any]


class _Stages:
    """A rich progress display with one line per stage (silent when disabled or not a terminal)."""

    def __init__(self, enabled: bool) -> None:
        import sys

        self.enabled = enabled and sys.stderr.isatty()
        self.timings: list[tuple[str, float]] = []
        self._progress: Any = None

    def __enter__(self) -> _Stages:
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._progress = Progress(SpinnerColumn(), TextColumn("{task.description:<28}"), BarColumn(),
                                      TimeElapsedColumn(), console=Console(stderr=True))
            self._progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(None, None, None)

    @contextmanager
    def stage(self, name: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
        import time

        task = self._progress.add_task(name, total=total) if self._progress is not None else None
        start = time.perf_counter()

        def advance(n: int) -> None:
            if task is not None:
                self._progress.advance(task, n)

        yield advance
        self.timings.append((name, time.perf_counter() - start))
        if task is not None:
            self._progress.update(task, total=total or 1, completed=total or 1)


def _write_table(con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame) -> None:
    con.register("_frame", frame.to_arrow())
    con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _frame")
    con.unregister("_frame")


VERIFIER_SCHEMA = {"verifier_id": pl.String, "total_results": pl.Int64, "pass_rate": pl.Float64,
                   "strength_score": pl.Float64, "critical_count": pl.Int64, "high_count": pl.Int64,
                   "findings": pl.Int64}
FINDING_SCHEMA = {"verifier_id": pl.String, "severity": pl.String, "check_id": pl.String,
                  "description": pl.String, "evidence": pl.String}


class EvidenceAudit:
    """Verifier audit and trust scores, accumulated batch by batch from decoded AEP evidence."""

    def __init__(self, kind: str | None) -> None:
        self.kind = kind
        self.flat: list[pl.DataFrame] = []
        self.features: list[pl.DataFrame] = []
        self.batches = 0

    def add(self, seq: int, frame: pl.DataFrame) -> None:
        from engine.trust import record_features
        from engine.verifier_audit import verifier_rows

        self.flat.append(verifier_rows(frame))
        ordered = frame.sort("line")
        self.features.append(record_features(ordered).with_columns(pl.lit(seq).alias("_seq"), ordered["line"]))

    def observe(self, batch: Any, checked: tuple[pl.DataFrame, pl.DataFrame]) -> None:
        """An `engine.ingest` batch observer: the same evidence `iter_evidence` would yield for
        this batch, from the batch ingest already read and validated (no second read)."""
        from engine.admission_run import evidence_frames, scorable

        verdicts = checked[0]
        structural = verdicts.select("line", (pl.col("structural") == "valid").alias("structural_valid"))
        seq, self.batches = self.batches, self.batches + 1
        for part in batch.parts:
            if scorable(part, self.kind):
                for frame in evidence_frames(part, batch.source, structural):
                    self.add(seq, frame)

    def tables(self) -> dict[str, pl.DataFrame]:
        from engine.trust import TrustOptions, groups_from_features
        from engine.verifier_audit import audit_rows

        audits = audit_rows(pl.concat(self.flat)) if self.flat else []
        verifiers = pl.DataFrame(
            [(a.verifier_id, a.total_results, a.pass_rate, a.strength_score, a.critical_count, a.high_count,
              len(a.findings)) for a in audits], schema=VERIFIER_SCHEMA, orient="row")
        findings = pl.DataFrame(
            [(a.verifier_id, f.severity, f.check_id, f.description, f.evidence) for a in audits for f in a.findings],
            schema=FINDING_SCHEMA, orient="row")
        tables = {"audit_verifiers": verifiers, "audit_verifier_findings": findings}
        if self.features:
            groups = groups_from_features(pl.concat(self.features).sort("_seq", "line"), TrustOptions())
            tables["audit_trust"] = groups.with_columns(pl.col("records", "invalid_records").cast(pl.Int64))
        return tables


def verifier_and_trust_tables(paths: Sequence[str], kind: str | None) -> dict[str, pl.DataFrame]:
    """Verifier audit and trust scores over one streamed pass of the AEP evidence."""
    from engine.admission_run import iter_evidence

    acc = EvidenceAudit(kind)
    for seq, frame in iter_evidence(paths, kind=kind):
        acc.add(seq, frame)
    return acc.tables()


def _signed_or_chained(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """(records carrying a DSSE envelope, a legacy signature or a chain link; legacy signatures)."""
    rows = con.execute(
        "SELECT count(*) FILTER (WHERE has_dsse_envelope OR has_signature OR coalesce(prev_record_hash, '') <> ''), "
        "count(*) FILTER (WHERE has_signature) FROM runs").fetchall()
    return (int(rows[0][0]), int(rows[0][1])) if rows else (0, 0)


def authenticity_tables(paths: Sequence[str], options: AuditOptions,
                        legacy: bool) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Authenticity and chain verdicts from `engine validate --verify` over the inputs: the counts
    per layer and verdict, and per AEP record its authenticity verdict and whether its chain broke."""
    from engine.io.records import RecordBatch
    from engine.validate import ValidateOptions, validate_paths

    per_batch: list[pl.DataFrame] = []

    def keep(_batch: RecordBatch, verdicts: pl.DataFrame) -> None:
        per_batch.append(verdicts.filter(pl.col("kind") == "aep").select("source", "line", "authenticity"))

    report = validate_paths(list(paths), ValidateOptions(kind=options.kind, verify=True, keys_dir=options.keys_dir,
                                                         legacy=legacy), on_batch=keep)
    rows = [(layer, verdict, n) for layer in ("authenticity", "chain")
            for verdict, n in sorted(report.verdict_counts[layer].items())]
    counts = pl.DataFrame(rows, schema={"layer": pl.String, "verdict": pl.String, "records": pl.Int64}, orient="row")
    records = (pl.concat(per_batch) if per_batch
               else pl.DataFrame(schema={"source": pl.String, "line": pl.Int64, "authenticity": pl.String}))
    broken = report.chain_invalid_rows
    if broken is not None and broken.height:
        records = records.join(broken.with_columns(pl.lit(True).alias("chain_broken")), on=["source", "line"],
                               how="left")
    else:
        records = records.with_columns(pl.lit(None, dtype=pl.Boolean).alias("chain_broken"))
    return counts, records.with_columns(pl.col("chain_broken").fill_null(False))


def apply_authenticity(con: duckdb.DuckDBPyConnection, records: pl.DataFrame) -> None:
    """Fold the authenticity verdicts (and broken chains) into `validation`, so that a record with a
    bad signature or a broken chain counts as invalid everywhere, as in `engine validate --verify`."""
    con.register("_auth", records.to_arrow())
    con.execute("""
        UPDATE validation SET
            authenticity = a.authenticity,
            chain = CASE WHEN a.chain_broken THEN 'broken' ELSE validation.chain END,
            valid = validation.valid AND a.authenticity NOT IN ('invalid', 'broken') AND NOT a.chain_broken,
            error = CASE WHEN validation.valid AND a.authenticity IN ('invalid', 'broken')
                         THEN 'authenticity $: signature does not verify'
                         WHEN validation.valid AND a.chain_broken THEN 'chain $.prev_record_hash: hash chain broken'
                         ELSE validation.error END
        FROM _auth a
        WHERE validation.source = a.source AND validation.line = a.line""")
    con.unregister("_auth")


def contamination_tables(paths: Sequence[str], eval_items: Sequence[str]) -> dict[str, pl.DataFrame]:
    from engine.contamination.config import ContaminationConfig
    from engine.contamination.run import OUTPUT_COLUMNS, run_contamination

    cfg = ContaminationConfig()
    run = run_contamination(list(paths), list(eval_items), cfg)
    s = run.summary
    keys = ("n_training", "n_eval", "n_flagged", "flag_rate", "n_flagged_jaccard", "n_flagged_containment",
            "n_any_13gram_hit", "rule", "threshold", "char_threshold", "containment_threshold")
    summary = pl.DataFrame([{k: (str(s[k]) if k == "rule" else s.get(k)) for k in keys}])
    flagged = run.result.flagged().sort("train_index").select(OUTPUT_COLUMNS)
    return {"audit_contamination_summary": summary, "audit_contamination": flagged}


CLAIM_SCHEMA = {
    "log_a": pl.String, "log_b": pl.String, "verdict": pl.String, "n": pl.Int64, "b": pl.Int64, "c": pl.Int64,
    "p_value": pl.Float64, "acc_a": pl.Float64, "acc_b": pl.Float64, "delta": pl.Float64,
    "truncated_a": pl.Int64, "truncated_b": pl.Int64, "trunc_b": pl.Int64, "trunc_c": pl.Int64,
    "trunc_p": pl.Float64, "untrunc_n": pl.Int64, "untrunc_b": pl.Int64, "untrunc_c": pl.Int64,
    "untrunc_p": pl.Float64, "findings": pl.String,
}


def claim_table(claims: Sequence[tuple[str, str]], max_new_tokens: int | None = None) -> pl.DataFrame:
    from engine.stats.claim import AuditConfig, audit_claim
    from engine.stats.evallog import read_nonempty_log

    rows = []
    for a, b in claims:
        r = audit_claim(read_nonempty_log(a), read_nonempty_log(b), AuditConfig(max_new_tokens=max_new_tokens))
        n, u = r.naive, r.untruncated
        rows.append((a, b, r.verdict, n.n, n.b, n.c, n.p_value, n.acc_a, n.acc_b, n.delta,
                     int(r.trunc_flags_a.sum()), int(r.trunc_flags_b.sum()), r.trunc_b_count, r.trunc_c_count,
                     r.trunc_p, u.n, u.b, u.c, u.p_value, "; ".join(f.code for f in r.findings)))
    return pl.DataFrame(rows, schema=CLAIM_SCHEMA, orient="row")


def meta_table(paths: Sequence[str], options: AuditOptions) -> pl.DataFrame:
    from engine import __version__

    items = {
        "engine_version": __version__,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "inputs": json.dumps(list(paths)),
        "policy": options.policy or "default",
        "kind": options.kind or "detected",
        "eval_items": json.dumps(list(options.eval_items)),
        "claims": json.dumps([list(c) for c in options.claims]),
        "keys_dir": str(options.keys_dir) if options.keys_dir else "",
        "max_new_tokens": "" if options.max_new_tokens is None else str(options.max_new_tokens),
        "fail_under": "" if options.fail_under is None else str(options.fail_under),
        "fail_on": ",".join(options.fail_on),
    }
    return pl.DataFrame({"key": list(items), "value": list(items.values())})


def check_options(options: AuditOptions) -> None:
    if options.fail_under is not None and not 0.0 <= options.fail_under <= 1.0:
        raise UsageError(f"--fail-under must be between 0 and 1, got {options.fail_under}")
    bad = [c for c in options.fail_on if c not in FAIL_ON]
    if bad:
        raise UsageError(f"--fail-on takes {', '.join(FAIL_ON)}; got {', '.join(bad)}")
    if options.top < 1:
        raise UsageError(f"--top must be at least 1, got {options.top}")
    for path in [p for pair in options.claims for p in pair]:
        if not Path(path).is_file():
            from engine.errors import InputError

            raise InputError("claim eval log not found", path=path)


def exit_reasons(summary: dict[str, Any], options: AuditOptions) -> list[str]:
    reasons = []
    if options.fail_under is not None and summary["pass_rate"] < options.fail_under:
        reasons.append(f"pass rate {summary['pass_rate']:.4f} is below --fail-under {options.fail_under}")
    checks = {
        "reject": ((summary.get("admission") or {}).get("rejected", 0), "AEP record(s) scored reject"),
        "invalid": (summary["invalid"] + summary["quarantined_lines"], "invalid or quarantined record(s)"),
        "critical": ((summary.get("verifier_audit") or {}).get("critical", 0), "critical verifier finding(s)"),
        "contamination": ((summary.get("contamination") or {}).get("n_flagged", 0), "contaminated training text(s)"),
    }
    for cond in options.fail_on:
        n, what = checks[cond]
        if n:
            reasons.append(f"--fail-on {cond}: {n:,} {what}")
    return reasons


def run_audit(paths: Sequence[str], options: AuditOptions) -> AuditResult:
    from engine.contract.schemas import check_kind
    from engine.ingest import IngestOptions, ingest
    from engine.io.sources import expand_paths
    from engine.report.render import render_store, write_summary

    check_options(options)
    if options.kind is not None:
        check_kind(options.kind)
    plist = [str(p) for p in paths]
    total = sum(s.size for s in expand_paths(plist))  # missing inputs fail here, before any output
    if options.eval_items:
        expand_paths(list(options.eval_items))
    options.out_dir.mkdir(parents=True, exist_ok=True)
    store = options.out_dir / STORE_NAME
    tmp = options.out_dir / f".{STORE_NAME}.tmp-{os.getpid()}"
    for leftover in (tmp, Path(f"{tmp}.wal")):
        leftover.unlink(missing_ok=True)
    try:
        with _Stages(options.progress) as stages:
            evidence = EvidenceAudit(options.kind)
            with stages.stage("ingest + validate + admit", total) as advance:
                ingested = ingest(plist, str(tmp), IngestOptions(kind=options.kind, policy=options.policy), advance,
                                  observer=evidence.observe)
            con = duckdb.connect(str(tmp))
            try:
                with stages.stage("verifier audit + trust"):
                    # computed from ingest's own read; an input ingest skipped (the same content
                    # given twice) is still evidence here, so then read the inputs once more
                    skipped = any(s.status == "skipped" for s in ingested.sources)
                    tables = verifier_and_trust_tables(plist, options.kind) if skipped else evidence.tables()
                    for name, frame in tables.items():
                        _write_table(con, name, frame)
                signed, legacy = _signed_or_chained(con)
                if signed or options.verify or options.keys_dir is not None:
                    with stages.stage("authenticity + chain"):
                        counts, per_record = authenticity_tables(plist, options, legacy > 0)
                        _write_table(con, "audit_layers", counts)
                        apply_authenticity(con, per_record)
                if options.eval_items:
                    with stages.stage("contamination"):
                        for name, frame in contamination_tables(plist, options.eval_items).items():
                            _write_table(con, name, frame)
                if options.claims:
                    with stages.stage("claim audits"):
                        _write_table(con, "audit_claims", claim_table(options.claims, options.max_new_tokens))
                _write_table(con, "audit_meta", meta_table(plist, options))
                con.execute("CHECKPOINT")
            finally:
                con.close()
            os.replace(tmp, store)
            with stages.stage("report"):
                outputs, summary = render_store(str(store), options.out_dir, top=options.top, title=options.title)
    finally:
        for leftover in (tmp, Path(f"{tmp}.wal")):
            leftover.unlink(missing_ok=True)
    reasons = exit_reasons(summary, options)
    outputs = {**outputs, "store": str(store)}
    summary = {**summary, "outputs": outputs, "stages": {name: round(s, 3) for name, s in stages.timings},
               "exit": {"code": 1 if reasons else 0, "reasons": reasons}}
    write_summary(Path(outputs["summary"]), summary)
    return AuditResult(store, outputs, summary, stages.timings, 1 if reasons else 0, reasons)
