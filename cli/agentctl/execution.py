"""How an evaluation calls models: settings and wrappers from the suite's ``execution``
section and the command line, shared by the agent's calls and the judges'."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agentctl.config.models import Suite
    from agentctl.outcome import RunOptions
    from agentctl.providers.base import ProviderSettings
    from agentctl.providers.budget import SpendTracker
    from agentctl.providers.cache import ResponseCache
    from agentctl.providers.ratelimit import RateLimits
    from agentctl.providers.resilience import Breakers, CallStats
    from agentctl.scorers.base import Scorer
    from agentctl.store.store import Store


def total_limit(suite: Suite, options: RunOptions) -> float | None:
    """The evaluation's spend limit: the lower of ``budget.max_usd_total`` and ``--max-cost``."""
    limits = [x for x in (suite.budget.max_usd_total, options.max_cost) if x is not None]
    return min(limits) if limits else None


@dataclass
class CallControls:
    """What governs the model calls of a whole evaluation, held once (by the parent process
    when runs are carried out by worker processes, which ask it for permits)."""

    tracker: SpendTracker
    breakers: Breakers
    cache: ResponseCache | None
    """None: no response cache (``execution.cache: false``, ``--no-cache``, or no store)."""
    limits: RateLimits | None
    """None: no ``execution.limits``."""


def call_controls(suite: Suite, options: RunOptions, store: Store | None, stats: CallStats) -> CallControls:
    """The budget, breakers, response cache and rate limits of an evaluation."""
    from agentctl.providers.budget import SpendTracker
    from agentctl.providers.cache import ResponseCache
    from agentctl.providers.ratelimit import RateLimits
    from agentctl.providers.resilience import Breakers

    execution = suite.execution
    cache = ResponseCache(store, stats=stats) if store is not None and execution.cache and not options.no_cache else None
    return CallControls(SpendTracker(total_limit(suite, options)), Breakers(execution.breaker), cache,
                        RateLimits(execution.limits) if execution.limits else None)


def base_settings(suite: Suite, options: RunOptions, stats: CallStats) -> ProviderSettings:
    """Timeouts and retries of model calls (the suite's ``execution``, overridden by flags), no wrappers."""
    from agentctl.providers.base import ProviderSettings

    execution = suite.execution
    return ProviderSettings(
        timeout_s=options.timeout_s if options.timeout_s is not None else execution.timeout_s,
        max_attempts=options.max_attempts if options.max_attempts is not None else execution.retry.max_attempts,
        backoff_s=execution.retry.backoff_s, max_backoff_s=execution.retry.max_backoff_s, call_stats=stats,
    )


def provider_settings(suite: Suite, options: RunOptions, store: Store | None,
                      stats: CallStats) -> tuple[ProviderSettings, SpendTracker, Breakers]:
    """How this evaluation calls models: the suite's ``execution`` section, overridden by flags.

    Call wrappers, outermost first: response cache (a hit calls nothing and spends nothing),
    total budget, circuit breaker; then retries; then per-model rate limits on each attempt.
    """
    controls = call_controls(suite, options, store, stats)
    return local_settings(suite, options, stats, controls), controls.tracker, controls.breakers


def local_settings(suite: Suite, options: RunOptions, stats: CallStats, controls: CallControls) -> ProviderSettings:
    """Settings whose call wrappers consult ``controls`` in this process."""
    settings = base_settings(suite, options, stats)
    if controls.cache is not None:
        settings.complete_wrappers.append(controls.cache.wrapper())
    settings.complete_wrappers += [controls.tracker.wrapper(), controls.breakers.wrapper()]
    if controls.limits is not None:
        settings.attempt_wrappers.append(controls.limits.wrapper())
    return settings


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
