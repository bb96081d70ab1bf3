"""Benchmark task-directory linter: the exploit-surface checks of reference §3.11.

Checks, in order (each finding: check_id, severity, description, path relative to the task dir):
gold-answer-readable (critical; answer/gold/solution/expected files anywhere, readable by anyone other than
nobody, i.e. any read bit set), test-script-writable (high; `*.py` whose name contains "test", writable),
env-file-present (high; `.env*` in the root), env-answer-in-script (medium; `*.sh` containing ANSWER= /
SOLUTION= / GOLD= / EXPECTED=, one per file), grader-writable (critical; grader / checker files, writable),
git-dir-present (high; `<root>/.git`), no-task-manifest (info; no task.json / task.yaml / task.yml in root).
Permissions are read from the file mode bits (stat), not access(): run as root access() says every file is
writable, which made the original's checks meaningless; "writable" means group or other may write (the agent
under test does not run as the owner), "readable" means any read bit. A path that is not a directory is an
input error (the original scored it 0.6 and exited 0). Score = max(0, 1 − Σ deductions) with critical 0.4,
high 0.2, medium 0.1, low 0.05, info 0; trusted = no critical and no high finding.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import InputError

GOLD_NAMES = frozenset({"answer.txt", "gold.txt", "gold_answer.txt", "expected_output.txt", "solution.txt",
                        "correct.txt", "expected.txt", "answer.json", "gold.json"})
GRADER_NAMES = frozenset({"grade.py", "grader.py", "grader.sh", "eval.py", "evaluator.py", "score.py", "check.py",
                          "checker.py", "verify.py", "run_eval.sh"})
ENV_MARKERS = ("ANSWER=", "SOLUTION=", "GOLD=", "EXPECTED=")
MANIFESTS = ("task.json", "task.yaml", "task.yml")
DEDUCTION = {"critical": 0.4, "high": 0.2, "medium": 0.1, "low": 0.05, "info": 0.0}
SURFACES = {
    "gold-answer-readable": ("S1", "Gold Answer Exposure"), "test-script-writable": ("S2", "Test Script Mutation"),
    "env-file-present": ("S3", "Environment Variable Leakage"),
    "env-answer-in-script": ("S3", "Environment Variable Leakage"),
    "grader-writable": ("S4", "Grader Replacement"), "git-dir-present": ("S5", "Git History Leakage"),
    "no-task-manifest": ("S6", "Network Policy Absence"),
}
_WRITE_OTHERS = stat.S_IWGRP | stat.S_IWOTH
_READ_ANY = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH


class TaskDirError(InputError):
    """The task directory does not exist or is not a directory."""

    exit_code = 1


@dataclass(frozen=True)
class Finding:
    check_id: str
    severity: str
    description: str
    path: str

    def as_dict(self) -> dict[str, str]:
        return {"check_id": self.check_id, "severity": self.severity, "description": self.description,
                "path": self.path, "surface": SURFACES[self.check_id][0]}


def _files(root: Path) -> list[Path]:
    out: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != ".git")
        out.extend(Path(dirpath) / f for f in sorted(filenames))
    return out


def _mode(p: Path) -> int:
    try:
        return p.stat().st_mode
    except OSError:
        return 0


def lint(task_dir: str | Path) -> list[Finding]:
    root = Path(task_dir)
    if not root.is_dir():
        raise TaskDirError("not a directory (benchmark task dir expected)", path=str(task_dir))
    files = _files(root)
    rel = lambda p: str(p.relative_to(root))  # noqa: E731
    found: list[Finding] = []
    for p in files:
        if p.name.lower() in GOLD_NAMES and _mode(p) & _READ_ANY:
            found.append(Finding("gold-answer-readable", "critical", "gold answer file is readable", rel(p)))
    for p in files:
        if p.suffix == ".py" and "test" in p.name.lower() and _mode(p) & _WRITE_OTHERS:
            found.append(Finding("test-script-writable", "high", "test script is group/world writable", rel(p)))
    for p in sorted(root.glob(".env*")):
        if p.is_file():
            found.append(Finding("env-file-present", "high", ".env file in the task root", rel(p)))
    for p in files:
        if p.suffix == ".sh":
            try:
                text = p.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            if any(m in text for m in ENV_MARKERS):
                found.append(Finding("env-answer-in-script", "medium", "shell script sets an answer variable", rel(p)))
    for p in files:
        if p.name.lower() in GRADER_NAMES and _mode(p) & _WRITE_OTHERS:
            found.append(Finding("grader-writable", "critical", "grader is group/world writable", rel(p)))
    if (root / ".git").is_dir():
        found.append(Finding("git-dir-present", "high", ".git directory present (history may leak answers)", ".git"))
    if not any((root / m).is_file() for m in MANIFESTS):
        found.append(Finding("no-task-manifest", "info", "no task.json / task.yaml / task.yml manifest", "."))
    return found


def report(task_dir: str | Path) -> dict[str, Any]:
    findings = lint(task_dir)
    score = max(0.0, 1.0 - sum(DEDUCTION[f.severity] for f in findings))
    trusted = not any(f.severity in ("critical", "high") for f in findings)
    surfaces: list[str] = []
    for f in findings:
        s = SURFACES[f.check_id][0]
        if s not in surfaces:
            surfaces.append(s)
    return {"task_dir": str(task_dir), "trust_score": round(score, 4), "trusted": trusted,
            "findings": [f.as_dict() for f in findings], "surfaces": surfaces}
