"""lint-benchmark (reference §3.11): exploit-surface checks on mode bits, missing dir exits 1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.products.linter import TaskDirError, lint, report

ROOT = Path(__file__).resolve().parent.parent


def _task(tmp_path: Path) -> Path:
    d = tmp_path / "task"
    (d / "tests").mkdir(parents=True)
    (d / "task.json").write_text("{}")
    (d / "solution.txt").write_text("42")
    (d / "tests" / "test_main.py").write_text("assert True")
    (d / "grader.py").write_text("print(1)")
    (d / "setup.sh").write_text("export ANSWER=42\n")
    (d / ".env").write_text("X=1")
    (d / ".git").mkdir()
    os.chmod(d / "tests" / "test_main.py", 0o666)
    os.chmod(d / "grader.py", 0o644)
    return d


def test_findings_in_order(tmp_path: Path) -> None:
    d = _task(tmp_path)
    ids = [f.check_id for f in lint(d)]
    assert ids == ["gold-answer-readable", "test-script-writable", "env-file-present", "env-answer-in-script",
                   "git-dir-present"]
    rep = report(d)
    assert rep["trust_score"] == pytest.approx(0.0) and not rep["trusted"]
    assert rep["surfaces"] == ["S1", "S2", "S3", "S5"]


def test_mode_bits_not_access(tmp_path: Path) -> None:
    d = _task(tmp_path)
    os.chmod(d / "grader.py", 0o664)
    os.chmod(d / "solution.txt", 0o000)
    os.chmod(d / "tests" / "test_main.py", 0o644)
    ids = [f.check_id for f in lint(d)]
    assert "grader-writable" in ids and "gold-answer-readable" not in ids and "test-script-writable" not in ids


def test_clean_dir_and_missing_manifest(tmp_path: Path) -> None:
    d = tmp_path / "clean"
    d.mkdir()
    rep = report(d)
    assert [f["check_id"] for f in rep["findings"]] == ["no-task-manifest"]
    assert rep["trust_score"] == 1.0 and rep["trusted"]


def test_missing_dir_raises() -> None:
    with pytest.raises(TaskDirError):
        lint("/nonexistent")


def test_cli_missing_dir_exits_1_one_line() -> None:
    p = subprocess.run([sys.executable, "-m", "cli", "lint-benchmark", "/nonexistent"], capture_output=True, text=True,
                       cwd=ROOT, timeout=60)
    assert p.returncode == 1
    assert len(p.stderr.strip().splitlines()) == 1 and "/nonexistent" in p.stderr and "Traceback" not in p.stderr


def test_cli_json_and_fail_under(tmp_path: Path) -> None:
    d = _task(tmp_path)
    p = subprocess.run([sys.executable, "-m", "cli", "lint-benchmark", str(d), "--format", "json"],
                       capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert p.returncode == 1 and json.loads(p.stdout)["trusted"] is False
    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "task.yaml").write_text("x: 1")
    ok = subprocess.run([sys.executable, "-m", "cli", "lint-benchmark", str(clean)], capture_output=True, text=True,
                        cwd=ROOT, timeout=60)
    assert ok.returncode == 0 and "[TRUSTED]" in ok.stdout and "No findings." in ok.stdout
