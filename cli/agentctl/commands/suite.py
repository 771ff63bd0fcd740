"""``agentctl suite ...``: check suites without running them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agentctl.commands._common import reports_errors

suite_app = typer.Typer(help="Check evaluation suites.", no_args_is_help=True, rich_markup_mode=None)


@suite_app.command("validate")
@reports_errors
def validate(
    suite: Annotated[Path, typer.Argument(help="Suite file (YAML).", show_default=False)],
) -> None:
    """Check a suite, its dataset, tool catalog and prompts without running anything.

    Every problem is printed as `path:line: key.path: what is wrong`; exit 2 when any is
    an error, 0 otherwise (warnings, such as recorded tool calls with invalid JSON
    arguments, do not fail validation).

    Example: agentctl suite validate evalsuites/support-triage.yaml
    """
    from agentctl import _console
    from agentctl.config.loader import validate_suite

    check = validate_suite(suite)
    _console.print_problems(check.problems)
    _console.print_notes(check.notes)
    if check.errors:
        _console.err_console.print(f"[red]{len(check.errors)} error(s)[/], {len(check.warnings)} warning(s)")
        raise typer.Exit(2)
    s, d = check.suite, check.dataset
    assert s is not None and d is not None
    _console.console.print(
        f"[green]ok[/] {_console.literal(suite)}: suite '{_console.literal(s.name)}', {len(d.cases)} cases, {len(d.runs)} recorded runs, "
        f"{len(d.tools.tools)} tools, {len(s.candidates)} candidates, {len(s.gates)} gates"
        + (f", {len(check.warnings)} warning(s)" if check.warnings else "")
    )
    raise typer.Exit(0)
