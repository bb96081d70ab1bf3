"""The `engine` command line: one Typer app, one thin function per command.

Each command validates its arguments, calls one engine function and renders the result.
Heavy libraries (polars, duckdb, pyarrow, pandera, scipy) are imported inside the commands
so that `engine --help` stays fast. Engine errors become one-line messages and exit codes
in `main()`; a traceback reaching a user is a bug (set ENGINE_DEBUG=1 to see one).
"""

from __future__ import annotations

import json
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from engine import __version__

app = typer.Typer(
    name="engine",
    help="trace-engine: validate, score, decontaminate, audit and export agent traces at scale.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
    add_completion=False,
)


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


FormatOpt = Annotated[OutputFormat, typer.Option("--format", "-f", help="text for people, json for scripts.")]


def emit_json(obj: Any) -> None:
    """Print one JSON document on stdout (stable key order as built, UTF-8)."""
    sys.stdout.write(json.dumps(obj, indent=2, ensure_ascii=False, default=str, allow_nan=False) + "\n")
    sys.stdout.flush()


def stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def stdout_console() -> Any:
    from rich.console import Console

    return Console()


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"trace-engine {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version_callback, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """trace-engine: is this benchmark claim real, and which of these traces are safe to train on?"""


# ----------------------------------------------------------------------------------------------
# validate (foundation)
# ----------------------------------------------------------------------------------------------


def _validate(
    paths: Annotated[list[Path], typer.Argument(help="Files, directories or globs (.jsonl, .json, .gz, .zst, .parquet).")],
    kind: Annotated[str | None, typer.Option(help="Record kind for every record (default: detect from schema_version).")] = None,
    fmt: FormatOpt = OutputFormat.text,
    errors: Annotated[Path | None, typer.Option("--errors", help="Write the error table here (.jsonl or .parquet).")] = None,
    fail_under: Annotated[float, typer.Option(help="Exit 1 when valid/records is below this (0..1).")] = 1.0,
    top: Annotated[int, typer.Option(help="How many of the most frequent errors to show.")] = 10,
    verify: Annotated[bool, typer.Option("--verify", help="Also check DSSE signatures and prev_record_hash chains.")] = False,
    keys: Annotated[Path | None, typer.Option("--keys", help="Directory of <keyid>.pub verify keys (implies --verify).")] = None,
    legacy: Annotated[bool, typer.Option("--legacy", help="Also verify the original inline `signature` block.")] = False,
) -> None:
    """Validate records against the schema contract.

    Layers: structural (the canonical JSON Schema, exact), semantic (derived invariants), and with
    --verify / --keys authenticity (unsigned | dsse-valid | invalid) and chain (not-present | intact |
    partial | orphaned | broken). Exit 0 when valid/records >= --fail-under, 1 below, 2 on unusable input.
    """
    from engine.validate import ValidateOptions, validate_paths
    from engine.validate_render import render_validation_text

    if not 0.0 <= fail_under <= 1.0:
        from engine.errors import UsageError

        raise UsageError(f"--fail-under must be between 0 and 1, got {fail_under}")
    options = ValidateOptions(kind=kind, errors_path=errors, top=top, progress=fmt is OutputFormat.text,
                              verify=verify or legacy, keys_dir=keys, legacy=legacy)
    report = validate_paths([str(p) for p in paths], options)
    if fmt is OutputFormat.json:
        emit_json(report.summary())
    else:
        render_validation_text(report, stdout_console())
    if report.pass_rate() < fail_under:
        raise typer.Exit(1)


app.command("validate")(_validate)
app.command("validate-aep", help="Alias of `engine validate`.")(_validate)


# ----------------------------------------------------------------------------------------------
# admission: admit, gate, trust-score, verifier-audit
# ----------------------------------------------------------------------------------------------


class AdmitOutFormat(StrEnum):
    parquet = "parquet"
    jsonl = "jsonl"


def _policy_or_default(policy: str | None, min_score: float | None) -> Any:
    from engine.errors import UsageError
    from engine.policy import load_policy

    if min_score is not None and not 0.0 <= min_score <= 1.0:
        raise UsageError(f"--min-score must be between 0 and 1, got {min_score}")
    return load_policy(policy).with_min_score(min_score)


@app.command("admit")
def _admit(
    paths: Annotated[list[Path], typer.Argument(help="AEP files, directories or globs (.jsonl, .json, .gz, .zst, .parquet).")],
    policy: Annotated[str | None, typer.Option("--policy", help="Policy TOML (full or partial, laid over the default) or a shipped name: default, strict.")] = None,
    min_score: Annotated[float | None, typer.Option("--min-score", help="Admitted records must score at least this; train_* records below it become audit_only (default: the policy's thresholds.min_score).")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write admitted / audit_only / rejected partitions into this directory.")] = None,
    out_format: Annotated[AdmitOutFormat, typer.Option("--out-format", help="Partition file format.")] = AdmitOutFormat.parquet,
    kind: Annotated[str | None, typer.Option(help="Treat every record as this kind (default: detect; non-AEP records are skipped).")] = None,
    top: Annotated[int, typer.Option(help="Text mode: how many per-record rows to show.")] = 20,
    fmt: FormatOpt = OutputFormat.text,
) -> None:
    """Score AEP evidence with the Evidence Admission Score and route it to training categories.

    Six weighted dimensions (schema validity, evidence completeness, policy compliance, verifier
    strength, provenance, contamination risk) plus a recording-mode bonus, capped at 1; categories
    train_sft / train_dpo / train_repair / train_router / audit_only / reject. Records failing
    structural validation are rejected with reason `schema_invalid`.
    """
    from engine.admission_render import render_admit_text
    from engine.admission_run import admit_paths

    chosen = _policy_or_default(policy, min_score)
    result = admit_paths([str(p) for p in paths], chosen, out_dir=out, out_format=out_format.value, kind=kind,
                         progress=fmt is OutputFormat.text)
    if fmt is OutputFormat.json:
        emit_json(result.summary)
    else:
        render_admit_text(result, stdout_console(), top=top)


@app.command("trust-score")
def _trust_score(
    paths: Annotated[list[Path], typer.Argument(help="AEP files, directories or globs.")],
    task_passed: Annotated[bool, typer.Option("--task-passed", help="Add task_success = 1.0 to every group.")] = False,
    benchmark_trust: Annotated[float | None, typer.Option("--benchmark-trust", help="Add benchmark_trust (0..1, e.g. a linter score).")] = None,
    receipt: Annotated[Path | None, typer.Option("--receipt", help="Run receipt: digest verified 1.0, unverified 0.7 (none: 0.5).")] = None,
    fmt: FormatOpt = OutputFormat.text,
) -> None:
    """Agent trust score per group of records (trace_id, else run_id), plus the calibrated score.

    Several records of one group are AGGREGATED (the original let the last record win): counts
    are summed over the group's structurally valid records, then turned into ratios:
    evidence_completeness = evidenced / state-changing actions, policy_compliance = 1 - denies /
    decisions, verifier_agreement = passed / results, budget_compliance = 1 - exceeded / checked
    budgets. overall = geometric mean of the known dimensions (0 if any is 0); grade A needs >= 0.9
    and 6 known dimensions, B >= 0.75 and 4. The calibrated score of a group is the mean of its
    records' calibrated scores.
    """
    from engine.admission_render import render_trust_text
    from engine.errors import UsageError
    from engine.trust import TrustOptions, trust_paths

    if benchmark_trust is not None and not 0.0 <= benchmark_trust <= 1.0:
        raise UsageError(f"--benchmark-trust must be between 0 and 1, got {benchmark_trust}")
    result = trust_paths([str(p) for p in paths], TrustOptions(task_passed, benchmark_trust, receipt),
                         progress=fmt is OutputFormat.text)
    if fmt is OutputFormat.json:
        emit_json(result)
    else:
        render_trust_text(result, stdout_console())


@app.command("verifier-audit")
def _verifier_audit(
    paths: Annotated[list[Path], typer.Argument(help="AEP files, directories or globs.")],
    fmt: FormatOpt = OutputFormat.text,
) -> None:
    """Audit every verifier seen in AEP verifier_results: pass rate, findings, strength score.

    Findings: oracle_leakage_risk (critical), high_pass_rate and empty_results (high),
    no_score_signal, binary_score_only, low_pass_rate (medium), missing_claim_ids (low);
    strength = 1 - 0.30 x critical - 0.15 x high, clamped to [0, 1].
    """
    from engine.admission_render import render_audit_text
    from engine.verifier_audit import audit_paths

    result = audit_paths([str(p) for p in paths], progress=fmt is OutputFormat.text)
    if fmt is OutputFormat.json:
        emit_json(result)
    else:
        render_audit_text(result, stdout_console())


@app.command("gate")
def _gate(
    paths: Annotated[list[Path], typer.Argument(help="SFT / DPO training records and rollouts (kinds detected from schema_version).")],
    sft_min_records: Annotated[int, typer.Option(help="Error when there are fewer SFT records than this.")] = 100,
    dpo_min_records: Annotated[int, typer.Option(help="Warn when there are fewer DPO pairs than this.")] = 20,
    kind: Annotated[str | None, typer.Option(help="Treat every record as this kind (default: detect).")] = None,
    eval_paths: Annotated[list[Path] | None, typer.Option("--eval", help="Eval items to check SFT/DPO outputs against for contamination (repeatable).")] = None,
    eval_field: Annotated[str | None, typer.Option(help="Field holding the eval text (default: first of text, question, prompt, input, problem).")] = None,
    contamination_threshold: Annotated[float, typer.Option(help="Token 8-gram Jaccard flag threshold for --eval.")] = 0.2,
    fmt: FormatOpt = OutputFormat.text,
) -> None:
    """Training-data quality gate: SFT/DPO checks, anomalous objective scores, prompt injection.

    Exits 1 when any error-level issue is found (too few SFT records, identical DPO pairs,
    objective_score outside [0, 1] or NaN/Inf, prompt-injection fragments after NFKC + lowercase,
    with --eval: SFT/DPO outputs that overlap the eval texts).
    """
    from engine.admission_render import render_gate_text
    from engine.gate import GateConfig, gate_paths

    report = gate_paths([str(p) for p in paths],
                        GateConfig(sft_min_records=sft_min_records, dpo_min_records=dpo_min_records), kind=kind,
                        eval_paths=[str(p) for p in eval_paths] if eval_paths else None, eval_field=eval_field,
                        contamination_threshold=contamination_threshold)
    if fmt is OutputFormat.json:
        emit_json(report)
    else:
        render_gate_text(report, stdout_console())
    if not report["ok"]:
        raise typer.Exit(1)


# <<commands: admission>>

class SqlFormat(StrEnum):
    text = "text"
    csv = "csv"
    json = "json"
    parquet = "parquet"


@app.command("ingest")
def _ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files, directories or globs of AEP / rollout / compliance / eval records.")],
    store: Annotated[str, typer.Option("--store", "-s", help="DuckDB file, or a directory ending in / for a Hive-partitioned Parquet lake.")] = "evidence.duckdb",
    replace: Annotated[bool, typer.Option("--replace", help="Re-ingest sources the store already holds (same content digest).")] = False,
    kind: Annotated[str | None, typer.Option(help="Record kind for every record (default: detect from schema_version).")] = None,
    policy: Annotated[str | None, typer.Option(help="Admission policy: a TOML file or a shipped name (default policy otherwise).")] = None,
    fmt: FormatOpt = OutputFormat.text,
) -> None:
    """Validate, score and normalise records into the evidence store (runs, actions, tool_calls, ..., quarantine, validation, admission).

    Idempotent: a source whose content is already in the store is skipped (use --replace to re-ingest). Lines that are not JSON objects, and records that fail validation, land in the `quarantine` table with their line number and reason.
    """
    from engine.contract.schemas import check_kind
    from engine.ingest import IngestOptions, ingest
    from engine.io.sources import expand_paths
    from engine.progress import ByteProgress

    if kind is not None:
        check_kind(kind)
    total = sum(s.size for s in expand_paths([str(p) for p in paths]))
    with ByteProgress(total, "ingesting", enabled=fmt is OutputFormat.text) as bar:
        options = IngestOptions(replace=replace, kind=kind, policy=policy)
        summary = ingest([str(p) for p in paths], store, options, bar.advance)
    result = summary.to_dict()
    if fmt is OutputFormat.json:
        emit_json(result)
        return
    from rich.table import Table

    console = stdout_console()
    table = Table(title=f"ingested into {store} ({summary.store_kind})")
    table.add_column("table")
    table.add_column("rows written", justify="right")
    rows = result["rows"]
    assert isinstance(rows, dict)
    for name, n in rows.items():
        table.add_row(name, f"{n:,}")
    console.print(table)
    skipped = [s for s in summary.sources if s.status == "skipped"]
    console.print(
        f"{result['records']:,} records read from {len(summary.sources) - len(skipped)} source(s); "
        f"{result['quarantined']:,} quarantined; {len(skipped)} source(s) already in the store, skipped"
        + (" (use --replace to re-ingest)" if skipped else "")
    )


@app.command("sql")
def _sql(
    query: Annotated[str | None, typer.Argument(help="One read-only SQL query (SELECT / WITH / EXPLAIN ...).")] = None,
    store: Annotated[str, typer.Option("--store", "-s", help="DuckDB file, or a lake directory ending in /.")] = "evidence.duckdb",
    fmt: Annotated[SqlFormat, typer.Option("--format", "-f", help="text (rich table), csv, json or parquet.")] = SqlFormat.text,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write all rows to this file (required for parquet).")] = None,
    limit: Annotated[int, typer.Option(help="Rows shown in the text table.")] = 50,
    list_: Annotated[bool, typer.Option("--list", help="List the store's tables and views with their columns.")] = False,
) -> None:
    """Run read-only SQL over the evidence store's tables and views (run_summary, tool_usage, ...).

    Example: engine sql "select model_id, count(*), avg(evidence_completeness) from run_summary group by 1" --store evidence.duckdb
    """
    from engine.errors import UsageError
    from engine.sql import export_query, list_objects, run_query

    if list_:
        objects = list_objects(store)
        grouped: dict[str, dict[str, Any]] = {}
        for name, kind, column, data_type in objects:
            entry = grouped.setdefault(name, {"type": kind, "columns": []})
            entry["columns"].append({"name": column, "type": data_type})
        if fmt is SqlFormat.json:
            emit_json(grouped)
            return
        from rich.table import Table

        table = Table(title=f"tables and views of {store}")
        for col in ("name", "type", "columns"):
            table.add_column(col, overflow="fold")
        for name, entry in grouped.items():
            table.add_row(name, entry["type"], ", ".join(f"{c['name']} {c['type']}" for c in entry["columns"]))
        stdout_console().print(table)
        return
    if not query:
        raise UsageError("give a QUERY, or --list to see the tables and views")
    if fmt is SqlFormat.parquet and out is None:
        raise UsageError("--format parquet needs --out FILE")
    if out is not None:
        if fmt is SqlFormat.text:
            raise UsageError("--out needs --format csv, json or parquet")
        n = export_query(store, query, fmt.value, str(out))  # type: ignore[arg-type]
        typer.echo(f"wrote {n:,} rows to {out}", err=True)
        return
    if fmt is SqlFormat.text:
        result = run_query(store, query, limit)
        _render_sql_table(result, limit)
        return
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"result.{fmt.value}"
        export_query(store, query, fmt.value, str(path))  # type: ignore[arg-type]
        sys.stdout.write(path.read_text(encoding="utf-8"))


def _render_sql_table(result: Any, limit: int) -> None:
    from rich.table import Table

    table = Table()
    for name, dtype in zip(result.columns, result.types, strict=True):
        table.add_column(f"{name}\n[dim]{dtype}[/dim]", overflow="fold")
    for row in result.rows:
        table.add_row(*["NULL" if v is None else str(v) for v in row])
    console = stdout_console()
    console.print(table)
    if result.truncated:
        console.print(f"[dim]first {limit} rows shown; more exist (raise --limit, or use --format csv --out FILE)[/dim]")
    else:
        console.print(f"[dim]{len(result.rows)} row(s)[/dim]")


# <<commands: store>>

# ----------------------------------------------------------------------------------------------
# stats: paired, truncation, audit-claim, t0v2, conformal (engine/stats; SPEC §7)
# Only the standard library and numpy load on the two-file paths (start-up budget 1 s).
# ----------------------------------------------------------------------------------------------

_STATS_TESTS = ("exact", "midp", "chi2")


def _stats_fields(id_field: str, correct_field: str, text_field: str = "gen_text") -> Any:
    from engine.stats.evallog import FieldNames

    return FieldNames(id=id_field, correct=correct_field, text=text_field)


def _stats_paired_config(test: str, conf: float, bootstrap: int, seed: int) -> Any:
    from engine.errors import UsageError
    from engine.stats.paired import PairedConfig

    if test not in _STATS_TESTS:
        raise UsageError(f"--test must be one of {', '.join(_STATS_TESTS)}, got {test!r}")
    if not 0.0 < conf < 1.0:
        raise UsageError(f"--conf must be strictly between 0 and 1, got {conf}")
    if bootstrap < 0:
        raise UsageError(f"--bootstrap must be >= 0 (0 skips it), got {bootstrap}")
    return PairedConfig(test=test, conf=conf, bootstrap=bootstrap, seed=seed)  # type: ignore[arg-type]


_IdFieldOpt = Annotated[str, typer.Option("--id-field", help="Item field holding the id (dotted path).")]
_CorrectFieldOpt = Annotated[str, typer.Option("--correct-field", help="Item field holding true/false.")]
_TestOpt = Annotated[str, typer.Option("--test", help="McNemar variant: exact, midp or chi2 (continuity corrected).")]
_ConfOpt = Annotated[float, typer.Option("--conf", help="Confidence level of the Wilson and bootstrap intervals.")]
_BootOpt = Annotated[int, typer.Option("--bootstrap", help="Bootstrap iterations (0 to skip).")]
_SeedOpt = Annotated[int, typer.Option("--seed", help="Seed of the bootstrap (numpy default_rng).")]
_MaxNewOpt = Annotated[int | None, typer.Option(
    "--max-new-tokens", help="Generation cap of the log(s); default meta.max_new_tokens, else required.")]
_MarginOpt = Annotated[int, typer.Option("--margin", help="Tokens below the cap that already count as hitting it.")]
_TokOpt = Annotated[str | None, typer.Option(
    "--tokenizer", help="tokenizer.json path or cached Hugging Face name (offline); default characters/2.")]


@app.command("paired")
def _paired(
    a: Annotated[Path | None, typer.Option("--a", help="Eval log of model A (JSON with results, JSONL, lm-eval samples).")] = None,
    b: Annotated[Path | None, typer.Option("--b", help="Eval log of model B, paired with A by item id.")] = None,
    long: Annotated[Path | None, typer.Option("--long", help="Long table (CSV/Parquet/JSONL: model, item, correct): all model pairs.")] = None,
    id_field: _IdFieldOpt = "id",
    correct_field: _CorrectFieldOpt = "correct",
    test: _TestOpt = "exact",
    conf: _ConfOpt = 0.95,
    bootstrap: _BootOpt = 10_000,
    seed: _SeedOpt = 0,
    model_col: Annotated[str, typer.Option("--model-col", help="--long: model column.")] = "model",
    item_col: Annotated[str, typer.Option("--item-col", help="--long: item id column.")] = "item_id",
    correct_col: Annotated[str, typer.Option("--correct-col", help="--long: correctness column.")] = "correct",
    alpha: Annotated[float, typer.Option("--alpha", help="--long: level for the Holm-adjusted verdict.")] = 0.05,
    top: Annotated[int, typer.Option("--top", help="--long, text: how many pairs to list.")] = 20,
    fmt: FormatOpt = OutputFormat.text,
) -> None:
    """Paired comparison of two eval logs (McNemar, Wilson, bootstrap, power), or all model pairs of a long table."""
    from engine.errors import UsageError

    if long is not None:
        if a is not None or b is not None:
            raise UsageError("give either --a and --b, or --long, not both")
        from engine.stats.many_pairs import LongColumns, many_pairs

        result = many_pairs(long, LongColumns(model=model_col, item=item_col, correct=correct_col))
        if fmt is OutputFormat.json:
            emit_json(result.as_dict(alpha))
        else:
            from engine.stats.render import render_many_pairs

            render_many_pairs(result, stdout_console(), alpha, top)
        return
    if a is None or b is None:
        raise UsageError("give two eval logs with --a and --b (or a long table with --long)")
    from engine.stats.evallog import read_nonempty_log
    from engine.stats.paired import compare, pair_logs, paired_json

    cfg = _stats_paired_config(test, conf, bootstrap, seed)
    fields = _stats_fields(id_field, correct_field)
    log_a, log_b = read_nonempty_log(a, fields), read_nonempty_log(b, fields)
    pairing = pair_logs(log_a, log_b)
    doc = paired_json(compare(pairing.a, pairing.b, cfg), pairing, log_a, log_b)
    if pairing.n == 0:
        typer.echo("warning: no item is scored in both logs (check --id-field / --correct-field)", err=True)
    if fmt is OutputFormat.json:
        emit_json(doc)
    else:
        from engine.stats.render import render_paired

        render_paired(doc, stdout_console())


@app.command("truncation")
def _truncation(
    log: Annotated[Path, typer.Argument(help="Eval log (JSON with results, JSONL, lm-eval samples).")],
    max_new_tokens: _MaxNewOpt = None,
    margin: _MarginOpt = 8,
    tokenizer: _TokOpt = None,
    id_field: _IdFieldOpt = "id",
    correct_field: _CorrectFieldOpt = "correct",
    text_field: Annotated[str, typer.Option("--text-field", help="Item field holding the generated text.")] = "gen_text",
    items: Annotated[bool, typer.Option("--items/--no-items", help="JSON: include per-item flags.")] = True,
    fmt: FormatOpt = OutputFormat.text,
) -> None:
    """Which wrong answers were cut off by the token cap (T0v2 A_truncated channel)."""
    from engine.stats.evallog import read_nonempty_log
    from engine.stats.truncation import classify, load_tokenizer, resolve_max_new_tokens, warn_char2

    data = read_nonempty_log(log, _stats_fields(id_field, correct_field, text_field))
    cap, source = resolve_max_new_tokens(max_new_tokens, data)
    tok = load_tokenizer(tokenizer) if tokenizer else None
    if tok is None:
        warn_char2()
    report = classify(data, cap, source, margin, tok)
    if fmt is OutputFormat.json:
        emit_json(report.as_dict(items=items))
    else:
        from engine.stats.render import render_truncation

        render_truncation(report, stdout_console())


@app.command("audit-claim")
def _audit_claim(
    a: Annotated[Path, typer.Option("--a", help="Eval log of the claimed improvement (A).")],
    b: Annotated[Path, typer.Option("--b", help="Eval log of the baseline (B).")],
    max_new_tokens: _MaxNewOpt = None,
    margin: _MarginOpt = 8,
    tokenizer: _TokOpt = None,
    alpha: Annotated[float, typer.Option("--alpha", help="Significance level of every test.")] = 0.05,
    min_pairs: Annotated[int, typer.Option("--min-pairs", help="Fewer paired items than this: insufficient-pairs.")] = 20,
    id_field: _IdFieldOpt = "id",
    correct_field: _CorrectFieldOpt = "correct",
    text_field: Annotated[str, typer.Option("--text-field", help="Item field holding the generated text.")] = "gen_text",
    test: _TestOpt = "exact",
    conf: _ConfOpt = 0.95,
    bootstrap: _BootOpt = 10_000,
    seed: _SeedOpt = 0,
    fmt: FormatOpt = OutputFormat.text,
) -> None:
    """Audit "A beats B": paired test, truncation asymmetry, untruncated re-test, verdict with evidence."""
    from engine.errors import UsageError
    from engine.stats.claim import AuditConfig, audit_claim, audit_json
    from engine.stats.evallog import read_nonempty_log
    from engine.stats.truncation import load_tokenizer, warn_char2

    if not 0.0 < alpha < 1.0:
        raise UsageError(f"--alpha must be strictly between 0 and 1, got {alpha}")
    cfg = AuditConfig(paired=_stats_paired_config(test, conf, bootstrap, seed), alpha=alpha, min_pairs=min_pairs,
                      max_new_tokens=max_new_tokens, margin=margin)
    fields = _stats_fields(id_field, correct_field, text_field)
    log_a, log_b = read_nonempty_log(a, fields), read_nonempty_log(b, fields)
    tok = load_tokenizer(tokenizer) if tokenizer else None
    if tok is None:
        warn_char2()
    report = audit_claim(log_a, log_b, cfg, tok)
    if fmt is OutputFormat.json:
        emit_json(audit_json(report))
    else:
        from engine.stats.render import render_audit

        render_audit(report, stdout_console())


@app.command("t0v2")
def _t0v2(
    counts_file: Annotated[Path | None, typer.Argument(help="JSON with n_total, n_wrong, verdict_counts (optional).")] = None,
    n_total: Annotated[int | None, typer.Option("--n-total", help="Items evaluated.")] = None,
    n_wrong: Annotated[int | None, typer.Option("--n-wrong", help="Wrong items.")] = None,
    count: Annotated[list[str] | None, typer.Option("--count", help="CHANNEL=N, repeatable (e.g. A_truncated=17).")] = None,
    lottery_rate: Annotated[float | None, typer.Option("--lottery-rate", help="Self-consistency lottery rate.")] = None,
    alpha_threshold: Annotated[float, typer.Option("--alpha-threshold")] = 0.15,
    beta_threshold: Annotated[float, typer.Option("--beta-threshold")] = 0.30,
    fmt: FormatOpt = OutputFormat.text,
) -> None:
    """T0v2 triage aggregate: first-class failure rate and the alpha/beta/gamma decision."""
    from engine.errors import InputError, UsageError
    from engine.stats.t0v2 import T0v2Thresholds, aggregate

    counts: dict[str, int] = {}
    if counts_file is not None:
        try:
            doc = json.loads(counts_file.read_text(encoding="utf-8-sig"))
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(f"cannot read counts: {exc}", path=str(counts_file)) from None
        if not isinstance(doc, dict) or not isinstance(doc.get("verdict_counts"), dict):
            raise InputError("expected an object with n_total, n_wrong and verdict_counts", path=str(counts_file))
        counts.update(doc["verdict_counts"])
        n_total = doc.get("n_total") if n_total is None else n_total
        n_wrong = doc.get("n_wrong") if n_wrong is None else n_wrong
        lottery_rate = doc.get("lottery_rate") if lottery_rate is None else lottery_rate
    for item in count or []:
        name, sep, value = item.partition("=")
        if not sep or not value.strip().lstrip("-").isdigit():
            raise UsageError(f"--count expects CHANNEL=N, got {item!r}")
        counts[name.strip()] = int(value)
    if not isinstance(n_total, int) or not isinstance(n_wrong, int):
        raise UsageError("give --n-total and --n-wrong (or a counts file holding them)")
    try:
        result = aggregate(n_total, n_wrong, counts, lottery_rate, T0v2Thresholds(alpha_threshold, beta_threshold))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if fmt is OutputFormat.json:
        emit_json(result)
    else:
        d = result["decision_v2"]
        typer.echo(f"first-class {result['n_first_class']} of {n_total} ({result['first_class_rate_of_total']:.1%} "
                   f"of all, {result['first_class_rate_of_wrong']:.1%} of wrong)")
        typer.echo(f"case {d['case']}: {d['action']}")


@app.command("conformal")
def _conformal(
    calibration: Annotated[Path, typer.Argument(help="Calibration errors: JSON array, {\"errors\": [...]}, or JSONL/lines.")],
    prediction: Annotated[float, typer.Option("--prediction", help="Point prediction to put the interval around.")],
    alpha: Annotated[float, typer.Option("--alpha", help="Miscoverage level (0.1 gives a 90% interval).")] = 0.10,
    field: Annotated[str, typer.Option("--field", help="Field of JSONL objects holding the error.")] = "error",
    fmt: FormatOpt = OutputFormat.text,
) -> None:
    """Split-conformal interval: prediction ± the (1-alpha) quantile of absolute calibration errors."""
    from engine.errors import UsageError
    from engine.stats.evallog import read_numbers
    from engine.stats.intervals import split_conformal

    errors = read_numbers(calibration, field)
    try:
        ci = split_conformal(errors, prediction, alpha)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if fmt is OutputFormat.json:
        emit_json(ci.as_dict())
    else:
        typer.echo(f"[{ci.lower:.6g}, {ci.upper:.6g}]  width {ci.width:.6g}, n {ci.n}, level {ci.level:.4g}")


# <<commands: stats>>

class ContaminationRule(StrEnum):
    jaccard = "jaccard"
    containment = "containment"
    any = "any"


@app.command("contamination")
def contamination_cmd(
    train: Annotated[list[Path], typer.Option("--train", help="Training records (files, dirs, globs; repeatable).")],
    test: Annotated[list[Path], typer.Option("--test", help="Eval items (files, dirs, globs; repeatable).")],
    text_field: Annotated[str | None, typer.Option(help="Text field (default: text, else final_answer, else last assistant message).")] = None,
    id_field: Annotated[str | None, typer.Option(help="Id field (default: id, else source:line).")] = None,
    threshold: Annotated[float, typer.Option(help="Token n-gram Jaccard flag threshold.")] = 0.2,
    char_threshold: Annotated[float, typer.Option(help="Char n-gram (n=5..10) Jaccard flag threshold.")] = 0.7,
    containment_threshold: Annotated[float, typer.Option(help="Flag when this share of an eval item's n-grams is in the text.")] = 0.5,
    rule: Annotated[ContaminationRule, typer.Option(help="jaccard (the original), containment, or any (either).")] = ContaminationRule.any,
    ngram: Annotated[int, typer.Option(help="Token n-gram size.")] = 8,
    out: Annotated[Path | None, typer.Option("--out", help="Write flagged training records here (.jsonl or .parquet).")] = None,
    fmt: FormatOpt = OutputFormat.text,
) -> None:
    """Exact n-gram contamination between training texts and eval items (Jaccard, containment, 13-gram hits)."""
    from engine.contamination.config import ContaminationConfig, Rule
    from engine.contamination.run import run_contamination

    cfg = ContaminationConfig(ngram=ngram, threshold=threshold, char_threshold=char_threshold,
                              containment_threshold=containment_threshold, rule=Rule(rule.value))
    show = fmt is OutputFormat.text
    if show:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        with Progress("scoring", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=stderr_console(), transient=True) as bar:
            task = bar.add_task("scoring", total=None)
            report = run_contamination([str(p) for p in train], [str(p) for p in test], cfg, text_field=text_field,
                                       id_field=id_field, out=out,
                                       progress=lambda done, total: bar.update(task, completed=done, total=total))
    else:
        report = run_contamination([str(p) for p in train], [str(p) for p in test], cfg, text_field=text_field,
                                   id_field=id_field, out=out)
    s = report.summary
    if fmt is OutputFormat.json:
        emit_json(s)
        return
    con = stdout_console()
    con.print(f"training {s['n_training']:,}  eval {s['n_eval']:,}  flagged {s['n_flagged']:,} "
              f"({s['flag_rate']:.4%}) rule={s['rule']}")
    con.print(f"  by jaccard (token >= {s['threshold']}, char >= {s['char_threshold']}): {s['n_flagged_jaccard']:,}; "
              f"by containment (>= {s['containment_threshold']}): {s['n_flagged_containment']:,}; "
              f"any 13-gram hit: {s['n_any_13gram_hit']:,}")
    if s["n_missing_text_training"] or s["n_missing_text_eval"]:
        con.print(f"  records without a text field (scored as empty): training {s['n_missing_text_training']:,}, "
                  f"eval {s['n_missing_text_eval']:,}")
    if s["n_quarantined_training"] or s["n_quarantined_eval"]:
        con.print(f"  quarantined lines (not JSON objects): training {s['n_quarantined_training']:,}, "
                  f"eval {s['n_quarantined_eval']:,}")
    top = report.result.flagged().sort("containment", "token_jaccard", descending=True).head(10)
    for row in top.iter_rows(named=True):  # at most 10 rows, for display
        cj = "-" if row["char_jaccard"] is None else f"{row['char_jaccard']:.4f}"
        con.print(f"  {row['train_id']} ~ {row['best_eval_id']}: containment {row['containment']:.3f}, "
                  f"token {row['token_jaccard']:.4f}, char {cj}, shared {row['shared_ngrams']}")
    if out is not None:
        con.print(f"flagged rows written to {out}")


# <<commands: contamination>>

class ExportFormat(StrEnum):
    jsonl = "jsonl"
    parquet = "parquet"


def _parse_size(text: str) -> int:
    """'500MB', '2GB', '1048576' → bytes."""
    from engine.errors import UsageError

    units = {"kb": 1024, "mb": 1024**2, "gb": 1024**3, "b": 1}
    t = text.strip().lower()
    for suffix, mult in units.items():
        if t.endswith(suffix) and t[: -len(suffix)].strip().replace(".", "", 1).isdigit():
            return int(float(t[: -len(suffix)]) * mult)
    if t.isdigit():
        return int(t)
    raise UsageError(f"cannot read size {text!r}", hint="use e.g. 500MB or 2GB")


@app.command("export")
def export_cmd(
    out_dir: Annotated[Path, typer.Option("--out-dir", "-o", help="Folder for the training files, quarantine, card and manifest.")],
    rollout: Annotated[list[str] | None, typer.Option("--rollout", help="rollout-wire/v1 files, folders or globs (repeatable).")] = None,
    compliance: Annotated[list[str] | None, typer.Option("--compliance", help="compliance-eval-record/v1 files (repeatable).")] = None,
    aep: Annotated[list[str] | None, typer.Option("--aep", help="AEP evidence: admission scores, router records (repeatable).")] = None,
    eval_items: Annotated[list[str] | None, typer.Option("--eval-items", help="Eval items; contaminated records are quarantined.")] = None,
    export_format: Annotated[ExportFormat, typer.Option("--format", help="Training file format.")] = ExportFormat.jsonl,
    include_failing: Annotated[bool, typer.Option("--include-failing", help="SFT also from failing branches.")] = False,
    max_pairs_per_task: Annotated[int, typer.Option("--max-pairs-per-task", min=1, help="DPO pairs per rollout (1 = the original).")] = 1,
    contamination_threshold: Annotated[float, typer.Option(help="Token 8-gram Jaccard flag threshold.")] = 0.2,
    containment_threshold: Annotated[float, typer.Option(help="Eval 8-gram containment flag threshold.")] = 0.5,
    min_admission: Annotated[float | None, typer.Option("--min-admission", help="Quarantine rows whose AEP run scores below this.")] = None,
    redact: Annotated[bool, typer.Option("--redact/--no-redact", help="Scrub secrets and personal data from text.")] = True,
    hf_layout: Annotated[bool, typer.Option("--hf-layout", help="Hub layout: data/{config}/train-*.parquet + README configs.")] = False,
    max_shard_size: Annotated[str, typer.Option("--max-shard-size", help="Largest Parquet shard with --hf-layout.")] = "500MB",
    legacy_records: Annotated[bool, typer.Option("--legacy-records", help="Also write the original sft/v1, dpo/v1, ppo/v1 records.")] = False,
    configs: Annotated[str, typer.Option("--configs", help="Comma-separated outputs among sft,dpo,ppo.")] = "sft,dpo,ppo",
    license_id: Annotated[str, typer.Option("--license", help="License declared in the dataset card.")] = "apache-2.0",
    fmt: Annotated[OutputFormat, typer.Option("--report", help="Report as text or json on stdout.")] = OutputFormat.text,
) -> None:
    """Export rollouts to SFT / DPO / PPO training data with lineage; failing records go to quarantine."""
    from engine.errors import UsageError
    from engine.export.pipeline import ALL_CONFIGS, ExportOptions, run_export

    if not (rollout or compliance or aep):
        raise UsageError("nothing to export", hint="give --rollout, --compliance or --aep")
    chosen = tuple(c.strip() for c in configs.split(",") if c.strip())
    bad = [c for c in chosen if c not in ALL_CONFIGS]
    if bad:
        raise UsageError(f"unknown config {bad[0]!r}", hint="choose among sft, dpo, ppo")
    if min_admission is not None and not aep:
        raise UsageError("--min-admission needs --aep evidence")
    opts = ExportOptions(
        out_dir=out_dir, rollout=tuple(rollout or ()), compliance=tuple(compliance or ()), aep=tuple(aep or ()),
        eval_items=tuple(eval_items or ()), fmt=export_format.value, configs=chosen,  # type: ignore[arg-type]
        include_failing=include_failing, max_pairs_per_task=max_pairs_per_task,
        contamination_threshold=contamination_threshold, containment_threshold=containment_threshold,
        min_admission=min_admission, redact=redact, hf_layout=hf_layout, max_shard_bytes=_parse_size(max_shard_size),
        legacy_records=legacy_records, license=license_id)
    show = fmt is OutputFormat.text and sys.stderr.isatty()
    if show:
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                      console=stderr_console(), transient=True) as bar:
            task = bar.add_task("export", total=None)
            result = run_export(opts, stage=lambda s: bar.update(task, description=s))
    else:
        result = run_export(opts)
    if fmt is OutputFormat.json:
        emit_json(result.summary())
        return
    from rich.table import Table

    table = Table(title=f"export → {out_dir}")
    for col in ("file", "rows", "bytes"):
        table.add_column(col, justify="left" if col == "file" else "right")
    for f in result.files:
        table.add_row(f.path, str(f.rows), str(f.bytes))
    console = stdout_console()
    console.print(table)
    c = result.counts
    console.print(f"input {c['input_records']} = exported {c['exported']} + quarantined {c['quarantined']} "
                  f"+ not selected {c['not_selected']}")
    for reason, n in result.quarantined_by_reason.items():
        console.print(f"  quarantine: {reason}: {n}")


@app.command("push")
def push_cmd(
    directory: Annotated[Path, typer.Argument(help="An export folder (engine export --hf-layout).")],
    repo_id: Annotated[str, typer.Option("--repo-id", help="Dataset repo ORG/NAME.")],
    private: Annotated[bool, typer.Option("--private", help="Create the repo private.")] = False,
    revision: Annotated[str | None, typer.Option("--revision", help="Branch to commit to.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would be sent; no network.")] = False,
    token: Annotated[str | None, typer.Option("--token", help="Hub token (default: HF_TOKEN or the login cache).")] = None,
    fmt: FormatOpt = OutputFormat.text,
) -> None:
    """Upload an export folder to the Hugging Face Hub as a dataset, in one commit."""
    from engine.export.hf import plan_upload, push

    if dry_run:
        planned = plan_upload(directory)
        report = {"repo_id": repo_id, "dry_run": True, "files": [{"path": f.path, "bytes": f.bytes} for f in planned],
                  "total_bytes": sum(f.bytes for f in planned)}
        if fmt is OutputFormat.json:
            emit_json(report)
        else:
            for f in planned:
                typer.echo(f"{f.bytes:>14}  {f.path}")
            typer.echo(f"{report['total_bytes']:>14}  total, {len(planned)} files → {repo_id} (dry run, nothing sent)")
        return
    done = push(directory, repo_id, private=private, revision=revision, token=token)
    if fmt is OutputFormat.json:
        emit_json(done)
    else:
        typer.echo(f"uploaded {len(done['files'])} files to {repo_id}: {done['commit_url']}")  # type: ignore[arg-type]


# <<commands: export>>

# ----------------------------------------------------------------------------------------------
# authenticity: verify, sign, keygen, registry, receipt
# ----------------------------------------------------------------------------------------------

KeysOpt = Annotated[Path | None, typer.Option("--keys", help="Directory of <keyid>.pub files (hex or base64); "
                                              "env WASMAGENT_AEP_PUBKEY_<ID> also works.")]


@app.command("verify")
def _verify(
    paths: Annotated[list[Path], typer.Argument(help="Record files/directories/globs, and run receipts.")],
    keys: KeysOpt = None,
    legacy: Annotated[bool, typer.Option("--legacy", help="Also verify the original inline `signature` block.")] = False,
    require_signed: Annotated[bool, typer.Option(help="Fail on unsigned records too.")] = False,
    require_intact: Annotated[bool, typer.Option(help="Fail unless every run's chain is intact.")] = False,
    chain_across_files: Annotated[bool, typer.Option(help="Follow a run_id's chain across files "
                                                     "(default: a run is one run_id within one file).")] = False,
    jobs: Annotated[int | None, typer.Option(help="Worker processes for signature checks (default: cores).")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write per-record verdicts here (.jsonl or .parquet).")] = None,
    summary_only: Annotated[bool, typer.Option(help="JSON: omit the per-record list.")] = False,
    show: Annotated[int, typer.Option(help="Text: how many failing records to list.")] = 20,
    fmt: FormatOpt = OutputFormat.text,
) -> None:
    """Verify DSSE signatures and prev_record_hash chains per record (and run receipts). Exit 1 on failures."""
    from engine.authenticity.verify import VerifyOptions, verify_paths

    opts = VerifyOptions(keys_dir=keys, legacy=legacy, jobs=jobs, require_signed=require_signed,
                         require_intact=require_intact, chain_across_files=chain_across_files)
    if fmt is OutputFormat.text:
        with stderr_console().status("verifying signatures and chains ..."):
            result = verify_paths([str(p) for p in paths], opts)
    else:
        result = verify_paths([str(p) for p in paths], opts)
    if out is not None:
        _auth_write_frame(result.verdicts, out)
    summary = result.summary()
    if fmt is OutputFormat.json:
        doc: dict[str, Any] = {"summary": summary, "receipts": result.receipts}
        if not summary_only:
            doc["records"] = result.verdicts.to_dicts()
        emit_json(doc)
    else:
        _auth_render_verify(result, summary, show)
    if not summary["ok"]:
        raise typer.Exit(1)


def _auth_write_frame(frame: Any, out: Path) -> None:
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".parquet":
        frame.write_parquet(tmp)
    else:
        frame.write_ndjson(tmp)
    os.replace(tmp, out)


def _auth_render_verify(result: Any, summary: dict[str, Any], show: int) -> None:
    from rich.table import Table

    con = stdout_console()
    con.print(f"[bold]{summary['records']}[/] records   authenticity: "
              + ", ".join(f"{k} {v}" for k, v in summary["authenticity"].items())
              + "   chain: " + ", ".join(f"{k} {v}" for k, v in summary["chain"].items())
              + (f"   [red]unreadable lines {summary['quarantined']}[/]" if summary["quarantined"] else ""))
    failing = result.failing()
    if failing.height:
        table = Table("source:line", "run_id", "authenticity", "chain", "reason", title=f"{failing.height} failing")
        for row in failing.head(show).iter_rows(named=True):
            reasons = [row["authenticity_reason"] or ("not signed" if row["authenticity"] == "unsigned" else None),
                       row["chain_reason"] if row["chain"] not in ("intact", "not-present") else None]
            table.add_row(f"{row['source']}:{row['line']}", str(row["run_id"]), row["authenticity"], row["chain"],
                          "; ".join(r for r in reasons if r))
        con.print(table)
    for r in result.receipts:
        mark = "[green]ok[/]" if r["ok"] else "[red]FAIL[/]"
        con.print(f"receipt {r['run_id']} ({r['source']}): {mark} digest {r['digest']}, {r['authenticity']}"
                  + (f" - {r['reason']}" if r["reason"] else ""))
    bad_receipts = summary["receipts"]["total"] - summary["receipts"]["ok"]
    con.print("[green]verified[/]" if summary["ok"] else
              f"[red]{summary['failing']} failing record(s), {bad_receipts} failing receipt(s), "
              f"{summary['quarantined']} unreadable line(s)[/]")


@app.command("sign")
def _sign(
    paths: Annotated[list[Path], typer.Argument(help="Record files to sign.")],
    key: Annotated[Path, typer.Option("--key", help="Ed25519 private key file (from `engine keygen`).")],
    out: Annotated[Path, typer.Option("--out", help="Signed JSONL output (written atomically).")],
    key_id: Annotated[str | None, typer.Option("--key-id", help="Key id in the envelope (default: key file stem).")] = None,
    chain: Annotated[bool, typer.Option("--chain", help="Set prev_record_hash per run before signing.")] = False,
    jobs: Annotated[int | None, typer.Option(help="Worker processes for signing (default: cores).")] = None,
    fmt: FormatOpt = OutputFormat.text,
) -> None:
    """Add a DSSE envelope (profile aep-dsse-ed25519-decoded-body-v1) to every record."""
    from engine.authenticity.sign import sign_paths

    report = sign_paths([str(p) for p in paths], key, key_id or key.stem, out, chain=chain, jobs=jobs)
    doc = {"signed": report.signed, "out": report.out, "key_id": key_id or key.stem, "chain": chain,
           "skipped": [{"source": s, "line": n, "reason": r} for s, n, r in report.skipped]}
    if fmt is OutputFormat.json:
        emit_json(doc)
    else:
        stdout_console().print(f"signed {report.signed} record(s) -> {report.out}"
                               + (f"; skipped {len(report.skipped)}" if report.skipped else ""))
        for s, n, r in report.skipped[:20]:
            stderr_console().print(f"  skipped {s}:{n}: {r}")


@app.command("keygen")
def _keygen(
    key_id: Annotated[str, typer.Option("--key-id", help="Key id (file stem of the key files).")],
    out: Annotated[Path, typer.Option("--out", help="Directory for <key-id>.key (0600) and <key-id>.pub.")],
    force: Annotated[bool, typer.Option(help="Replace existing key files.")] = False,
    fmt: FormatOpt = OutputFormat.text,
) -> None:
    """Generate an Ed25519 key pair. The private key is written to a 0600 file and never printed."""
    from engine.authenticity.keys import generate_keypair

    priv, pub = generate_keypair(key_id, out, force=force)
    doc = {"key_id": key_id, "private_key_file": str(priv), "public_key_file": str(pub),
           "public_key_hex": pub.read_text(encoding="ascii").strip()}
    if fmt is OutputFormat.json:
        emit_json(doc)
    else:
        stdout_console().print(f"wrote {priv} (private, mode 0600) and {pub} (public {doc['public_key_hex']})")


registry_app = typer.Typer(help="Tamper-evident evidence registry: hash-chained events, signed index.",
                           no_args_is_help=True)
app.add_typer(registry_app, name="registry")
RegistryDirOpt = Annotated[Path, typer.Option("--registry-dir", help="Registry directory.")]


@registry_app.command("register")
def _registry_register(
    entry_id: Annotated[str, typer.Option("--id", help="Entry id.")],
    entry_type: Annotated[str, typer.Option("--type", help="policy_bundle, verifier, benchmark_task, receipt, "
                                            "model_profile, router_profile, dataset_card or aep_schema.")],
    version: Annotated[str, typer.Option("--version", help="Entry version.")],
    key: Annotated[Path, typer.Option("--key", help="Ed25519 private key that signs the index.")],
    registry_dir: RegistryDirOpt = Path("registry"),
    key_id: Annotated[str | None, typer.Option("--key-id", help="Default: key file stem.")] = None,
    artifact: Annotated[Path | None, typer.Option("--artifact", help="File whose SHA-256 is recorded.")] = None,
    meta: Annotated[list[str] | None, typer.Option("--meta", help="K=V metadata (repeatable).")] = None,
    fmt: FormatOpt = OutputFormat.text,
) -> None:
    """Register (or update) an entry: appends a hash-chained event and re-signs the index atomically."""
    from engine.authenticity.registry import register
    from engine.errors import UsageError

    metadata: dict[str, str] = {}
    for item in meta or []:
        if "=" not in item:
            raise UsageError(f"--meta expects K=V, got {item!r}")
        k, v = item.split("=", 1)
        metadata[k] = v
    entry = register(registry_dir, entry_id=entry_id, entry_type=entry_type, version=version, key_path=key,
                     key_id=key_id or key.stem, artifact=artifact, metadata=metadata)
    if fmt is OutputFormat.json:
        emit_json(entry)
    else:
        stdout_console().print(f"registered {entry_id!r} version {version} in {registry_dir}")


@registry_app.command("list")
def _registry_list(
    registry_dir: RegistryDirOpt = Path("registry"),
    entry_type: Annotated[str | None, typer.Option("--type", help="Only this entry type.")] = None,
    fmt: FormatOpt = OutputFormat.text,
) -> None:
    """List entries of the index (run `verify` to check them)."""
    from engine.authenticity.registry import list_entries

    entries = list_entries(registry_dir, entry_type)
    if fmt is OutputFormat.json:
        emit_json(entries)
        return
    from rich.table import Table

    table = Table("id", "type", "version", "digest", "registered_at")
    for e in entries:
        table.add_row(str(e.get("id")), str(e.get("entry_type")), str(e.get("version")),
                      str(e.get("digest", ""))[:16], str(e.get("registered_at")))
    stdout_console().print(table)


@registry_app.command("verify")
def _registry_verify(
    registry_dir: RegistryDirOpt = Path("registry"),
    keys: KeysOpt = None,
    allow_unsigned: Annotated[bool, typer.Option(help="Accept a registry without index.sig.")] = False,
    fmt: FormatOpt = OutputFormat.text,
) -> None:
    """Check event hashes and links, the index signature, full-entry replay and artifact digests. Exit 1 on problems."""
    from engine.authenticity.registry import verify_registry
    from engine.authenticity.verify import keyring_for

    report = verify_registry(registry_dir, keyring_for(keys), allow_unsigned=allow_unsigned)
    if fmt is OutputFormat.json:
        emit_json(report.to_dict())
    else:
        con = stdout_console()
        con.print(f"{report.events} events, {report.entries} entries, {report.artifacts_checked} artifacts checked,"
                  f" signed by {report.signed_by or '-'}")
        for p in report.problems:
            con.print(f"[red]FAIL[/] {p.text()}")
        con.print("[green]registry verified[/]" if report.ok else f"[red]{len(report.problems)} problem(s)[/]")
    if not report.ok:
        raise typer.Exit(1)


@registry_app.command("log")
def _registry_log(
    registry_dir: RegistryDirOpt = Path("registry"),
    fmt: FormatOpt = OutputFormat.text,
) -> None:
    """Print the event log."""
    from engine.authenticity.registry import read_log

    events = read_log(registry_dir)
    if fmt is OutputFormat.json:
        emit_json(events)
        return
    con = stdout_console()
    for ev in events:
        entry = ev.get("entry") or {}
        con.print(f"{ev.get('seq')}\t{ev.get('ts')}\t{ev.get('event')}\t{entry.get('id')}\t{entry.get('version', '')}"
                  f"\t{str(ev.get('event_hash'))[:16]}")


@app.command("receipt")
def _receipt(
    run_id: Annotated[str, typer.Option("--run-id", help="Run id the receipt is for.")],
    inputs: Annotated[list[str] | None, typer.Option("--input", help="Input file (repeatable; SHA-256 recorded).")] = None,
    outputs: Annotated[list[str] | None, typer.Option("--output", help="Output file (repeatable).")] = None,
    models: Annotated[list[str] | None, typer.Option("--model", help="Model id (repeatable, deduplicated).")] = None,
    operator: Annotated[str, typer.Option(help="Who ran it.")] = "ci",
    policy_bundle_digest: Annotated[str, typer.Option(help="Digest of the policy bundle used.")] = "",
    notes: Annotated[str, typer.Option(help="Free text.")] = "",
    key: Annotated[Path | None, typer.Option("--key", help="Sign the receipt (DSSE) with this private key.")] = None,
    key_id: Annotated[str | None, typer.Option("--key-id", help="Default: key file stem.")] = None,
    save: Annotated[Path | None, typer.Option("--save", help="Write the receipt here instead of stdout.")] = None,
) -> None:
    """Build a run receipt with its SHA-256 `receipt_digest` and, with --key, a DSSE signature."""
    from engine.authenticity.receipt import build_receipt, save_receipt

    receipt = build_receipt(run_id, inputs=inputs or [], outputs=outputs or [], model_ids=models or [],
                            operator=operator, policy_bundle_digest=policy_bundle_digest, notes=notes,
                            key_path=key, key_id=key_id)
    if save is None:
        emit_json(receipt)
    else:
        save_receipt(receipt, save)
        stderr_console().print(f"receipt saved to {save} (digest {receipt['receipt_digest'][:16]}...)")


# <<commands: authenticity>>

# ----------------------------------------------------------------------------------------------
# importers: engine import SOURCE (engine/importers; SPEC §12)
# ----------------------------------------------------------------------------------------------


@app.command("import")
def import_cmd(
    source: Annotated[str, typer.Argument(help="otel, openai-agents, langsmith, adk, ms-agent, a2a, bfcl, tau-bench, mcp-atlas, terminal-bench, tool-sandbox or agent-harm.")],
    paths: Annotated[list[Path], typer.Argument(help="Source files, directories or globs (.jsonl, .json, .gz, .zst, .parquet).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output JSONL; bad source records go to OUT.quarantine.jsonl.")],
    record_format: Annotated[str | None, typer.Option("--format", help="Records to emit: aep or rollout (default: the source's native one). `json`/`text` select the summary, like --report.")] = None,
    report: Annotated[OutputFormat, typer.Option("--report", help="Summary as text or json on stdout.")] = OutputFormat.text,
) -> None:
    """Import traces from the agent ecosystem as AEP evidence or rollout-wire records.

    OpenTelemetry GenAI spans (OTLP/JSON or span-per-line; gen_ai.* and OpenInference) become one
    AEP run per trace; agent frameworks (OpenAI Agents SDK, LangSmith, Google ADK, MS Agent
    Framework, A2A) become AEP runs; benchmarks (BFCL, tau-bench, MCP-Atlas, Terminal-Bench,
    ToolSandbox, AgentHarm) become rollouts with ToolCallEntry tool calls (or AEP). Every emitted
    record validates; records missing a required key are quarantined with their line.
    """
    from engine.importers import import_paths

    fmt = report
    if record_format in ("json", "text"):
        fmt, record_format = OutputFormat(record_format), None
    show = fmt is OutputFormat.text and sys.stderr.isatty()
    if show:
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                      console=stderr_console(), transient=True) as bar:
            bar.add_task(f"importing {source}", total=None)
            summary = import_paths(source, [str(p) for p in paths], out, record_format)
    else:
        summary = import_paths(source, [str(p) for p in paths], out, record_format)
    if fmt is OutputFormat.json:
        emit_json(summary.as_dict())
        return
    console = stdout_console()
    console.print(f"{summary.source} → {summary.out} ({summary.format}): {summary.records_written} records written")
    console.print(f"read {summary.records_read} = imported {summary.imported} + quarantined {summary.quarantined}")
    for reason, n in summary.quarantined_by_reason.items():
        console.print(f"  quarantine: {reason}: {n}", emoji=False, markup=False)
    if summary.quarantined:
        console.print(f"quarantine file: {summary.quarantine_file}")


# <<commands: importers>>

# ----------------------------------------------------------------------------------------------
# agent-training data products (engine/products)
# ----------------------------------------------------------------------------------------------


def _products_stage(what: str) -> Any:
    """A rich spinner naming the current stage on an interactive stderr; silent otherwise."""
    import contextlib

    if not sys.stderr.isatty():
        return contextlib.nullcontext()
    return stderr_console().status(what)


def _products_rollouts(paths: list[Path]) -> Any:
    from engine.products.calls import load_rollouts

    with _products_stage("reading rollouts and resolving tool calls ..."):
        return load_rollouts([str(p) for p in paths])


def _products_done(what: str, n: int, out: Path | None, rollouts: Any, fmt: OutputFormat) -> None:
    """Report what was written; lines that gave no branch go to `<out>.quarantine.jsonl` (or are counted on stderr)."""
    from engine.products.calls import dropped

    bad = dropped(rollouts)
    qfile = out.with_name(out.name + ".quarantine.jsonl") if out is not None and bad.height else None
    if qfile is not None:
        from engine.products.output import write_rows

        write_rows(bad, qfile)
    # every line in the quarantine file is counted once: unreadable (not a JSON object) or rejected
    # (a record that gave no usable branch); quarantined = unreadable + rejected
    not_json = int((rollouts.rejected.get_column("reason") == "invalid JSON").sum())
    summary = {"records": n, "out": str(out) if out else None, "branches": rollouts.branches.height,
               "rejected": rollouts.rejected.height - not_json,
               "unreadable": rollouts.quarantine.height + not_json, "quarantined": bad.height,
               "tree_records_skipped": rollouts.n_tree_records, "quarantine_file": str(qfile) if qfile else None}
    if fmt is OutputFormat.json and out is not None:
        emit_json(summary)
    elif out is not None:
        stderr_console().print(f"[ok] wrote {n} {what} to {out}", markup=False, emoji=False)
    if bad.height:
        where = f" → {qfile}" if qfile else ""
        stderr_console().print(f"[warn] {bad.height} input line(s) gave no rollout branch (skipped){where}",
                               markup=False, emoji=False)


RolloutPaths = Annotated[list[Path], typer.Argument(help="Rollout-wire files, directories or globs (either tool-call shape).")]
ProductOut = Annotated[Path | None, typer.Option("--out", "-o", help="Output file (.jsonl, or .parquet where noted); default: JSON lines on stdout.")]


@app.command("rl-export")
def _rl_export(
    paths: RolloutPaths,
    reward: Annotated[str, typer.Option("--reward", help="Reward dimensions, comma-separated: build, visual, policy, cost.")] = "build,policy,cost",
    out: ProductOut = None,
    fmt: FormatOpt = OutputFormat.text,
) -> None:
    """RL transitions: one per tool call plus a terminal one carrying the reward (build/visual/policy/cost)."""
    from engine.products.output import write_rows
    from engine.products.rl import parse_dims, transitions

    dims = parse_dims(reward)
    rollouts = _products_rollouts(paths)
    with _products_stage(f"building and writing RL transitions for {rollouts.branches.height:,} branches ..."):
        rows = transitions(rollouts, dims)
        write_rows(rows, out)
    _products_done("RL transitions", rows.height, out, rollouts, fmt)


class AdpLayout(StrEnum):
    steps = "steps"
    trajectory = "trajectory"


@app.command("adp-export")
def _adp_export(
    paths: RolloutPaths,
    layout: Annotated[AdpLayout, typer.Option("--layout", help="steps: one ADP step per line (original layout); trajectory: one ADP Trajectory per episode.")] = AdpLayout.steps,
    out: ProductOut = None,
    fmt: FormatOpt = OutputFormat.text,
) -> None:
    """Agent Data Protocol episodes (one per rollout branch) as steps or ADP Trajectory records."""
    from engine.products.adp import export_adp
    from engine.products.output import write_lines

    rollouts = _products_rollouts(paths)
    with _products_stage(f"building and writing ADP {layout.value} records ..."):
        lines = export_adp(rollouts, layout.value)
        write_lines(lines, out)
    _products_done(f"ADP {layout.value} records", lines.len(), out, rollouts, fmt)


class ContextMode(StrEnum):
    long_context_qa = "long_context_qa"
    router_critic = "router_critic"


@app.command("compile-context")
def _compile_context(
    paths: RolloutPaths,
    mode: Annotated[ContextMode, typer.Option("--mode", help="long_context_qa (passing branches) or router_critic (one record per step).")] = ContextMode.long_context_qa,
    min_tool_calls: Annotated[int, typer.Option("--min-tool-calls", min=0, help="Skip branches with fewer tool calls.")] = 1,
    out: ProductOut = None,
    fmt: FormatOpt = OutputFormat.text,
) -> None:
    """Compile rollouts into long-context QA or router-critic training records."""
    from engine.products.context import compile_context
    from engine.products.output import write_rows

    rollouts = _products_rollouts(paths)
    with _products_stage(f"compiling {mode.value} records ..."):
        rows = compile_context(rollouts, mode.value, min_tool_calls)
        write_rows(rows, out)
    _products_done(f"{mode.value} records", rows.height, out, rollouts, fmt)


@app.command("router")
def _router(
    paths: Annotated[list[Path], typer.Argument(help="RouterRecord, AEP or TaskSpec files (mixed is fine).")],
    evals: Annotated[list[Path] | None, typer.Option("--evals", help="EvalRecord files for TaskSpec inputs (repeatable).")] = None,
    max_repair_rounds: Annotated[int, typer.Option(help="More repair rounds → need_large_model.")] = 3,
    max_violations: Annotated[int, typer.Option(help="More violations → need_large_model.")] = 3,
    min_tool_validity: Annotated[float, typer.Option(help="Lower tool validity (with calls) → need_repair.")] = 0.8,
    max_latency_ms: Annotated[float, typer.Option(help="Higher latency → need_large_model.")] = 30000.0,
    hard_constraint_limit: Annotated[int, typer.Option(help="More hard constraints → need_large_model.")] = 10,
    features_out: Annotated[Path | None, typer.Option("--features-out", help="Write features + labels + predictions (.jsonl or .parquet).")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the evaluation JSON (with predictions) here.")] = None,
    fmt: FormatOpt = OutputFormat.text,
) -> None:
    """Router features and labels, the rule classifier and its evaluation (confusion matrix, tp/fp/fn, accuracy)."""
    from engine.products import router as r
    from engine.products.output import write_rows

    t = r.Thresholds(max_repair_rounds, max_violations, min_tool_validity, max_latency_ms, hard_constraint_limit)
    predicted = r.classify(r.router_inputs([str(p) for p in paths], [str(p) for p in evals or []]), t)
    summary = r.evaluate(predicted)
    if features_out is not None:
        write_rows(predicted, features_out)
    if out is not None:
        from engine.export.writers import write_bytes_atomic

        full = {**summary, "predictions": r.predictions(predicted).to_dicts()}
        write_bytes_atomic(out, (json.dumps(full, indent=2, ensure_ascii=False) + "\n").encode())
    if fmt is OutputFormat.json:
        emit_json(summary)
        return
    con = stdout_console()
    con.print(f"router: n={summary['n']} correct={summary['n_correct']} accuracy={summary['accuracy']:.4f} "
              f"(unlabelled {summary['n_unlabelled']})", markup=False)
    labels = summary["confusion_matrix"]["labels"]
    con.print("true \\ predicted: " + " | ".join(labels), markup=False)
    for lab, row in zip(labels, summary["confusion_matrix"]["matrix"], strict=True):
        con.print(f"  {lab}: {row}", markup=False)
    for lab, c in summary["per_label"].items():
        con.print(f"  {lab}: tp={c['tp']} fp={c['fp']} fn={c['fn']}", markup=False)


@app.command("replay")
def _replay(
    paths: Annotated[list[Path], typer.Argument(help="AEP files (one run per record).")],
    debug_action: Annotated[str | None, typer.Option("--debug-action", help="Debug mode on the first run: stop before this action id (or at the first mismatch).")] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Debug mode on the first run, stopping at the first mismatch.")] = False,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the JSON report here instead of stdout.")] = None,
) -> None:
    """Replay recorded AEP runs: determinism score per run, first-pair regression, or a debug stop."""
    from engine.errors import InputError
    from engine.io import load_records
    from engine.products.replay import debug_run, score_runs

    loaded = load_records([str(p) for p in paths])
    if loaded.quarantine.height:
        stderr_console().print(f"[warn] skipped {loaded.quarantine.height} malformed line(s)", markup=False)
    raws = loaded.records.get_column("raw").to_list()
    if not raws:
        raise InputError("no records to replay", path=str(paths[0]))
    records = [json.loads(r) for r in raws]  # a run replays sequentially; records are few and independent
    report = debug_run(records[0], debug_action) if (debug or debug_action) else score_runs(records)
    text = json.dumps(report, indent=2, ensure_ascii=False)
    if out is None:
        sys.stdout.write(text + "\n")
    else:
        from engine.export.writers import write_bytes_atomic

        write_bytes_atomic(out, (text + "\n").encode())


@app.command("stream-eval")
def _stream_eval(
    source: Annotated[str, typer.Argument(help="AEP JSON-lines file, or - for stdin (read as it arrives).")] = "-",
    no_admission: Annotated[bool, typer.Option("--no-admission", help="Skip the admission score.")] = False,
    require_signature: Annotated[bool, typer.Option("--require-signature", help="Reject records whose DSSE envelope or inline signature does not verify.")] = False,
    keys: Annotated[Path | None, typer.Option("--keys", help="Directory of <key_id>.pub files (env WASMAGENT_AEP_PUBKEY_<ID> also works).")] = None,
    max_hard_per_subject: Annotated[int, typer.Option(help="Hard violations a subject may have before every later record is flagged.")] = 3,
    fail_under: Annotated[float, typer.Option("--fail-under", help="Exit 1 if passed/ingested is below this.")] = 0.0,
    fail_under_sla: Annotated[float, typer.Option("--fail-under-sla", help="Exit 1 if the fraction within the 1000 ms SLA is below this.")] = 0.99,
) -> None:
    """Per-record compliance verdicts for a live stream: one JSON line per record, then a stream_stats line."""
    from engine.errors import InputError
    from engine.products.stream import StreamEvaluator, StreamOptions, record_lines

    if source != "-" and not Path(source).is_file():
        raise InputError("no such file", path=source)
    ev = StreamEvaluator(StreamOptions(admission=not no_admission, max_hard_per_subject=max_hard_per_subject,
                                       require_signature=require_signature, keys_dir=str(keys) if keys else None))
    fh = sys.stdin if source == "-" else open(source, encoding="utf-8", errors="replace")  # noqa: SIM115
    try:
        for line in record_lines(fh):
            sys.stdout.write(json.dumps(ev.judge(line), ensure_ascii=False) + "\n")
            sys.stdout.flush()
    finally:
        if fh is not sys.stdin:
            fh.close()
    stats = ev.stats()
    sys.stdout.write(json.dumps({"stream_stats": stats}) + "\n")
    sys.stdout.flush()
    n = stats["ingested"]
    if (n and stats["passed"] / n < fail_under) or stats["within_sla"] < fail_under_sla:
        raise typer.Exit(1)


@app.command("lint-benchmark")
def _lint_benchmark(
    task_dir: Annotated[Path, typer.Argument(help="Benchmark task directory.")],
    fail_under: Annotated[float, typer.Option("--fail-under", help="Exit 1 if the trust score is below this.")] = 0.6,
    fmt: FormatOpt = OutputFormat.text,
) -> None:
    """Exploit-surface lint of a benchmark task directory (gold answers, writable graders/tests, .env, .git)."""
    from engine.products.linter import report

    rep = report(task_dir)
    if fmt is OutputFormat.json:
        emit_json(rep)
    else:
        con = stdout_console()
        tag = "TRUSTED" if rep["trusted"] else "UNTRUSTED"
        con.print(f"[{tag}] {task_dir}  trust_score={rep['trust_score']:.2f}", markup=False)
        for f in rep["findings"]:
            con.print(f"  [{f['severity'].upper()}] {f['check_id']}: {f['description']}  ({f['path']})", markup=False)
        if not rep["findings"]:
            con.print("  No findings.", markup=False)
    if rep["trust_score"] < fail_under:
        raise typer.Exit(1)


# <<commands: products>>

# ----------------------------------------------------------------------------------------------
# report: audit (the one-command main job) and report (render a store) (engine/report; SPEC §11)
# ----------------------------------------------------------------------------------------------


def _report_render_summary(summary: dict[str, Any], outputs: dict[str, str], reasons: list[str] | None) -> None:
    from rich.table import Table

    console = stdout_console()
    table = Table(title="audit summary", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    table.add_row("files", f"{summary['files']:,}")
    table.add_row("records", f"{summary['records']:,}")
    table.add_row("valid / invalid / quarantined lines",
                  f"{summary['valid']:,} / {summary['invalid']:,} / {summary['quarantined_lines']:,}")
    table.add_row("pass rate", f"{summary['pass_rate']:.2%}")
    adm = summary.get("admission")
    if adm:
        table.add_row("AEP admitted / scored (rejected)", f"{adm['admitted']:,} / {adm['scored']:,} ({adm['rejected']:,})")
    ver = summary.get("verifier_audit")
    if ver:
        table.add_row("verifiers (critical / high findings)", f"{ver['verifiers']:,} ({ver['critical']} / {ver['high']})")
    trust = summary.get("trust")
    if trust:
        table.add_row("trust groups by grade", ", ".join(f"{g} {n:,}" for g, n in trust["grades"].items()))
    cont = summary.get("contamination")
    if cont:
        table.add_row("contaminated training texts", f"{cont['n_flagged']:,} of {cont['n_training']:,}")
    for claim in summary.get("claims") or []:
        table.add_row(f"claim {Path(claim['log_a']).name} vs {Path(claim['log_b']).name}",
                      f"{claim['verdict']} (b={claim['b']}, c={claim['c']}, p={claim['p_value']:.4g})")
    console.print(table)
    for name, path in outputs.items():
        console.print(f"  [bold]{name:<9}[/bold] {path}")
    for reason in reasons or []:
        console.print(f"[red]fail:[/red] {reason}")


@app.command("audit")
def _audit(
    paths: Annotated[list[Path], typer.Argument(help="Files, directories or globs of AEP / rollout / compliance / eval records.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for report.md, report.html, summary.json and the store (evidence.duckdb).")] = Path("audit"),
    eval_items: Annotated[list[Path] | None, typer.Option("--eval-items", help="Eval items: score the inputs' training texts against them for contamination (repeatable).")] = None,
    claim: Annotated[tuple[Path, Path] | None, typer.Option("--claim", help="Two eval logs A B: audit the claim \"A beats B\" (paired test, truncation).")] = None,
    max_new_tokens: Annotated[int | None, typer.Option("--max-new-tokens", help="Generation cap of the --claim logs (default: their meta.max_new_tokens).")] = None,
    keys: Annotated[Path | None, typer.Option("--keys", help="Directory of <keyid>.pub verify keys for the authenticity layer.")] = None,
    verify: Annotated[bool, typer.Option("--verify", help="Run the authenticity and chain layers even when no record is signed or chained.")] = False,
    policy: Annotated[str | None, typer.Option("--policy", help="Admission policy TOML or a shipped name: default, strict.")] = None,
    kind: Annotated[str | None, typer.Option(help="Record kind for every record (default: detect from schema_version).")] = None,
    top: Annotated[int, typer.Option(help="Rows per report table (the rest are counted).")] = 20,
    fail_under: Annotated[float | None, typer.Option("--fail-under", help="Exit 1 when valid/records is below this (0..1).")] = None,
    fail_on: Annotated[list[str] | None, typer.Option("--fail-on", help="Exit 1 when any: reject (AEP scored reject), invalid, critical (verifier finding), contamination. Repeatable.")] = None,
    title: Annotated[str, typer.Option(help="Report title.")] = "Evidence audit report",
    fmt: FormatOpt = OutputFormat.text,
) -> None:
    """The main job: ingest, validate, admit, audit verifiers, score trust and write the audit report.

    Writes OUT/report.md, OUT/report.html (self-contained, charts inline), OUT/summary.json and the
    evidence store OUT/evidence.duckdb (query it with `engine sql --store OUT/evidence.duckdb`).
    With --eval-items adds contamination, with --claim A B a claim audit; signed or chained
    records get the authenticity and chain layers. Exit 0 unless --fail-under or --fail-on is hit
    (1), 2 on unusable input.
    """
    from engine.report.audit import AuditOptions, run_audit

    options = AuditOptions(
        out_dir=out, eval_items=tuple(str(p) for p in eval_items or ()),
        claims=((str(claim[0]), str(claim[1])),) if claim else (), max_new_tokens=max_new_tokens, keys_dir=keys, verify=verify, policy=policy,
        kind=kind, top=top, fail_under=fail_under, fail_on=tuple(fail_on or ()), progress=fmt is OutputFormat.text,
        title=title)
    result = run_audit([str(p) for p in paths], options)
    if fmt is OutputFormat.json:
        emit_json(result.summary)
    else:
        _report_render_summary(result.summary, result.outputs, result.reasons)
    if result.exit_code:
        raise typer.Exit(result.exit_code)


@app.command("report")
def _report(
    store: Annotated[str, typer.Option("--store", "-s", help="DuckDB store file, or a lake directory ending in /.")] = "evidence.duckdb",
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Directory for report.md, report.html, summary.json (default: beside the store).")] = None,
    top: Annotated[int, typer.Option(help="Rows per report table (the rest are counted).")] = 20,
    title: Annotated[str, typer.Option(help="Report title.")] = "Evidence audit report",
    fmt: FormatOpt = OutputFormat.text,
) -> None:
    """Render the audit report (Markdown, self-contained HTML, summary.json) from an existing store.

    Sections appear when their data exists: a store from `engine ingest` gets overview,
    validation, admission, coverage, tools and provenance; one from `engine audit` also verifier
    audit, trust scores and, when they ran, contamination, claims, authenticity and chain.
    """
    from engine.errors import UsageError
    from engine.report.render import render_store

    if top < 1:
        raise UsageError(f"--top must be at least 1, got {top}")
    target = out if out is not None else Path(store.rstrip("/")).resolve().parent
    outputs, summary = render_store(store, target, top=top, title=title)
    if fmt is OutputFormat.json:
        emit_json({**summary, "outputs": outputs})
    else:
        _report_render_summary(summary, outputs, None)


# <<commands: report>>


def main() -> None:
    """Console-script entry point: run the app, turning engine errors into one-line messages."""
    from engine.errors import EngineError

    try:
        rc = app(standalone_mode=False)
        sys.exit(rc if isinstance(rc, int) else 0)
    except EngineError as exc:
        typer.echo(f"error: {exc.one_line()}", err=True)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    except Exception as exc:  # click usage errors (typer vendors click) and genuine bugs
        code = getattr(exc, "exit_code", None)
        show = getattr(exc, "show", None)
        if callable(show) and isinstance(code, int):
            show()
            sys.exit(code)
        if os.environ.get("ENGINE_DEBUG"):
            raise
        typer.echo(f"internal error: {type(exc).__name__}: {exc} (set ENGINE_DEBUG=1 for a traceback)", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
