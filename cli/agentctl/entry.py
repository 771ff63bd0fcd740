"""The ``agentctl`` command's entry point.

Before anything else is imported, a live ``eval run`` starts its worker processes' forking
process (:mod:`agentctl.workers.headstart`), which imports litellm (two seconds of CPU) on
another core while this process imports the command line's code, parses the options and
loads the suite. Then :func:`agentctl.main.main` runs the command as always.
"""

from __future__ import annotations

import sys


def main() -> None:
    from agentctl.workers.headstart import start

    start(sys.argv[1:])
    from agentctl.main import main as run

    run()
