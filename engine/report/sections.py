"""The report's sections: each one is the result of queries in sql/report/, run against a store.

A section appears when the tables it reads exist and its first query returns data, so a
plain `engine ingest` store gets the sections it can support and `engine audit` adds the
verifier audit, trust scores, contamination, claims and authenticity tables. Tables with a
`$top` parameter return at most `top` rows plus a window column holding the full count, so a
1,000,000-record store never renders a million rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb

from engine.paths import load_sql


@dataclass(frozen=True)
class Table:
    """One query's rows. `total` is the row count before LIMIT (None when the query has no limit)."""

    query: str  # sql/report/<query>.sql
    title: str
    columns: tuple[str, ...]  # shown columns
    rows: list[tuple[Any, ...]]
    total: int | None = None

    @property
    def more(self) -> int:
        return 0 if self.total is None else max(0, self.total - len(self.rows))

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    intro: str
    tables: dict[str, Table] = field(default_factory=dict)

    def table(self, name: str) -> Table | None:
        return self.tables.get(name)


@dataclass(frozen=True)
class QuerySpec:
    name: str
    title: str
    show: tuple[str, ...] | None = None  # None: every column
    total: str | None = None  # window column holding the full row count


@dataclass(frozen=True)
class SectionSpec:
    key: str
    title: str
    intro: str
    needs: tuple[str, ...]  # tables / views that must exist
    queries: tuple[QuerySpec, ...]


SECTIONS: tuple[SectionSpec, ...] = (
    SectionSpec("overview", "Overview", "What was read: files, records, kinds, schema versions and lines that were not JSON objects.",
                ("sources", "validation", "quarantine"), (
        QuerySpec("overview_totals", "Totals"),
        QuerySpec("overview_kinds", "Records by kind"),
        QuerySpec("overview_versions", "Schema versions"),
        QuerySpec("overview_quarantine", "Quarantined lines (first examples)",
                  ("source", "line", "reason", "excerpt"), "total"),
    )),
    SectionSpec("validation", "Validation by layer", "Structural (canonical JSON Schema) and semantic (derived invariants) verdicts; an invalid record counts under each layer it fails. Errors are each invalid record's first error.",
                ("validation",), (
        QuerySpec("validation_layers", "Verdicts per layer"),
        QuerySpec("validation_errors", "Top errors", ("layer", "error", "records"), "distinct_errors"),
    )),
    SectionSpec("admission", "Admission", "Evidence Admission Score of every AEP record (invalid records score as reject) and the training category it routes to.",
                ("admission",), (
        QuerySpec("admission_totals", "Totals"),
        QuerySpec("admission_histogram", "Score histogram", ("lo", "hi", "records")),
        QuerySpec("admission_categories", "Categories"),
        QuerySpec("admission_models", "By model", ("model_id", "records", "admitted", "rejected", "admit_rate", "mean_score"),
                  "models"),
    )),
    SectionSpec("verifiers", "Verifier audit", "Every verifier seen in AEP verifier results, checked for oracle leakage, saturated or empty pass rates, missing score signal and untraceable failures; strength = 1 - 0.30 x critical - 0.15 x high.",
                ("audit_verifiers", "audit_verifier_findings", "verifiers", "runs"), (
        QuerySpec("verifier_audit", "Verifiers (weakest first)",
                  ("verifier_id", "total_results", "pass_rate", "strength_score", "critical_count", "high_count", "findings"),
                  "verifiers"),
        QuerySpec("verifier_totals", "Findings by severity"),
        QuerySpec("verifier_findings", "Findings", ("verifier_id", "severity", "check_id", "description"), "total"),
        QuerySpec("verifier_models", "Pass rate by model", ("model_id", "results", "passed", "pass_rate"), "models"),
    )),
    SectionSpec("trust", "Trust scores", "Agent trust score per group of records (trace_id, else run_id): geometric mean of the known dimensions; grade A needs >= 0.9 over 6 dimensions, B >= 0.75 over 4.",
                ("audit_trust",), (
        QuerySpec("trust_grades", "Grade distribution"),
        QuerySpec("trust_worst", "Lowest-scoring groups",
                  ("group_key", "records", "overall", "grade", "known_dimensions", "evidence_completeness",
                   "policy_compliance", "verifier_agreement", "calibrated_label"), "groups"),
    )),
    SectionSpec("coverage", "Standards coverage matrix", "Share of valid AEP records carrying the evidence each control needs: covered >= 50%, partial > 0, gap otherwise.",
                ("runs", "actions", "input_refs"), (
        QuerySpec("coverage", "Controls"),
    )),
    SectionSpec("tools", "Tool usage and error rates", "Tool calls per model from AEP actions and rollout tool calls (only rollouts record tool errors).",
                ("tool_usage",), (
        QuerySpec("tool_models", "By model", ("origin", "model_id", "calls", "tools", "errors", "error_rate"), "rows_total"),
        QuerySpec("tool_top", "Most called tools", ("origin", "tool_name", "calls", "models", "errors", "error_rate"), "tools"),
    )),
    SectionSpec("contamination", "Contamination", "Training texts of the inputs scored against the eval items (token n-gram Jaccard, char n-gram Jaccard, containment).",
                ("audit_contamination_summary", "audit_contamination"), (
        QuerySpec("contamination_summary", "Summary"),
        QuerySpec("contamination_pairs", "Top matching pairs",
                  ("train_id", "best_eval_id", "containment", "token_jaccard", "char_jaccard", "shared_ngrams"), "total"),
    )),
    SectionSpec("claims", "Claim audits", "\"A beats B\": the paired test (b = A right and B wrong, c = the reverse), truncation asymmetry and the untruncated re-test decide the verdict.",
                ("audit_claims",), (
        QuerySpec("claims", "Verdicts",
                  ("log_a", "log_b", "verdict", "n", "b", "c", "p_value", "acc_a", "acc_b", "delta",
                   "trunc_b", "trunc_c", "trunc_p", "untrunc_b", "untrunc_c", "untrunc_p")),
    )),
    SectionSpec("authenticity", "Authenticity and chain", "DSSE / legacy signature verdicts per AEP record and prev_record_hash chain verdicts over whole runs, next to what the valid records carry.",
                ("audit_layers", "runs"), (
        QuerySpec("authenticity", "Verdicts"),
    )),
    SectionSpec("provenance", "Provenance", "Input files with their content digests, and how the audit was run.",
                ("sources",), (
        QuerySpec("provenance_sources", "Inputs", ("source", "digest", "n_records", "n_stored", "n_quarantined"), "files"),
        QuerySpec("provenance_meta", "Engine and options"),
    )),
)


