"""The CLI starts, shows its commands and version, and turns usage errors into exit 2."""

from __future__ import annotations

import subprocess
import sys

from engine import __version__


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True, text=True, timeout=120)


def test_help_lists_validate() -> None:
    out = run("--help")
    assert out.returncode == 0
    assert "validate" in out.stdout


def test_version() -> None:
    out = run("--version")
    assert out.returncode == 0
    assert __version__ in out.stdout


def test_unknown_command_is_usage_error() -> None:
    out = run("no-such-command")
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
