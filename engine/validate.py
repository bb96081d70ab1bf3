"""`engine validate`: every record through the structural and semantic layers, in batches.

Per batch and kind: the fast path accepts what it can prove valid (vectorized, see
engine.contract.structural), jsonschema diagnoses the rest exactly, the semantic rules run as
Polars expressions on typed rows and as Python on the rows only Python could read. Lines that
are not JSON objects are quarantined. Everything is counted: records = valid + invalid +
quarantined. Authenticity and chain are `not-checked` here (they need keys / whole runs).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from engine.contract.schemas import KINDS
from engine.contract.semantic import RULES, semantic_exprs, semantic_rules_py
from engine.contract.structural import StructuralError, diagnose, fast_accept, utf8_safe
from engine.io.records import KindBatch, RecordBatch, iter_record_batches
from engine.validate_errors import ErrorSink

LAYERS = ("structural", "semantic", "authenticity", "chain")

ERROR_SCHEMA = {"source": pl.String, "line": pl.Int64, "kind": pl.String, "run_id": pl.String,
                "layer": pl.String, "path": pl.String, "rule": pl.String, "message": pl.String}
VERDICT_SCHEMA = {"source": pl.String, "line": pl.Int64, "kind": pl.String, "run_id": pl.String,
                  "structural": pl.String, "semantic": pl.String, "authenticity": pl.String,
                  "chain": pl.String, "valid": pl.Boolean}

_ID_FIELDS = {"aep": "run_id", "rollout": "rollout_id", "compliance": "task_id"}


@dataclass(frozen=True)
class ValidateOptions:
    kind: str | None = None
    errors_path: Path | None = None
    top: int = 10
    progress: bool = False
    keep_examples: int = 50
    verify: bool = False  # fill the authenticity and chain layers (engine.authenticity)
    keys_dir: Path | None = None
    legacy: bool = False


@dataclass
class ValidationReport:
    files: list[str] = field(default_factory=list)
    records: int = 0
    valid: int = 0
    invalid: int = 0
    quarantined: int = 0
    skipped_lines: int = 0
    by_kind: dict[str, dict[str, int]] = field(default_factory=dict)
    by_layer: dict[str, dict[str, int]] = field(default_factory=lambda: {
        layer: {"valid": 0, "invalid": 0, "not_checked": 0} for layer in LAYERS})
    verdict_counts: dict[str, Counter[str]] = field(default_factory=lambda: {layer: Counter() for layer in LAYERS})
    error_counts: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    chain_invalid_rows: pl.DataFrame | None = None
    examples: list[dict[str, Any]] = field(default_factory=list)
    top: int = 10
    errors_path: str | None = None

    def pass_rate(self) -> float:
        return 1.0 if self.records == 0 else self.valid / self.records

    def top_errors(self) -> list[dict[str, Any]]:
        ranked = sorted(self.error_counts.items(), key=lambda kv: (-kv[1], kv[0]))
        return [{"layer": layer, "rule": rule, "path": path, "count": n} for (layer, rule, path), n in ranked[: self.top]]

    def summary(self) -> dict[str, Any]:
        return {
            "files": len(self.files),
            "records": self.records,
            "valid": self.valid,
            "invalid": self.invalid,
            "quarantined": self.quarantined,
            "skipped_lines": self.skipped_lines,
            "pass_rate": round(self.pass_rate(), 6),
            "by_kind": {k: self.by_kind[k] for k in sorted(self.by_kind)},
            "by_layer": self.by_layer,
            "verdicts": {layer: dict(sorted(c.items())) for layer, c in self.verdict_counts.items()},
            "top_errors": self.top_errors(),
            "errors_file": self.errors_path,
        }


@dataclass
class KindVerdicts:
    """Per-record verdicts of one KindBatch plus its error rows."""

    verdicts: pl.DataFrame  # VERDICT_SCHEMA without source
    errors: list[tuple[int, str, str | None, str, str, str, str]]  # line, kind, run_id, layer, path, rule, message


def _record_id(kind: str, obj: dict[str, Any]) -> str | None:
    name = _ID_FIELDS.get(kind)
    if name is None:
        value = obj.get("id")
    else:
        value = obj.get(name)
    if kind == "rollout" and isinstance(value, str) and "branch_index" in obj:
        return utf8_safe(f"{value}/{obj['branch_index']}")
    return None if value is None else utf8_safe(str(value))


def _typed_id_expr(kind: str, columns: set[str]) -> pl.Expr:
    name = _ID_FIELDS.get(kind)
    if name is None or name not in columns:
        return pl.lit(None, dtype=pl.String)
    if kind == "rollout" and "branch_index" in columns:
        return pl.col(name) + pl.lit("/") + pl.col("branch_index").cast(pl.String)
    return pl.col(name).cast(pl.String)


def check_kind_batch(part: KindBatch) -> KindVerdicts:
    """Structural and semantic verdicts for one kind's records of a batch (exact)."""
    kind = part.kind
    typed = part.typed
    errors: list[tuple[int, str, str | None, str, str, str, str]] = []
    known = kind in KINDS
    columns = set(typed.columns)
    sem = semantic_exprs(kind, columns) if known else {}
    if typed.height:
        ok = fast_accept(typed, kind, null_items=part.null_items) if known else pl.Series([False] * typed.height)
        sem_cols = [expr.alias(f"__sem_{rule}") for rule, expr in sem.items()]
        frame = typed.select("line", "raw", _typed_id_expr(kind, columns).alias("run_id"), *sem_cols).with_columns(
            ok.alias("__ok"))
        rejected = frame.filter(~pl.col("__ok"))
        struct_bad: dict[int, bool] = {}
        if known:
            import json

            for line, raw, run_id in rejected.select("line", "raw", "run_id").iter_rows():
                # per-record Python only for rows the fast path did not accept
                try:
                    found = diagnose(kind, json.loads(raw))
                except RecursionError:
                    found = [StructuralError("$", "depth", "record nested too deeply to validate")]
                struct_bad[line] = bool(found)
                errors.extend((line, kind, run_id, "structural", e.path, e.rule, e.message) for e in found)
        else:
            for line, run_id in rejected.select("line", "run_id").iter_rows():
                struct_bad[line] = True
                errors.append((line, kind, run_id, "structural", "$", "unknown_kind",
                               "cannot tell the record kind (no known schema_version); pass --kind"))
        bad_lines = [ln for ln, bad in struct_bad.items() if bad]
        frame = frame.with_columns(pl.col("line").is_in(bad_lines).alias("__sbad"))
        sem_any = pl.any_horizontal([pl.col(f"__sem_{r}") for r in sem]) if sem else pl.lit(False)
        frame = frame.with_columns(sem_any.alias("__xbad"))
        if sem:
            broken = frame.filter(pl.col("__xbad"))
            if broken.height:
                long = broken.select("line", "run_id", *[pl.col(f"__sem_{r}") for r in sem]).unpivot(
                    index=["line", "run_id"], variable_name="rule", value_name="hit").filter(pl.col("hit"))
                for line, run_id, rule in long.select("line", "run_id", "rule").iter_rows():
                    name = rule.removeprefix("__sem_")
                    path, message = RULES[name]
                    errors.append((line, kind, run_id, "semantic", path, name, message))
        typed_verdicts = frame.select(
            "line",
            pl.lit(kind).alias("kind"),
            "run_id",
            pl.when(pl.col("__sbad")).then(pl.lit("invalid")).otherwise(pl.lit("valid")).alias("structural"),
            pl.when(pl.col("__xbad")).then(pl.lit("invalid")).otherwise(pl.lit("valid")).alias("semantic"),
        )
    else:
        typed_verdicts = pl.DataFrame(schema={"line": pl.Int64, "kind": pl.String, "run_id": pl.String,
                                              "structural": pl.String, "semantic": pl.String})
    slow_rows = []
    for line, _raw, obj in part.slow:
        run_id = _record_id(kind, obj)
        if known:
            found = diagnose(kind, obj)
            errors.extend((line, kind, run_id, "structural", e.path, e.rule, e.message) for e in found)
        else:
            found = [StructuralError("$", "unknown_kind", "record kind unknown")]
            errors.append((line, kind, run_id, "structural", "$", "unknown_kind",
                           "cannot tell the record kind (no known schema_version); pass --kind"))
        rules = semantic_rules_py(kind, obj)
        for name in rules:
            path, message = RULES[name]
            errors.append((line, kind, run_id, "semantic", path, name, message))
        slow_rows.append((line, kind, run_id, "invalid" if found else "valid", "invalid" if rules else "valid"))
    slow_verdicts = pl.DataFrame(slow_rows, schema=typed_verdicts.schema, orient="row")
    verdicts = pl.concat([typed_verdicts, slow_verdicts]).sort("line").with_columns(
        pl.lit("not-checked").alias("authenticity"),
        pl.lit("not-checked").alias("chain"),
        ((pl.col("structural") == "valid") & (pl.col("semantic") == "valid")).alias("valid"),
    )
    return KindVerdicts(verdicts, errors)


