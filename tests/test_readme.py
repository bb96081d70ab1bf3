"""The README's two commands: the second one is exactly what CI runs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _bash_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return [b.strip() for b in re.findall(r"```bash\n(.*?)```", text, flags=re.S)]


def test_readme_has_two_commands_and_ci_runs_the_test_one() -> None:
    blocks = _bash_blocks()
    assert len(blocks) == 2
    install_and_run, tests = blocks
    assert "engine " in install_and_run and "data/smoke/" in install_and_run
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert tests in ci, "the README's test command must appear verbatim in .ci/run"


def test_readme_opens_with_purpose() -> None:
    first = (ROOT / "README.md").read_text(encoding="utf-8").split("\n\n")[1]
    assert "benchmark claim" in first and "train" in first
