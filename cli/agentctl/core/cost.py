"""What a model call cost: one rule for the agent's calls and the judge's alike.

The suite's ``pricing`` for the model comes first (a price the user wrote down is the one they
mean, and it is what ``--dry-run`` estimates with); else litellm's local cost map; else 0.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class PerMillionTokens(Protocol):
    """A price per million tokens (``agentctl.config.models.Price`` has this shape)."""

    @property
    def input_usd_per_mtok(self) -> float: ...

    @property
    def output_usd_per_mtok(self) -> float: ...


def call_cost(
    price: PerMillionTokens | None,
    prompt_tokens: int,
    completion_tokens: int,
    from_cost_map: Callable[[], float | None] | None = None,
) -> float:
    """USD of one call: from ``price`` when given, else ``from_cost_map()`` (litellm's
    ``completion_cost``, which may raise for a model it does not know), else 0."""
    if price is not None:
        return (prompt_tokens * price.input_usd_per_mtok + completion_tokens * price.output_usd_per_mtok) / 1e6
    if from_cost_map is None:
        return 0.0
    try:
        cost = from_cost_map()
    except Exception:  # litellm raises for models missing from its cost map: cost unknown, counted 0
        return 0.0
    return float(cost or 0.0)
