"""Finding and importing an environment: ``environment.py`` beside tools.yaml, the suite's
``environment: PATH.py | package.module | NAME`` (NAME registered in the entry-point group
``agentctl.environments``), and ``state.json``.

Importing runs user code: errors become :class:`EnvironmentLoadError` with the file and
line they happened at (a SyntaxError names its line), never a traceback on the console.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentctl.core import plugins
from agentctl.core.errors import InputError

ENVIRONMENT_FILE = "environment.py"
STATE_FILE = "state.json"
ENTRY_POINT_GROUP = plugins.ENVIRONMENTS
REQUIRED_METHODS = ("call", "snapshot")


class EnvironmentLoadError(InputError):
    """The environment could not be imported or is not usable (exit 2)."""


@dataclass(frozen=True)
class EnvironmentSource:
    """Where an environment comes from: a file or an importable module, and its state.json."""

    target: str
    """A path to a ``.py`` file, or a module name (``package.module``)."""
    is_file: bool
    state_path: Path | None
    """``state.json`` of the dataset (None when there is none)."""
    key: str | None = None
    """The suite key that named it (for messages), or None for a dataset's environment.py."""
    plugin: bool = False
    """``target`` is the name of a plugin in the ``agentctl.environments`` entry-point group."""


def registered_environments() -> list[str]:
    """Names of the environments installed as plugins (``agentctl.environments``), none imported."""
    return plugins.names(ENTRY_POINT_GROUP)


def find_environment(dataset_dir: Path, suite_value: str | None, suite_dir: Path | None) -> EnvironmentSource | None:
    """The environment of a dataset (and suite), or None when the dataset is not stateful."""
    state = dataset_dir / STATE_FILE
    state_path = state if state.is_file() else None
    if suite_value:
        value = suite_value.strip()
        if value.endswith(".py"):
            path = ((suite_dir or Path.cwd()) / value).resolve()
            return EnvironmentSource(str(path), True, state_path, "environment")
        return EnvironmentSource(value, False, state_path, "environment",
                                 plugin=plugins.has(ENTRY_POINT_GROUP, value))
    file = dataset_dir / ENVIRONMENT_FILE
    if file.is_file():
        return EnvironmentSource(str(file.resolve()), True, state_path)
    return None


_NO_BYTECODE = threading.RLock()
"""Held while an environment file is imported with bytecode writing off."""


def import_environment_class(source: EnvironmentSource) -> type:
    """Import the module and return its ``Environment`` class (checked for its methods)."""
    attr = "Environment"
    if source.is_file:
        path = Path(source.target)
        if not path.is_file():
            raise EnvironmentLoadError(f"environment file not found: {path}", path)
        name = f"agentctl_environment_{abs(hash(str(path)))}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise EnvironmentLoadError("cannot import this file as a Python module", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        # A dataset folder is left as it was found: no __pycache__ beside environment.py (nor
        # beside the modules it imports while it loads). Compiling it again costs milliseconds.
        with _NO_BYTECODE:  # one at a time: each puts back the setting it found
            writes_bytecode, sys.dont_write_bytecode = sys.dont_write_bytecode, True
            try:
                spec.loader.exec_module(module)
            except BaseException as exc:  # user code: any failure is a bad dataset, shown by file and line
                sys.modules.pop(name, None)
                raise _load_error(exc, path) from None
            finally:
                sys.dont_write_bytecode = writes_bytecode
        where: Path | None = path
    elif source.plugin:
        try:
            obj = plugins.load(ENTRY_POINT_GROUP, source.target)
        except plugins.PluginError as exc:
            raise EnvironmentLoadError(f"environment: {exc.message}") from None
        if isinstance(obj, type):
            return _checked(obj, attr, Path(getattr(sys.modules.get(obj.__module__), "__file__", "") or source.target))
        module, where = obj, Path(getattr(obj, "__file__", "") or source.target)
    else:
        target = source.target
        if ":" in target:
            target, attr = target.split(":", 1)
        try:
            module = importlib.import_module(target)
        except ModuleNotFoundError as exc:
            known = ", ".join(registered_environments()) or "none"
            raise EnvironmentLoadError(
                f"environment: cannot import '{target}' ({exc}); registered environments: {known}"
            ) from None
        except BaseException as exc:
            raise _load_error(exc, None) from None
        where = Path(getattr(module, "__file__", "") or target)
    return _checked(getattr(module, attr, None), attr, where)


def _checked(cls: Any, attr: str, where: Path | None) -> type:
    if not isinstance(cls, type):
        raise EnvironmentLoadError(f"defines no class '{attr}' (an environment needs class {attr}(case, state))", where)
    missing = [m for m in REQUIRED_METHODS if not callable(getattr(cls, m, None))]
    if missing:
        raise EnvironmentLoadError(
            f"class {attr} has no method {', '.join(missing)} (it needs call(tool, args) and snapshot())",
            where, line=_line_of(cls),
        )
    return cls


def read_state(path: Path | None) -> Any:
    """The parsed ``state.json`` ({} when there is none)."""
    if path is None:
        return {}
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise EnvironmentLoadError(f"cannot read file: {exc}", path) from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise EnvironmentLoadError(f"invalid JSON: {exc.msg} (column {exc.colno})", path, line=exc.lineno) from None
    if not isinstance(value, dict):
        raise EnvironmentLoadError(f"expected a JSON object (the world state), got {type(value).__name__}", path, line=1)
    return value


def _load_error(exc: BaseException, path: Path | None) -> EnvironmentLoadError:
    if isinstance(exc, SyntaxError):
        file = Path(exc.filename) if exc.filename else path
        return EnvironmentLoadError(f"SyntaxError: {exc.msg}", file, line=exc.lineno)
    frames = traceback.extract_tb(exc.__traceback__)
    own = [f for f in frames if path is None or Path(f.filename) == path] or frames
    frame = own[-1] if own else None
    file = Path(frame.filename) if frame is not None else path
    line = frame.lineno if frame is not None else None
    return EnvironmentLoadError(f"importing the environment failed: {type(exc).__name__}: {exc}", file, line=line)


def _line_of(cls: type) -> int | None:
    import inspect

    try:
        return inspect.getsourcelines(cls)[1]
    except (OSError, TypeError):
        return None
