"""The total budget of an evaluation: provider spend checked before every model call.

Only new spend counts: model calls (not cached replies, whose cost was paid when they were
cached) and judge calls. Review costs (``costs.review_usd``) are people's time, not spend.
Once the limit is reached no new call starts; calls already in flight finish, so spend may
exceed the limit by at most their cost.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentctl.providers.resilience import CallsStopped

if TYPE_CHECKING:
    from agentctl.providers.base import CompleteFn, CompleteWrapper, ModelReply, ModelRequest


class BudgetExhausted(CallsStopped):
    """The evaluation's total budget (``budget.max_usd_total`` or ``--max-cost``) is spent."""


class SpendTracker:
    """Provider spend of one evaluation against its limit (None: no limit)."""

    def __init__(self, limit: float | None) -> None:
        self.limit = limit
        self.spent = 0.0

    @property
    def exhausted(self) -> bool:
        return self.limit is not None and self.spent >= self.limit

    def check(self) -> None:
        """Raise :class:`BudgetExhausted` when no new call may start."""
        if self.exhausted:
            raise BudgetExhausted(self.message())

    def add(self, usd: float) -> None:
        self.spent += max(0.0, usd)

    def message(self) -> str:
        return f"total budget of ${self.limit or 0:.2f} reached (spent ${self.spent:.4f})"

    def wrapper(self) -> CompleteWrapper:
        def wrap(complete: CompleteFn) -> CompleteFn:
            async def call(request: ModelRequest) -> ModelReply:
                self.check()
                reply = await complete(request)
                if not reply.cached:
                    self.add(reply.cost_usd)
                return reply

            return call

        return wrap
