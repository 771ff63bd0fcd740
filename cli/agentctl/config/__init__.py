"""The suite format: pydantic models, the YAML loader that keeps line numbers, ``suite validate``."""

from __future__ import annotations

from agentctl.config.loader import SuiteCheck, check_suite, load_suite, load_suite_and_dataset, validate_suite
from agentctl.config.models import Suite

__all__ = ["Suite", "SuiteCheck", "check_suite", "load_suite", "load_suite_and_dataset", "validate_suite"]
