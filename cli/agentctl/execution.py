"""How an evaluation calls models: settings and wrappers from the suite's ``execution``
section and the command line, shared by the agent's calls and the judges'."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agentctl.config.models import Suite
    from agentctl.outcome import RunOptions
    from agentctl.providers.base import ProviderSettings
    from agentctl.providers.budget import SpendTracker
    from agentctl.providers.resilience import Breakers, CallStats
    from agentctl.scorers.base import Scorer
    from agentctl.store.store import Store


def total_limit(suite: Suite, options: RunOptions) -> float | None:
    """The evaluation's spend limit: the lower of ``budget.max_usd_total`` and ``--max-cost``."""
    limits = [x for x in (suite.budget.max_usd_total, options.max_cost) if x is not None]
    return min(limits) if limits else None


def provider_settings(suite: Suite, options: RunOptions, store: Store | None,
                      stats: CallStats) -> tuple[ProviderSettings, SpendTracker, Breakers]:
    """How this evaluation calls models: the suite's ``execution`` section, overridden by flags.

    Call wrappers, outermost first: response cache (a hit calls nothing and spends nothing),
    total budget, circuit breaker; then retries; then per-model rate limits on each attempt.
    """
    from agentctl.providers.base import ProviderSettings
    from agentctl.providers.budget import SpendTracker
    from agentctl.providers.cache import ResponseCache
    from agentctl.providers.ratelimit import RateLimits
    from agentctl.providers.resilience import Breakers

    execution = suite.execution
    tracker = SpendTracker(total_limit(suite, options))
    breakers = Breakers(execution.breaker)
    settings = ProviderSettings(
        timeout_s=options.timeout_s if options.timeout_s is not None else execution.timeout_s,
        max_attempts=options.max_attempts if options.max_attempts is not None else execution.retry.max_attempts,
        backoff_s=execution.retry.backoff_s, max_backoff_s=execution.retry.max_backoff_s, call_stats=stats,
    )
    if store is not None and execution.cache and not options.no_cache:
        settings.complete_wrappers.append(ResponseCache(store, stats=stats).wrapper())
    settings.complete_wrappers += [tracker.wrapper(), breakers.wrapper()]
    if execution.limits:
        settings.attempt_wrappers.append(RateLimits(execution.limits).wrapper())
    return settings, tracker, breakers


def share_calls_with_judges(scorers: list[Scorer], settings: ProviderSettings, tracker: SpendTracker) -> None:
    """Judge calls go through the same cache, budget, breaker, retries and rate limits as
    the agent's calls (their spend is charged when each run is scored)."""
    from agentctl.providers.litellm_model import complete

    wrapped = settings.wrap(complete)
    for scorer in scorers:
        judge = getattr(scorer, "judge", None)
        if judge is not None and hasattr(judge, "complete_fn"):
            judge.complete_fn = wrapped
            judge.timeout_s = settings.timeout_s
            judge.on_cost = tracker.add  # embedding calls, which do not go through ``wrapped``