def verdicts_of_batch(batch: RecordBatch) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(verdicts, errors) frames of one RecordBatch; quarantined lines appear in errors only."""
    verdict_frames = []
    rows: list[tuple[Any, ...]] = []
    for part in batch.parts:
        kv = check_kind_batch(part)
        verdict_frames.append(kv.verdicts.with_columns(pl.lit(batch.source).alias("source")))
        rows.extend((batch.source, *e) for e in kv.errors)
    for line, excerpt, reason in batch.quarantine:
        rows.append((batch.source, line, None, None, "parse", "$", _parse_rule(reason), f"{reason}: {excerpt[:80]}"))
    verdicts = (pl.concat(verdict_frames).select(list(VERDICT_SCHEMA)) if verdict_frames
                else pl.DataFrame(schema=VERDICT_SCHEMA))
    errors = pl.DataFrame(rows, schema=ERROR_SCHEMA, orient="row").sort("line", maintain_order=True)
    return verdicts, errors


def _parse_rule(reason: str) -> str:
    if reason.startswith("invalid UTF-8"):
        return "invalid_utf8"
    if reason.startswith("not JSON"):
        return "not_json"
    if "nested too deeply" in reason:
        return "too_deep"
    return "not_object"


def _account(report: ValidationReport, verdicts: pl.DataFrame, errors: pl.DataFrame, batch: RecordBatch) -> None:
    report.skipped_lines += batch.skipped
    report.quarantined += len(batch.quarantine)
    if verdicts.height:
        counts = verdicts.group_by("kind").agg(pl.len().alias("n"), pl.col("valid").sum().alias("ok"))
        for kind, n, ok in counts.iter_rows():
            slot = report.by_kind.setdefault(kind, {"records": 0, "valid": 0, "invalid": 0})
            slot["records"] += n
            slot["valid"] += ok
            slot["invalid"] += n - ok
        n_valid = int(verdicts.get_column("valid").sum())
        report.records += verdicts.height
        report.valid += n_valid
        report.invalid += verdicts.height - n_valid
        for layer in LAYERS:
            col = verdicts.get_column(layer)
            _count_layer(report, layer, col.filter(col != "pending"))  # pending chains: counted at the end
    report.records += len(batch.quarantine)
    if errors.height:
        general = errors.with_columns(pl.col("path").str.replace_all(r"\[\d+\]", "[*]"))
        for layer, rule, path, n in general.group_by("layer", "rule", "path").len().iter_rows():
            report.error_counts[(layer, rule, path)] += n
        room = report.top * 5 - len(report.examples)
        if room > 0:
            report.examples.extend(errors.head(room).to_dicts())


INVALID_VERDICTS = {"invalid", "broken"}
NOT_CHECKED = "not-checked"


def _count_layer(report: ValidationReport, layer: str, col: pl.Series) -> None:
    counts = col.value_counts()
    for verdict, n in counts.iter_rows():
        report.verdict_counts[layer][verdict] += n
        slot = "invalid" if verdict in INVALID_VERDICTS else "not_checked" if verdict == NOT_CHECKED else "valid"
        report.by_layer[layer][slot] += n


def _verifier(options: ValidateOptions) -> Any:
    if not (options.verify or options.keys_dir is not None):
        return None
    from engine.authenticity.keys import KeyRing
    from engine.authenticity.layers import StreamingVerifier

    ring = KeyRing.from_dir(options.keys_dir) if options.keys_dir is not None else KeyRing(use_env=True)
    return StreamingVerifier(ring, legacy=options.legacy)


def _authenticate(verifier: Any, batch: RecordBatch, verdicts: pl.DataFrame) -> pl.DataFrame:
    """Authenticity per AEP record of the batch now; chain verdicts stay `pending` until the end."""
    from engine.authenticity.layers import batch_frame

    records = batch_frame(batch).filter(pl.col("kind") == "aep")
    if records.height == 0:
        return verdicts
    auth = pl.concat([records.select("source", "line"), verifier.batch(records)], how="horizontal")
    out = verdicts.join(auth, on=["source", "line"], how="left", maintain_order="left")
    is_aep = pl.col("kind") == "aep"
    return out.with_columns(
        pl.when(is_aep).then(pl.col("authenticity_right")).otherwise(pl.col("authenticity")).alias("authenticity"),
        pl.when(is_aep).then(pl.lit("pending")).otherwise(pl.col("chain")).alias("chain"),
    ).with_columns(
        (pl.col("valid") & ~pl.col("authenticity").is_in(list(INVALID_VERDICTS))).alias("valid"),
    ).select(list(VERDICT_SCHEMA))


def _finish_chain(report: ValidationReport, verifier: Any) -> None:
    """Chain verdicts need every record of a run: count them, and invalidate broken chains."""
    chain = verifier.finish()
    if chain.height == 0:
        return
    _count_layer(report, "chain", chain.get_column("chain"))
    broken = chain.filter(pl.col("chain").is_in(list(INVALID_VERDICTS)))
    report.chain_invalid_rows = broken.select("source", "line")


def validate_paths(paths: Sequence[str], options: ValidateOptions,
                   on_batch: Callable[[RecordBatch, pl.DataFrame], None] | None = None) -> ValidationReport:
    """Validate every record under `paths`; stream errors to `options.errors_path` if given."""
    from engine.io.prefetch import prefetch
    from engine.io.sources import expand_paths
    from engine.progress import ByteProgress

    sources = expand_paths(list(paths))
    report = ValidationReport(files=[s.path for s in sources], top=options.top)
    sink = ErrorSink(options.errors_path, ERROR_SCHEMA) if options.errors_path else None
    total = sum(s.size for s in sources)
    verifier = _verifier(options)
    valid_before_chain: list[pl.DataFrame] = []
    try:
        with ByteProgress(total, "validating", enabled=options.progress) as progress:
            for batch in prefetch(iter_record_batches(paths, kind=options.kind)):
                verdicts, errors = verdicts_of_batch(batch)
                if verifier is not None:
                    verdicts = _authenticate(verifier, batch, verdicts)
                    valid_before_chain.append(verdicts.filter(pl.col("valid")).select("source", "line"))
                _account(report, verdicts, errors, batch)
                if sink is not None and errors.height:
                    sink.write(errors)
                if on_batch is not None:
                    on_batch(batch, verdicts)
                progress.advance(batch.nbytes)
        if verifier is not None:
            _finish_chain(report, verifier)
            if report.chain_invalid_rows is not None and valid_before_chain:
                newly = report.chain_invalid_rows.join(pl.concat(valid_before_chain), on=["source", "line"], how="semi")
                report.valid -= newly.height
                report.invalid += newly.height
                if newly.height:
                    report.by_kind["aep"]["valid"] -= newly.height
                    report.by_kind["aep"]["invalid"] += newly.height
                if report.chain_invalid_rows.height:
                    report.error_counts[("chain", "broken", "$.prev_record_hash")] += report.chain_invalid_rows.height
        if sink is not None:
            report.errors_path = sink.close()
            sink = None
    finally:
        if sink is not None:
            sink.abort()
        if verifier is not None:
            verifier.pool.close()  # idempotent: already closed by finish() on success
    return report


def validate_frame(records: pl.DataFrame) -> pl.DataFrame:
    """Per-record verdicts for an in-memory records frame (columns source, line, kind, raw)."""
    from engine.io.lines import LineBlock
    from engine.io.records import split_block

    out = []
    for (source,), group in records.group_by("source", maintain_order=True):
        for (kind,), sub in group.group_by("kind", maintain_order=True):
            block = LineBlock.from_lines(str(source), sub.get_column("line").to_numpy(),
                                         [r.encode("utf-8", "surrogatepass") for r in sub.get_column("raw").to_list()])
            parts, _ = split_block(str(source), block, str(kind), True)
            for part in parts:
                out.append(check_kind_batch(part).verdicts.with_columns(pl.lit(source).alias("source")))
    if not out:
        return pl.DataFrame(schema=VERDICT_SCHEMA)
    verdicts = pl.concat(out).select(list(VERDICT_SCHEMA))
    order = records.select("source", "line")
    return order.join(verdicts, on=["source", "line"], how="left", maintain_order="left")


def structural_valid(records: pl.DataFrame) -> pl.Series:
    """Exact jsonschema structural verdict per row of a records frame (source, line, kind, raw)."""
    verdicts = validate_frame(records)
    return (verdicts.get_column("structural") == "valid").fill_null(False).alias("structural_valid")
