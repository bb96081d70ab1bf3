"""Where the shipped data lives: the SQL files and the schema contract.

`sql/` and `schemas/` sit beside the `engine/` package, in a source checkout, an editable
install and a wheel alike (the wheel ships them as package data at the same relative place).
"""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent


SQL_DIR: Path = _PKG.parent / "sql"
SCHEMAS_DIR: Path = _PKG.parent / "schemas"


def load_sql(name: str) -> str:
    """Text of `sql/<name>.sql`, e.g. `load_sql("views/run_summary")`."""
    path = SQL_DIR / f"{name}.sql"
    if not path.is_file():
        from engine.errors import ContractError

        raise ContractError(f"no SQL file named {name!r}", path=str(path))
    return path.read_text(encoding="utf-8")
