"""Scorers by name.

Built-ins register the same way a third-party package does: an entry point in the group
``agentctl.scorers`` (see :mod:`agentctl.core.plugins`) whose object is a
:class:`ScorerFamily` or a scorer factory. A *family* owns every name with its prefix
(``deepeval.*``) and checks names and arguments without importing its library, so
``suite validate`` stays fast and works without the optional extras.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentctl.core import plugins
from agentctl.core.errors import InputError

if TYPE_CHECKING:
    from agentctl.config.models import ScorerSpec

ENTRY_POINT_GROUP = plugins.SCORERS

Factory = Callable[["ScorerSpec"], Any]
"""Makes an ``agentctl.scorers.base.Scorer`` from its spec (the scorers layer sits above this one)."""
Validator = Callable[["ScorerSpec"], list[str]]


@dataclass(frozen=True)
class ScorerFamily:
    """Every scorer named ``<prefix>.<metric>``."""

    prefix: str
    metrics: tuple[str, ...]
    """Names of the metrics (without the prefix), for validation and suggestions."""
    factory: Factory
    validate: Validator
    """Problems with a spec's arguments and judge, as messages (no import of the library)."""
    extra: str | None = None
    """The pip extra that installs the library (``agentctl[<extra>]``)."""


class ScorerRegistry:
    def __init__(self) -> None:
        self._scorers: dict[str, tuple[Factory, Validator | None]] = {}
        self._families: dict[str, ScorerFamily] = {}
        self._loaded = False

    def register(self, name: str, factory: Factory, validate: Validator | None = None) -> None:
        self._scorers[name] = (factory, validate)

    def register_family(self, family: ScorerFamily) -> None:
        self._families[family.prefix] = family

    def _load_entry_points(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        for name, plugin in plugins.load_all(ENTRY_POINT_GROUP).items():
            self._add(name, plugin)

    def _load_plugin_for(self, name: str) -> None:
        """Load only the plugin that would own ``name`` (``deepeval`` for ``deepeval.g_eval``)."""
        for owner in (name, name.partition(".")[0]):
            if owner not in self._scorers and owner not in self._families and plugins.has(ENTRY_POINT_GROUP, owner):
                self._add(owner, plugins.load(ENTRY_POINT_GROUP, owner))

    def _add(self, name: str, plugin: Any) -> None:
        if isinstance(plugin, ScorerFamily):
            self.register_family(plugin)
        elif callable(plugin):
            self.register(name, plugin)
        else:
            raise plugins.PluginError(
                f"plugin '{name}' ({ENTRY_POINT_GROUP}) is neither a ScorerFamily nor a scorer factory")

    def names(self) -> list[str]:
        self._load_entry_points()
        out = sorted(self._scorers)
        for fam in self._families.values():
            out += [f"{fam.prefix}.{m}" for m in fam.metrics]
        return out

    def problems(self, spec: ScorerSpec) -> list[str]:
        """What is wrong with a scorer spec: unknown name (with a suggestion) or bad args."""
        self._load_plugin_for(spec.name)
        if spec.name in self._scorers:
            validate = self._scorers[spec.name][1]
            return validate(spec) if validate else []
        prefix, _, metric = spec.name.partition(".")
        family = self._families.get(prefix)
        if family is not None and metric in family.metrics:
            return family.validate(spec)
        return [self._unknown(spec.name)]

    def _unknown(self, name: str) -> str:
        close = difflib.get_close_matches(name, self.names(), n=1)
        prefixes = sorted({n.partition(".")[0] + ".<metric>" if "." in n else n for n in self.names()})
        hint = f" (did you mean '{close[0]}'?)" if close else f" (expected one of: {', '.join(prefixes)})"
        return f"unknown scorer '{name}'{hint}"

    def create(self, spec: ScorerSpec) -> Any:
        """The scorer of ``spec`` (an ``agentctl.scorers.base.Scorer``); ``InputError`` when the spec is wrong."""
        problems = self.problems(spec)
        if problems:
            raise InputError("; ".join(problems), key="scorers")
        if spec.name in self._scorers:
            return self._scorers[spec.name][0](spec)
        family = self._families[spec.name.partition(".")[0]]
        return family.factory(spec)


registry = ScorerRegistry()
