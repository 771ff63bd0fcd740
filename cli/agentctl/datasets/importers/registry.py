"""Importers by format name (``--from``): entry points of the ``agentctl.importers`` group.

A reader is a function ``(paths, ProblemLog) -> Iterator[ImportedRun]``; the entry point's
name is its ``--from`` name (see :mod:`agentctl.core.plugins`). The built-ins are registered
the same way in agentctl's ``pyproject.toml``.
"""

from __future__ import annotations

import difflib

from agentctl.core import plugins
from agentctl.core.errors import InputError
from agentctl.datasets.importers.base import Reader


def available() -> list[str]:
    """Names accepted by ``--from``."""
    return plugins.names(plugins.IMPORTERS)


def get_importer(name: str) -> Reader:
    """The reader for a format, or an input error naming the formats there are."""
    names = available()
    if name not in names:
        close = difflib.get_close_matches(name, names, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise InputError(f"--from: unknown format '{name}'{hint}; expected one of {', '.join(names)}")
    reader: Reader = plugins.load(plugins.IMPORTERS, name)
    return reader
