"""Errors a person can act on.

Every error that reaches the command line carries the file, the line and the key path
it is about, and is printed as ``path:line: key.path: message`` without a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

EXIT_OK = 0
EXIT_GATE_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_CANNOT_RUN = 3
EXIT_INTERRUPTED = 130


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file."""

    message: str
    path: str | Path | None = None
    line: int | None = None
    key: str | None = None
    severity: str = "error"  # "error" | "warning"

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = _display_path(self.path)
            if self.line is not None:
                where += f":{self.line}"
            where += ": "
        key = f"{self.key}: " if self.key else ""
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{where}{prefix}{key}{self.message}"


def _display_path(path: str | Path) -> str:
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, RuntimeError, OSError):  # elsewhere, or a symlink loop
        return str(p)


class AgentctlError(Exception):
    """Base of every error agentctl reports to a person; ``exit_code`` says how the CLI exits."""

    exit_code = EXIT_BAD_INPUT

    def __init__(
        self,
        message: str,
        path: str | Path | None = None,
        line: int | None = None,
        key: str | None = None,
    ) -> None:
        super().__init__(message)
        self.problem = Problem(message, path, line, key)

    @property
    def message(self) -> str:
        return self.problem.message

    def __str__(self) -> str:
        return str(self.problem)


class InputError(AgentctlError):
    """A suite, dataset, tool catalog or command-line argument is invalid (exit 2)."""

    exit_code = EXIT_BAD_INPUT


@dataclass
class ValidationFailed(InputError):
    """Several problems found while validating input; all of them are reported."""

    problems: list[Problem] = field(default_factory=list)

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = [p for p in problems]
        errors = [p for p in self.problems if p.severity == "error"]
        first = errors[0] if errors else (self.problems[0] if self.problems else Problem("invalid input"))
        InputError.__init__(self, first.message, first.path, first.line, first.key)

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


class RunError(AgentctlError):
    """The evaluation could not be carried out: provider unreachable, budget spent, store locked (exit 3)."""

    exit_code = EXIT_CANNOT_RUN


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM, with what is kept and how to go on (the CLI prints it, exit 130).
    A ``KeyboardInterrupt``, so whatever stops on one stops on this."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class StoreLocked(RunError):
    """Another process holds the results store."""


class MissingExtra(InputError):
    """An optional dependency is needed by the suite but not installed."""

    def __init__(self, package: str, extra: str, what: str) -> None:
        super().__init__(f"{what} needs the '{package}' package: pip install 'agentctl[{extra}]'")
