"""summary.json: the report's headline numbers for scripts, every one taken from a report query.

Keys are stable; a section the store cannot support is `null`. The numbers are exactly the
values of the sql/report/ queries, so `engine sql` over the same store answers the same.
"""

from __future__ import annotations

import math
from typing import Any

from engine.report.sections import Section

SUMMARY_SCHEMA = "trace-engine-audit-summary/v1"


def _num(value: Any) -> Any:
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if hasattr(value, "__int__") and not isinstance(value, (bool, int, str)):
        return float(value)  # DuckDB DECIMAL / HUGEINT results
    return value


def _row(section: Section, query: str) -> dict[str, Any]:
    table = section.table(query)
    if table is None or not table.rows:
        return {}
    return {k: _num(v) for k, v in table.records()[0].items()}


def _rows(section: Section, query: str) -> list[dict[str, Any]]:
    table = section.table(query)
    return [] if table is None else [{k: _num(v) for k, v in r.items()} for r in table.records()]


def build_summary(sections: list[Section], *, store: str, engine_version: str) -> dict[str, Any]:
    by_key = {s.key: s for s in sections}
    out: dict[str, Any] = {"schema": SUMMARY_SCHEMA, "engine_version": engine_version, "store": store,
                           "sections": [s.key for s in sections]}
    ov = by_key.get("overview")
    totals = _row(ov, "overview_totals") if ov else {}
    for key in ("files", "records", "valid", "invalid", "quarantined_lines"):
        out[key] = int(totals.get(key) or 0)
    out["pass_rate"] = totals.get("pass_rate", 1.0)
    out["by_kind"] = {r["kind"]: {"records": r["records"], "valid": r["valid"], "invalid": r["invalid"]}
                      for r in (_rows(ov, "overview_kinds") if ov else [])}
    val = by_key.get("validation")
    out["validation_layers"] = {r["layer"]: {"valid": r["valid"], "invalid": r["invalid"],
                                             "not_checked": r["not_checked"]}
                                for r in (_rows(val, "validation_layers") if val else [])}
    adm = by_key.get("admission")
    out["admission"] = None if adm is None else {
        **_row(adm, "admission_totals"),
        "categories": {r["category"]: r["records"] for r in _rows(adm, "admission_categories")},
    }
    ver = by_key.get("verifiers")
    out["verifier_audit"] = None if ver is None else _row(ver, "verifier_totals")
    tr = by_key.get("trust")
    out["trust"] = None if tr is None else {
        "groups": sum(r["groups"] for r in _rows(tr, "trust_grades")),
        "grades": {r["grade"]: r["groups"] for r in _rows(tr, "trust_grades")},
    }
    cov = by_key.get("coverage")
    out["coverage"] = None if cov is None else {
        r["control_id"]: {"share": r["share"], "status": r["status"]} for r in _rows(cov, "coverage")}
    con = by_key.get("contamination")
    out["contamination"] = None if con is None else _row(con, "contamination_summary")
    cl = by_key.get("claims")
    out["claims"] = None if cl is None else [
        {k: r[k] for k in ("log_a", "log_b", "verdict", "n", "b", "c", "p_value", "acc_a", "acc_b")}
        for r in _rows(cl, "claims")]
    au = by_key.get("authenticity")
    out["authenticity"] = None if au is None else {
        f"{r['layer']}.{r['verdict']}": r["records"] for r in _rows(au, "authenticity")}
    return out
