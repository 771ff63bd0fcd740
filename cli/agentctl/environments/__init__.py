"""Stateful tools: an environment executes a run's tool calls against its own copy of a world.

Public names (stable; other branches build on them):

- :func:`load_environment` (suite, dataset) -> :class:`EnvironmentFactory` or None: imports
  ``environment.py`` / the suite's ``environment:`` and reads ``state.json``. Raises
  :class:`EnvironmentLoadError` (an ``InputError``: file, line, exit 2). Call it off the
  event loop (it runs user code); ``run_suite`` does so before the loop starts.
- :func:`environment_for` (suite, dataset) -> the factory already loaded for them, or None.
- :class:`EnvironmentFactory`: ``start(case)`` -> :class:`EnvironmentRun` (a fresh, isolated
  state per run), ``initial_state(case)``, ``expected_state(case, escalation_tool)``.
- :class:`EnvironmentRun`: ``call(tool, args)`` -> :class:`EnvAnswer` or None (declined:
  ``NotImplementedError``), ``finish()`` -> :class:`StateOutcome` (final snapshot, diff, hash).
- ``agentctl.environments.state``: ``merge_patch``, ``state_diff``, ``get_path``, ``json_equal``.
- ``suite validate``'s checks of an environment: ``agentctl.config.environment_checks``.

The contract of a user's environment is DESIGN.md "Environments: stateful tools":
``Environment(case: dict, state: dict)`` with ``call(tool, args)`` and ``snapshot()``.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from agentctl.environments.loader import (
    ENTRY_POINT_GROUP,
    EnvironmentLoadError,
    EnvironmentSource,
    find_environment,
    import_environment_class,
    read_state,
    registered_environments,
)
from agentctl.environments.runtime import EnvAnswer, EnvironmentFactory, EnvironmentRun, StateOutcome

if TYPE_CHECKING:
    from agentctl.datasets.models import Dataset


class SuiteLike(Protocol):
    """What an environment needs of a suite (``agentctl.config.models.Suite``; config is above us)."""

    @property
    def environment(self) -> str | None: ...
    @property
    def base_dir(self) -> Path: ...

# Keyed by identity; the entry holds suite and dataset so their ids cannot be reused meanwhile.
_LOADED: dict[tuple[int, int], tuple[Any, Any, EnvironmentFactory | None]] = {}
_LOCK = threading.Lock()


def environment_source(suite: SuiteLike | None, dataset: Dataset) -> EnvironmentSource | None:
    """Where the environment of a suite's dataset comes from, or None (not stateful)."""
    value = suite.environment if suite is not None else None
    return find_environment(dataset.path, value, suite.base_dir if suite is not None else None)


def load_environment(suite: SuiteLike | None, dataset: Dataset) -> EnvironmentFactory | None:
    """Import the environment of a suite's dataset (once per suite and dataset)."""
    key = (id(suite), id(dataset))
    with _LOCK:
        if key in _LOADED:
            return _LOADED[key][2]
    source = environment_source(suite, dataset)
    factory = None
    if source is not None:
        cls = import_environment_class(source)
        factory = EnvironmentFactory(cls, read_state(source.state_path), source.target)
    with _LOCK:
        if len(_LOADED) > 8:
            _LOADED.clear()
        _LOADED[key] = (suite, dataset, factory)
    return factory


def environment_for(suite: SuiteLike | None, dataset: Dataset) -> EnvironmentFactory | None:
    """The environment loaded for a suite and dataset (loads it now if it was not)."""
    with _LOCK:
        key = (id(suite), id(dataset))
        if key in _LOADED:
            return _LOADED[key][2]
    return load_environment(suite, dataset)


__all__ = [
    "ENTRY_POINT_GROUP", "EnvAnswer", "EnvironmentFactory", "EnvironmentLoadError", "EnvironmentRun",
    "EnvironmentSource", "StateOutcome", "environment_for", "environment_source", "load_environment",
    "registered_environments",
]
