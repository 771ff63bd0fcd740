"""Canonical forms of tool-call arguments, shared by tool answering and outcome scoring.

Two argument objects are the same call when their canonical forms are equal: key order is
ignored, numbers compare by value (``5 == 5.0``), lists keep their order.
"""

from __future__ import annotations

import json
import math
from typing import Any


def parse_arguments(raw: Any) -> tuple[dict[str, Any] | None, str | None]:
    """Parse a tool call's ``arguments`` (a JSON string, or already an object).

    Returns ``(arguments, None)`` or ``(None, error message)``. An empty string is ``{}``.
    """
    if raw is None:
        return {}, None
    if isinstance(raw, dict):
        return raw, None
    if not isinstance(raw, str):
        return None, f"arguments must be a JSON object string, got {type(raw).__name__}"
    if raw.strip() == "":
        return {}, None
    from agentctl.core.jsonsafe import JsonInputError, loads_strict

    try:
        value = loads_strict(raw)
    except JsonInputError as exc:
        bad = exc.decode_error
        why = f"{bad.msg} at char {bad.pos}" if bad is not None else str(exc)
        return None, f"arguments are not valid JSON ({why})"
    if not isinstance(value, dict):
        return None, f"arguments must be a JSON object, got {type(value).__name__}"
    return value, None


def normalize(value: Any) -> Any:
    """A structure equal for equal arguments: dict keys sorted, integral floats made ints."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return int(value)
        return value
    if isinstance(value, dict):
        return {str(k): normalize(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [normalize(v) for v in value]
    return value


def canonical(value: Any) -> str:
    """Canonical JSON text of ``value`` (see :func:`normalize`)."""
    return json.dumps(normalize(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


MATCHER_OPERATORS = ("$any", "$regex", "$in", "$approx", "$contains", "$text", "$optional")
"""Keys of the single-key objects that are matchers in expected arguments."""


def is_matcher(value: Any) -> bool:
    """An object with a single key starting with ``$`` (known or not) is a matcher."""
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)).startswith("$")
