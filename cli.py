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
from enum import Enum
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


class OutputFormat(str, Enum):
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
) -> None:
    """Validate records against the schema contract (structural and semantic layers)."""
    from engine.validate import ValidateOptions, validate_paths
    from engine.validate_render import render_validation_text

    if not 0.0 <= fail_under <= 1.0:
        from engine.errors import UsageError

        raise UsageError(f"--fail-under must be between 0 and 1, got {fail_under}")
    options = ValidateOptions(kind=kind, errors_path=errors, top=top, progress=fmt is OutputFormat.text)
    report = validate_paths([str(p) for p in paths], options)
    if fmt is OutputFormat.json:
        emit_json(report.summary())
    else:
        render_validation_text(report, stdout_console())
    if report.pass_rate() < fail_under:
        raise typer.Exit(1)


app.command("validate")(_validate)
app.command("validate-aep", help="Alias of `engine validate`.")(_validate)


# <<commands: admission>>

# <<commands: store>>

# <<commands: stats>>

# <<commands: contamination>>

# <<commands: export>>

# <<commands: authenticity>>

# <<commands: importers>>

# <<commands: products>>

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
        if hasattr(exc, "show") and isinstance(getattr(exc, "exit_code", None), int):
            exc.show()
            sys.exit(exc.exit_code)
        if os.environ.get("ENGINE_DEBUG"):
            raise
        typer.echo(f"internal error: {type(exc).__name__}: {exc} (set ENGINE_DEBUG=1 for a traceback)", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