def existing_objects(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    return {r[0] for r in rows}


def run_report_query(con: duckdb.DuckDBPyConnection, spec: QuerySpec, top: int) -> Table:
    sql = load_sql(f"report/{spec.name}")
    params = {"top": top} if "$top" in sql else {}
    cursor = con.execute(sql, params)
    names = tuple(d[0] for d in cursor.description)
    rows = cursor.fetchall()
    show = spec.show or tuple(n for n in names if n != spec.total)
    idx = [names.index(c) for c in show]
    total = None
    if spec.total is not None:
        total = int(rows[0][names.index(spec.total)]) if rows else 0
    return Table(spec.name, spec.title, show, [tuple(r[i] for i in idx) for r in rows], total)


def _has_data(section: SectionSpec, first: Table) -> bool:
    if section.key == "admission":
        return bool(first.rows) and bool(first.rows[0][0])
    if section.key == "coverage":
        return bool(first.rows) and bool(first.rows[0][first.columns.index("records")])
    if section.key == "overview":
        return bool(first.rows) and bool(first.rows[0][first.columns.index("files")])
    return bool(first.rows)


def collect(con: duckdb.DuckDBPyConnection, top: int = 20) -> list[Section]:
    """Every section whose data exists, in report order."""
    have = existing_objects(con)
    out = []
    for spec in SECTIONS:
        if not all(name in have for name in spec.needs):
            continue
        queries = [q for q in spec.queries if q.name != "provenance_meta" or "audit_meta" in have]
        tables = {q.name: run_report_query(con, q, top) for q in queries}
        if not _has_data(spec, tables[queries[0].name]):
            continue
        out.append(Section(spec.key, spec.title, spec.intro, tables))
    return out
