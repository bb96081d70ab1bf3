"""One error tree for the whole engine.

Engine code raises these; only `cli.py` turns them into exit codes and one-line messages.
Each error keeps its context (path, line, field) so the message can say what to do.
"""

from __future__ import annotations


class EngineError(Exception):
    """Base class. `exit_code` is what the CLI exits with when this reaches it."""

    exit_code = 2

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None,
                 field: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.field = field
        self.hint = hint

    def one_line(self) -> str:
        where = ""
        if self.path is not None:
            where = f"{self.path}:{self.line}: " if self.line is not None else f"{self.path}: "
        field = f"[{self.field}] " if self.field else ""
        hint = f" ({self.hint})" if self.hint else ""
        text = f"{where}{field}{self.message}{hint}"
        return " ".join(text.split())


class InputError(EngineError):
    """Unusable input: missing file, unreadable or corrupt container, not JSON at all."""


class UsageError(EngineError):
    """Options that contradict each other or lack a value the command cannot guess."""


class ContractError(EngineError):
    """The schema contract itself is inconsistent (a bug in `schemas/`, not in user data)."""


class QueryError(EngineError):
    """A SQL query failed (syntax, unknown table, write on a read-only store)."""


class VerificationError(EngineError):
    """A signature, chain, registry or receipt could not be checked (e.g. key missing)."""
