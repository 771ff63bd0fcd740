"""How a candidate answers a case: the Provider protocol, its settings, and a registry by scheme.

``replay:<label>`` candidates replay recordings; any other model string is a litellm model.
Providers are plugins of the ``agentctl.providers`` entry-point group, named by scheme
(:mod:`agentctl.core.plugins`): a third party adds ``mock:`` with an entry point
``mock = "their_pkg:factory"``, the way ``replay`` and ``litellm`` are registered.

Every model call of the agent loop goes through one async function, ``complete(request)``
(:data:`CompleteFn`). Retries with backoff, rate limits, a response cache and budgets are
added by wrapping it: put wrappers in ``ProviderSettings.complete_wrappers``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from agentctl.engine.model_call import CompleteFn, CompleteWrapper, ModelReply, ModelRequest

__all__ = [
    "CompleteFn", "CompleteWrapper", "ModelReply", "ModelRequest", "Provider", "ProviderFactory", "ProviderSettings",
    "make_provider",
]

if TYPE_CHECKING:
    from agentctl.config.models import CandidateSpec, Suite
    from agentctl.core.trajectory import Trajectory
    from agentctl.datasets.models import Case, Dataset


class Provider(Protocol):
    """Produces the trajectory of one run of a case."""

    async def run(self, case: Case, repeat: int) -> Trajectory:
        """Run ``case`` once; ``repeat`` counts from 1."""
        ...


@dataclass
class ProviderSettings:
    """How providers call models; one per evaluation."""

    timeout_s: float = 60.0
    """Timeout of one model call."""
    max_attempts: int = 3
    """Attempts per model call (our retry wrapper; litellm's own retries are off)."""
    backoff_s: float = 1.0
    """Base of the exponential backoff between attempts (full jitter)."""
    max_backoff_s: float = 30.0
    """Longest wait between attempts, Retry-After included."""
    litellm_kwargs: dict[str, Any] = field(default_factory=dict)
    """Extra keyword arguments for every ``litellm.acompletion`` call."""
    complete_wrappers: list[CompleteWrapper] = field(default_factory=list)
    """Wrappers of a whole model call, retries included (cache, budget, circuit breaker);
    the first is outermost."""
    attempt_wrappers: list[CompleteWrapper] = field(default_factory=list)
    """Wrappers of each attempt, inside the retries (rate limits: a retry is a request too)."""
    call_stats: Any = None
    """A :class:`agentctl.providers.resilience.CallStats` counting attempts and retries, or None."""

    def wrap(self, complete: CompleteFn) -> CompleteFn:
        """``complete`` with every wrapper applied: timeout, attempt wrappers, retries, call wrappers."""
        from agentctl.providers.resilience import RetryPolicy, with_retries, with_timeout

        complete = with_timeout(complete, self.timeout_s)
        for wrapper in reversed(self.attempt_wrappers):
            complete = wrapper(complete)
        policy = RetryPolicy(max_attempts=self.max_attempts, backoff_s=self.backoff_s,
                             max_backoff_s=self.max_backoff_s)
        complete = with_retries(complete, policy, stats=self.call_stats)
        for wrapper in reversed(self.complete_wrappers):
            complete = wrapper(complete)
        return complete


ProviderFactory = Callable[["CandidateSpec", "Suite", "Dataset", ProviderSettings], Provider]
"""The object of an ``agentctl.providers`` entry point."""

DEFAULT_PROVIDER = "litellm"
"""The provider of every model string whose scheme no plugin claims."""


def make_provider(candidate: CandidateSpec, suite: Suite, dataset: Dataset, *, settings: ProviderSettings) -> Provider:
    """The provider of a candidate: the plugin named by the scheme of its model string, else litellm."""
    from agentctl.core import plugins

    scheme = candidate.model.split(":", 1)[0] if ":" in candidate.model else ""
    name = scheme if scheme and scheme != DEFAULT_PROVIDER and plugins.has(plugins.PROVIDERS, scheme) else DEFAULT_PROVIDER
    factory: ProviderFactory = plugins.load(plugins.PROVIDERS, name)
    return factory(candidate, suite, dataset, settings)
