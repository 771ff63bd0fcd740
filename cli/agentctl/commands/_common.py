"""Shared pieces of the command modules: error handling and the --db option."""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from agentctl.core.errors import EXIT_INTERRUPTED, AgentctlError, Interrupted, Problem, ValidationFailed

F = TypeVar("F", bound=Callable[..., Any])

DbOption = Annotated[
    Path | None,
    typer.Option("--db", metavar="PATH", help="DuckDB results store [default: $AGENTCTL_DB or ./agentctl.duckdb]",
                 show_default=False),
]


def db_path(db: Path | None) -> Path:
    return db or Path(os.environ.get("AGENTCTL_DB") or "agentctl.duckdb")


OPTION_FLAGS = {
    "candidate": "--candidate", "baseline": "--baseline", "shard": "--shard", "resume": "--resume",
    "concurrency": "--concurrency", "tag": "--tag", "limit": "--limit", "repeats": "--repeats",
    "max_cost": "--max-cost", "timeout_s": "--timeout", "max_attempts": "--max-attempts",
    "workers": "--workers",
    "suite": "--suite", "metric": "--metric", "last": "--last", "format": "--format",
}
"""Library argument names (an error's ``key``) -> the command-line flags that set them."""


def as_flag(problem: Problem) -> Problem:
    """A library problem about an argument, told in the CLI's words: ``--candidate: ...``."""
    if problem.path is None and problem.key in OPTION_FLAGS:
        return dataclasses.replace(problem, key=OPTION_FLAGS[problem.key])
    return problem


def reports_errors(func: F) -> F:
    """Print agentctl errors as ``file:line: key: message`` (no traceback) and exit with their code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ValidationFailed as exc:
            from agentctl import _console

            _console.print_problems(exc.problems)
            errors = sum(1 for p in exc.problems if p.severity == "error")
            _console.err_console.print(f"[red]{errors} error(s)[/]")
            raise typer.Exit(exc.exit_code) from None
        except AgentctlError as exc:
            from agentctl import _console
            from agentctl.core.secrets import redact_text

            _console.print_error(redact_text(str(as_flag(exc.problem))))
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt as exc:
            # An evaluation interrupted while running says so itself (and how to resume); after
            # the runs, an Interrupted says what is stored; before any run, nothing is.
            from rich.text import Text

            from agentctl import _console

            said = exc.message if isinstance(exc, Interrupted) else "interrupted"
            _console.err_console.print(Text(said, style="yellow"), soft_wrap=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None

    return wrapper  # type: ignore[return-value]
