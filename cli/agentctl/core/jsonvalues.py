"""One convention for numbers JSON cannot hold.

JSON has no infinity or NaN (``cost_per_success_usd`` is infinite when nothing succeeded).
Every JSON agentctl writes (``--json`` output, the JSON report) spells them ``"inf"``,
``"-inf"`` and ``"nan"``; a column or chart that needs a number gets ``None`` instead
(:func:`finite_or_none`), which DuckDB stores as NULL.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

NON_FINITE = ("inf", "-inf", "nan")
"""How non-finite floats are spelled in agentctl's JSON."""


def json_number(value: float) -> float | str:
    """``value`` itself when finite, else ``"inf"``, ``"-inf"`` or ``"nan"``."""
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def finite_or_none(value: Any) -> Any:
    """``None`` for a non-finite float (a NULL column, a gap in a chart); any other value unchanged."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


def json_ready(value: Any) -> Any:
    """A copy of ``value`` that ``json.dumps(..., allow_nan=False)`` accepts: non-finite floats
    spelled as :data:`NON_FINITE`, timestamps as ISO 8601 text."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is float:
        return value if value - value == 0 else json_number(value)  # finite: x - x is 0, not nan
    if isinstance(value, float):
        return json_number(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    return value
