"""Importers by format name (``--from``): built-ins register the way a plugin would.

A third-party importer is a function ``(paths, ProblemLog) -> Iterator[ImportedRun]``
registered with :func:`importer`, or exposed through the ``agentctl.importers`` entry-point
group (the entry point's object is called once to register its importers).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from importlib import import_module
from importlib.metadata import entry_points

from agentctl.core.errors import InputError
from agentctl.datasets.importers.base import Reader

_IMPORTERS: dict[str, Reader] = {}
_BUILTIN_MODULES = ("openai_chat", "otel", "openinference")
_loaded = False


def importer(name: str) -> Callable[[Reader], Reader]:
    """Register a reader under a ``--from`` name."""

    def register(fn: Reader) -> Reader:
        _IMPORTERS[name] = fn
        return fn

    return register


def _load() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in _BUILTIN_MODULES:
        import_module(f"agentctl.datasets.importers.{module}")
    for ep in entry_points(group="agentctl.importers"):
        ep.load()()


def available() -> list[str]:
    """Names accepted by ``--from``."""
    _load()
    return sorted(_IMPORTERS)


def get_importer(name: str) -> Reader:
    """The reader for a format, or an input error naming the formats there are."""
    _load()
    if name not in _IMPORTERS:
        close = difflib.get_close_matches(name, _IMPORTERS, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise InputError(f"--from: unknown format '{name}'{hint}; expected one of {', '.join(sorted(_IMPORTERS))}")
    return _IMPORTERS[name]
