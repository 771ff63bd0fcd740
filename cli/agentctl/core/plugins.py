"""One plugin mechanism for everything agentctl lets a package add: entry points.

A plugin is an entry point ``name = "module:object"`` in one of the groups below, declared in
the plugin package's ``pyproject.toml``::

    [project.entry-points."agentctl.scorers"]
    mycorp = "mycorp_agentctl.scorers:FAMILY"

agentctl's built-ins are registered exactly so, in agentctl's own ``pyproject.toml``. The
contract is the same for every group:

- the entry point's *name* is what a suite or a flag names (a model scheme, a scorer or
  scorer-family prefix, a ``--from`` format, ...);
- its *object* is the plugin itself, loaded (imported) on first use only, so an unused plugin
  costs nothing and ``agentctl --help`` stays fast;
- what the object must be is the group's protocol:

  ``agentctl.providers``
      a factory ``(candidate, suite, dataset, settings) -> Provider`` for candidates whose
      model is ``<name>:...``; ``litellm`` runs every model with no registered scheme.
  ``agentctl.scorers``
      a :class:`~agentctl.config.scorer_registry.ScorerFamily` owning the names ``<name>.<metric>``,
      or a factory ``(ScorerSpec) -> Scorer`` for the single scorer ``<name>``.
  ``agentctl.importers``
      a reader ``(paths, ProblemLog) -> Iterator[ImportedRun]`` for ``dataset import --from <name>``.
  ``agentctl.environments``, ``agentctl.user_simulators``
      stateful tool environments and simulated users (their protocols live with their code).

A plugin that fails to load is an input error naming it (exit 2), e.g.
``plugin 'mycorp' (agentctl.scorers) failed to load: ModuleNotFoundError: No module named 'x'``;
it is never skipped silently.

Library use::

    from agentctl.core import plugins
    plugins.names("agentctl.scorers")          # ['deepeval', 'ragas', ...], nothing imported
    family = plugins.load("agentctl.scorers", "ragas")
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from agentctl.core.errors import InputError

PROVIDERS = "agentctl.providers"
SCORERS = "agentctl.scorers"
IMPORTERS = "agentctl.importers"
ENVIRONMENTS = "agentctl.environments"
USER_SIMULATORS = "agentctl.user_simulators"
GROUPS = (PROVIDERS, SCORERS, IMPORTERS, ENVIRONMENTS, USER_SIMULATORS)
"""Every entry-point group agentctl reads."""


class PluginError(InputError):
    """A plugin is missing or could not be loaded (exit 2)."""


@cache
def _entry_points(group: str) -> dict[str, EntryPoint]:
    found: dict[str, EntryPoint] = {}
    for ep in entry_points(group=group):
        found.setdefault(ep.name, ep)  # the first distribution on the path wins, as imports do
    return found


def names(group: str) -> list[str]:
    """Names of the plugins installed in ``group``, sorted; none of them is imported."""
    return sorted(_entry_points(group))


def has(group: str, name: str) -> bool:
    """Whether a plugin ``name`` is installed in ``group`` (without importing it)."""
    return name in _entry_points(group)


@cache
def load(group: str, name: str) -> Any:
    """The object of plugin ``name`` in ``group``, imported once.

    Raises :class:`PluginError` when no such plugin is installed or when it fails to load.
    """
    ep = _entry_points(group).get(name)
    if ep is None:
        known = ", ".join(names(group)) or "none installed"
        raise PluginError(f"no plugin '{name}' in {group} (installed: {known})")
    try:
        return ep.load()
    except Exception as exc:  # an ImportError, or anything the plugin's module raised on import
        raise PluginError(f"plugin '{name}' ({group}) failed to load: {type(exc).__name__}: {exc}") from exc


def load_all(group: str) -> dict[str, Any]:
    """Every plugin of ``group`` by name, loaded (a broken one raises :class:`PluginError`)."""
    return {name: load(group, name) for name in names(group)}


def refresh() -> None:
    """Forget what was found and loaded (after installing a plugin in a running process)."""
    _entry_points.cache_clear()
    load.cache_clear()
