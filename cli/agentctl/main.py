"""The ``agentctl`` command line: a thin layer over the library (see ``agentctl.runner``)."""

from __future__ import annotations

from typing import Annotated

import typer

from agentctl.commands.dataset import dataset_app
from agentctl.commands.eval import eval_app
from agentctl.commands.suite import suite_app
from agentctl.core.collector import GC_THRESHOLDS
from agentctl.core.version import __version__

app = typer.Typer(
    name="agentctl",
    help="Evaluation and regression harness for AI agents that take real actions.\n\n"
    "Replays recorded agent runs (or drives candidate models through litellm), scores the "
    "outcome, stores every result in DuckDB, writes reports and exits nonzero when a "
    "release gate fails.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Plain help: rich-formatted help costs ~300 ms of imports on every --help.
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(eval_app, name="eval")
app.add_typer(suite_app, name="suite")
app.add_typer(dataset_app, name="dataset")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"agentctl {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """agentctl: release gates for AI agents."""


def main() -> None:
    import gc

    gc.set_threshold(*GC_THRESHOLDS)
    try:
        app()
    except SystemExit as done:
        if done.code is None or isinstance(done.code, int):
            exit_now(done.code or 0)
        raise


def exit_now(code: int) -> None:
    """End the command without tearing the heap down object by object.

    Everything the command writes is closed and committed by then; what interpreter shutdown
    would still do is free an evaluation's hundreds of thousands of objects one at a time
    (0.7 s after a 10,000-run replay). ``atexit`` handlers still run and output is flushed.
    With another (non-daemon) thread still running, the normal shutdown, which waits for it, is kept.
    """
    import atexit
    import os
    import sys
    import threading

    main = threading.main_thread()
    if any(t is not main and not t.daemon for t in threading.enumerate()):
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (``| head``): nothing more can be said
            pass
    os._exit(code)


if __name__ == "__main__":
    main()
