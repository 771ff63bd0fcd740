"""The suite format: pydantic models, the YAML loader that keeps line numbers, ``suite validate``.

Names are loaded on first use: ``agentctl.config.loader`` reads datasets, and the dataset
readers use ``agentctl.config.yamlpos``, so importing the loader here would be circular.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentctl.config.loader import SuiteCheck, load_suite, load_suite_and_dataset, validate_suite
    from agentctl.config.models import Suite

__all__ = ["Suite", "SuiteCheck", "load_suite", "load_suite_and_dataset", "validate_suite"]

_WHERE = {
    "Suite": "agentctl.config.models",
    "SuiteCheck": "agentctl.config.loader",
    "load_suite": "agentctl.config.loader",
    "load_suite_and_dataset": "agentctl.config.loader",
    "validate_suite": "agentctl.config.loader",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'agentctl.config' has no attribute {name!r}")
