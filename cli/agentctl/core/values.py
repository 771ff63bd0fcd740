"""Values produced by metrics and gates (rows of the ``metrics`` and ``gates`` tables)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class MetricValue:
    candidate: str
    metric: str
    """A name of DESIGN.md's metrics table; ``pass^k`` as ``pass^1``, ``pass^2``, ...;
    scorer metrics as ``score:<scorer>`` (share passing) and ``mean:<scorer>``."""
    value: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int = 0
    """Runs (or cases, for per-case metrics) the value is computed from."""
    tag: str | None = None
    """``None`` for the overall value; else the tag of the cases it is computed on."""


@dataclass
class GateResult:
    candidate: str
    gate: str
    """Readable name, e.g. ``success_rate >= 0.95`` or ``regression(success_rate)``."""
    passed: bool
    value: float | None
    threshold: float | None
    detail: str
    """Why, in a sentence: the numbers and the test that decided it."""
    decided_by: str = "point"
    """``point`` | ``wilson_bound`` | ``mcnemar_exact`` | ``bootstrap`` | ``insufficient``"""
    insufficient: bool = False
    """The data could not decide; ``passed`` then follows the gate's ``on_insufficient``."""
    runs_needed: int | None = None
    """When insufficient: how many runs would let the gate pass if no errors occur."""
    extra: dict[str, Any] = field(default_factory=dict)
