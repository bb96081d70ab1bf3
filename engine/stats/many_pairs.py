"""Every model pair at once: McNemar counts from one DuckDB query, exact p values, Holm correction.

Input is a long table (one row per model x item: model, item_id, correct) in CSV, Parquet or
JSONL. Cleaning (sql/stats/long_clean.sql) applies the same rules as the two-file reader; the
pair counts come from sql/stats/pair_counts.sql in a single query. p values are exact binomial
tails evaluated vectorized in log space with numpy, then adjusted
with Holm's step-down procedure across all pairs that share at least one item.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from engine.errors import InputError, UsageError
from engine.paths import load_sql


@dataclass(frozen=True)
class LongColumns:
    model: str = "model"
    item: str = "item_id"
    correct: str = "correct"


@dataclass(frozen=True)
class ManyPairs:
    model_a: list[str]
    model_b: list[str]
    n: npt.NDArray[np.int64]
    b: npt.NDArray[np.int64]
    c: npt.NDArray[np.int64]
    p_value: npt.NDArray[np.float64]
    p_holm: npt.NDArray[np.float64]
    n_models: int
    exclusions: list[dict[str, Any]]

    @property
    def n_pairs(self) -> int:
        return len(self.model_a)

    def as_dict(self, alpha: float = 0.05) -> dict[str, Any]:
        pairs = [
            {"model_a": a, "model_b": b_, "n": int(n), "b": int(b), "c": int(c),
             "p_value": round(float(p), 4), "p_value_full": float(p),
             "p_holm": round(float(h), 4), "p_holm_full": float(h), "significant_holm": bool(h < alpha)}
            for a, b_, n, b, c, p, h in zip(self.model_a, self.model_b, self.n.tolist(), self.b.tolist(),
                                            self.c.tolist(), self.p_value.tolist(), self.p_holm.tolist(),
                                            strict=True)
        ]
        return {
            "n_models": self.n_models,
            "n_pairs": self.n_pairs,
            "pairs_without_common_items": self.n_models * (self.n_models - 1) // 2 - self.n_pairs,
            "alpha": alpha,
            "n_significant_holm": int(np.count_nonzero(self.p_holm < alpha)),
            "pairs": pairs,
            "exclusions": self.exclusions,
        }


def mcnemar_exact_vec(b: npt.ArrayLike, c: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Two-sided exact McNemar p for arrays of discordant counts: min(1, 2 P[Bin(b+c, 1/2) <= min(b, c)]).

    For each distinct n the log binomial pmf is built by a cumulative sum of log((n-i+1)/i) and
    the tail by a cumulative log-sum-exp, so tails far below 1e-300 stay exact in log space and
    the relative error stays around 1e-12 (no scipy: importing it would cost more than the query).
    """
    bv = np.asarray(b, dtype=np.int64)
    cv = np.asarray(c, dtype=np.int64)
    if np.any(bv < 0) or np.any(cv < 0):
        raise ValueError("discordant counts must be non-negative")
    n = bv + cv
    k = np.minimum(bv, cv)
    p = np.ones(n.shape, dtype=np.float64)
    live = (n > 0) & (2 * k < n)  # k >= n/2 gives a tail >= 1/2, so p = 1
    if not np.any(live):
        return p
    ln2 = np.log(2.0)
    # A Python loop over the distinct n values only (few: one when all models saw all items).
    for n_val in np.unique(n[live]).tolist():
        sel = live & (n == n_val)
        kmax = int(k[sel].max())
        i = np.arange(1, kmax + 1, dtype=np.float64)
        log_pmf = np.concatenate(([0.0], np.cumsum(np.log((n_val - i + 1) / i)))) - n_val * ln2
        log_tail = np.logaddexp.accumulate(log_pmf)
        p[sel] = np.minimum(1.0, 2.0 * np.exp(log_tail[k[sel]]))
    return p


def holm(p: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Holm step-down adjusted p values (same order as the input)."""
    pv = np.asarray(p, dtype=np.float64)
    m = pv.shape[0]
    if m == 0:
        return pv.copy()
    order = np.argsort(pv, kind="stable")
    scaled = (m - np.arange(m)) * pv[order]
    adjusted = np.minimum(1.0, np.maximum.accumulate(scaled))
    out = np.empty(m, dtype=np.float64)
    out[order] = adjusted
    return out


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _relation(con: Any, path: Path) -> Any:
    name = path.name.lower()
    try:
        if name.endswith(".parquet"):
            return con.read_parquet(str(path))
        if name.endswith((".jsonl", ".ndjson", ".jsonl.gz", ".json")):
            return con.read_json(str(path), format="newline_delimited" if "jsonl" in name or "ndjson" in name
                                 else "auto")
        if name.endswith((".csv", ".csv.gz", ".tsv")):
            return con.read_csv(str(path))
    except Exception as exc:  # duckdb raises IOException / InvalidInputException subclasses
        raise InputError(f"cannot read long table: {str(exc).splitlines()[0]}", path=str(path)) from None
    raise UsageError(f"unsupported long-table format {path.suffix!r}", path=str(path),
                     hint="use .csv, .parquet or .jsonl")


def many_pairs(path: str | Path, columns: LongColumns | None = None) -> ManyPairs:
    import duckdb

    cols = columns or LongColumns()
    p = Path(path)
    if not p.is_file():
        raise InputError("no such file", path=str(p))
    con = duckdb.connect()
    try:
        rel = _relation(con, p)
        present = set(rel.columns)
        missing = [c for c in (cols.model, cols.item, cols.correct) if c not in present]
        if missing:
            raise InputError(
                f"missing column(s) {', '.join(missing)}; found {', '.join(rel.columns)}", path=str(p),
                hint="name them with --model-col / --item-col / --correct-col")
        rel.create_view("long_raw")
        con.execute(
            "CREATE TEMP VIEW long_input AS SELECT "
            f"CAST({_quote(cols.model)} AS VARCHAR) AS model, CAST({_quote(cols.item)} AS VARCHAR) AS item_id, "
            f"CAST({_quote(cols.correct)} AS VARCHAR) AS correct_raw FROM long_raw"
        )
        try:
            con.execute("CREATE TEMP TABLE long_clean AS " + load_sql("stats/long_clean"))
        except duckdb.Error as exc:
            raise InputError(f"cannot read long table: {str(exc).splitlines()[0]}", path=str(p)) from None
        sizes = con.execute(
            "SELECT count(DISTINCT model), count(DISTINCT item_id) FROM long_clean WHERE status = 'ok'"
        ).fetchone()
        n_models, n_items = (int(sizes[0]), int(sizes[1])) if sizes else (0, 0)
        if n_items:
            res = con.execute(load_sql("stats/pair_counts"), {"n_items": n_items}).fetchnumpy()
        else:
            res = {k: [] for k in ("model_a", "model_b", "n", "b", "c")}
        model_a, model_b, n, b, c = _columns(res)
        excl = con.execute(load_sql("stats/long_exclusions")).fetchall()
    finally:
        con.close()
    pv = mcnemar_exact_vec(b, c)
    exclusions = [{"model": m, "status": s, "items": int(i), "rows": int(r)} for m, s, i, r in excl if s != "ok"]
    return ManyPairs(model_a, model_b, n, b, c, pv, holm(pv), n_models, exclusions)


def _columns(res: dict[str, Any]) -> tuple[list[str], list[str], Any, Any, Any]:
    return ([str(x) for x in res["model_a"]], [str(x) for x in res["model_b"]],
            np.asarray(res["n"], dtype=np.int64), np.asarray(res["b"], dtype=np.int64),
            np.asarray(res["c"], dtype=np.int64))
