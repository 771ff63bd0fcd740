"""The ``agentctl`` command line: a thin layer over the library (see ``agentctl.runner``)."""

from __future__ import annotations

from typing import Annotated

import typer

from agentctl.commands.dataset import dataset_app
from agentctl.commands.eval import eval_app
from agentctl.commands.suite import suite_app
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


GC_THRESHOLDS = (100_000, 20, 1_000)
"""The command's garbage-collector thresholds (Python's are 700, 10, 10).

An evaluation holds a dataset and its results, hundreds of thousands of long-lived
objects, and creates a few dozen more per run that live until the run is committed: with the
defaults, the collector's passes over them took a third of a 10,000-run replay's CPU, and
still 1.1 s of it at 10,000 young objects a pass (0.6 s at 100,000). Young garbage is still
collected, in passes 140x rarer; older objects every 20 such passes, as before. Only the command
sets this: the library leaves its caller's collector alone."""


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
