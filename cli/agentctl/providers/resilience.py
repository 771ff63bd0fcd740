"""Surviving provider faults: classification, retries with backoff, and a circuit breaker.

Every model call goes through :func:`with_retries` (exponential backoff with full jitter,
Retry-After honoured, bounded attempts, a timeout per attempt). A call that still fails is
recorded by the model's :class:`CircuitBreaker`; when a model keeps failing (an
authentication error, or most recent calls failing) the breaker opens and every further
call of that model raises :class:`BreakerOpen`, which stops the runs that needed it.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from agentctl.core.errors import AgentctlError, RunError

if TYPE_CHECKING:
    from agentctl.config.models import BreakerConfig
    from agentctl.providers.base import CompleteFn, CompleteWrapper, ModelReply, ModelRequest

FaultKind = Literal["transient", "auth", "permanent"]

# 408 timeout, 409 conflict, 425 too early, 429 rate limit: worth another attempt, like 5xx.
_TRANSIENT_4XX = {408, 409, 425, 429}
_AUTH = {401, 403}


class CallsStopped(RunError):
    """No more model calls may be made (a breaker opened, the total budget is spent): the run is not run."""


class BreakerOpen(CallsStopped):
    """The model's circuit breaker is open."""

    model: str | None = None
    """The model whose breaker it is (the agent's, a simulated user's)."""


class CallTimeout(Exception):
    """An attempt got no answer within the per-call timeout."""


def status_of(exc: BaseException) -> int | None:
    """The HTTP status a provider error carries, if any."""
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else None


def classify(exc: BaseException) -> FaultKind:
    """Whether another attempt may help (``transient``), the credentials are wrong (``auth``), or neither.

    Errors without a status (dropped connections, timeouts, bodies that are not JSON, empty
    choices) are transient: the next attempt may well get a proper answer.
    """
    status = status_of(exc)
    if status is None:
        return "transient"
    if status in _AUTH:
        return "auth"
    if status in _TRANSIENT_4XX or status >= 500:
        return "transient"
    return "permanent"


def _headers_of(exc: BaseException) -> Any:
    for attr in ("litellm_response_headers", "headers"):
        headers = getattr(exc, attr, None)
        if headers:
            return headers
    try:
        response = getattr(exc, "response", None)
    except Exception:  # some SDK errors raise when no response is attached
        response = None
    return getattr(response, "headers", None)


def retry_after_s(exc: BaseException) -> float | None:
    """Seconds the provider asked us to wait (``retry-after-ms``, ``retry-after`` seconds or date)."""
    headers = _headers_of(exc)
    if not headers:
        return None
    try:
        lowered = {str(k).lower(): str(v) for k, v in dict(headers).items()}
    except Exception:
        return None
    if "retry-after-ms" in lowered:
        try:
            return max(0.0, float(lowered["retry-after-ms"]) / 1000)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_tz(value)
        return None if parsed is None else max(0.0, email.utils.mktime_tz(parsed) - time.time())


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded attempts and exponential backoff with full jitter."""

    max_attempts: int = 3
    backoff_s: float = 1.0
    max_backoff_s: float = 30.0

    def delay(self, failures: int, exc: BaseException) -> float:
        """Wait before the next attempt, after ``failures`` failed ones (full jitter, AWS style)."""
        jittered = random.uniform(0, min(self.max_backoff_s, self.backoff_s * 2 ** (failures - 1)))
        asked = retry_after_s(exc)
        if asked is not None:  # the provider knows better than our guess; still capped
            return min(self.max_backoff_s, max(asked, jittered))
        return jittered


@dataclass
class CallStats:
    """Counts of one evaluation's model calls, for the closing summary and tests."""

    calls: int = 0
    """Model calls the agent loop made (each may take several attempts)."""
    attempts: int = 0
    """Requests sent to providers."""
    retries: int = 0
    failed: int = 0
    """Calls that failed after their last attempt."""
    cache_hits: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    """Failed attempts by kind: ``HTTP 429``, ``CallTimeout``, ``APIConnectionError``, ..."""

    def summary(self) -> str:
        faults = ", ".join(f"{k}: {v}" for k, v in sorted(self.faults.items()))
        return (f"model calls: {self.calls} ({self.cache_hits} from cache), requests: {self.attempts}, "
                f"retries: {self.retries}, failed after retries: {self.failed}"
                + (f"; faults: {faults}" if faults else ""))


def _fault_label(exc: BaseException) -> str:
    from agentctl.core.faults import connection_problem

    status = status_of(exc)
    if status == 408 or isinstance(exc, CallTimeout):
        return "timeout"
    problem = connection_problem(exc)
    if problem is not None:
        return problem
    return f"HTTP {status}" if status is not None else type(exc).__name__


def with_timeout(complete: CompleteFn, timeout_s: float) -> CompleteFn:
    """``complete`` cut off if it overruns ``timeout_s`` by far (innermost: rate-limit waits are not counted).

    The timeout proper is the HTTP client's (``request.timeout_s`` goes to litellm), which
    counts network time only. This is the backstop for a client that ignores it; it is
    generous because litellm's first call in a process imports modules on the event loop.
    """
    backstop = timeout_s + max(5.0, timeout_s)

    async def call(request: ModelRequest) -> ModelReply:
        try:
            return await asyncio.wait_for(complete(request), backstop)
        except TimeoutError:
            raise CallTimeout(f"no answer within {timeout_s:g} s") from None

    return call


def with_retries(complete: CompleteFn, policy: RetryPolicy, *, stats: CallStats | None = None) -> CompleteFn:
    """``complete`` retried on transient faults; the final exception carries ``agentctl_attempts``."""

    async def call(request: ModelRequest) -> ModelReply:
        attempt = 0
        if stats is not None:
            stats.calls += 1
        while True:
            attempt += 1
            if stats is not None:
                stats.attempts += 1
            try:
                reply = await complete(request)
            except AgentctlError:
                raise  # ours: a spent budget or an open breaker is not a provider fault
            except Exception as exc:
                if stats is not None:
                    stats.faults[_fault_label(exc)] += 1
                if classify(exc) != "transient" or attempt >= policy.max_attempts:
                    exc.agentctl_attempts = attempt  # type: ignore[attr-defined]
                    if stats is not None:
                        stats.failed += 1
                    raise
                if stats is not None:
                    stats.retries += 1
                await asyncio.sleep(policy.delay(attempt, exc))
                continue
            reply.attempts = attempt
            return reply

    return call


class CircuitBreaker:
    """Opens on an authentication error, or when most of a model's recent calls failed."""

    def __init__(self, model: str, config: BreakerConfig) -> None:
        self.model = model
        self.config = config
        self.recent: deque[bool] = deque(maxlen=config.window)
        """Outcome of the most recent calls (True: failed after retries)."""
        self.reason: str | None = None
        """Why the breaker opened; None while it is closed."""

    @property
    def is_open(self) -> bool:
        return self.reason is not None

    def check(self) -> None:
        """Raise :class:`BreakerOpen` when no call may be made."""
        if self.reason is not None:
            exc = BreakerOpen(f"circuit breaker open for {self.model}: {self.reason}")
            exc.model = self.model
            raise exc

    def record_success(self) -> None:
        self.recent.append(False)

    def record_failure(self, exc: BaseException) -> None:
        self.record_fault(fault_of(exc))

    def record_fault(self, fault: Fault) -> None:
        """A call failed after retries (``fault``: what :func:`fault_of` says of its exception)."""
        kind, label, type_name = fault
        self.recent.append(True)
        if self.reason is not None:
            return
        if kind == "auth":
            # Only the status and error type: provider messages may quote the key.
            self.reason = f"authentication failed ({label}, {type_name})"
            return
        failed = sum(self.recent)
        if len(self.recent) >= self.config.min_calls and failed / len(self.recent) >= self.config.failure_ratio:
            self.reason = (f"{failed} of its last {len(self.recent)} calls failed after retries "
                           f"(last: {label})")


Fault = tuple[FaultKind, str, str]
"""What a breaker needs of a failed call: (kind, label such as ``HTTP 401``, exception type name);
small and picklable, so a worker process can report it."""


def fault_of(exc: BaseException) -> Fault:
    return classify(exc), _fault_label(exc), type(exc).__name__


class Breakers:
    """One circuit breaker per model string, and the wrapper that consults them."""

    def __init__(self, config: BreakerConfig) -> None:
        self.config = config
        self.by_model: dict[str, CircuitBreaker] = {}

    def get(self, model: str) -> CircuitBreaker:
        if model not in self.by_model:
            self.by_model[model] = CircuitBreaker(model, self.config)
        return self.by_model[model]

    def is_open(self, model: str) -> bool:
        return model in self.by_model and self.by_model[model].is_open

    def open_reasons(self) -> dict[str, str]:
        return {m: b.reason for m, b in self.by_model.items() if b.reason is not None}

    def wrapper(self) -> CompleteWrapper:
        def wrap(complete: CompleteFn) -> CompleteFn:
            async def call(request: ModelRequest) -> ModelReply:
                breaker = self.get(request.model)
                breaker.check()
                try:
                    reply = await complete(request)
                except AgentctlError:
                    raise
                except Exception as exc:
                    breaker.record_failure(exc)
                    raise
                breaker.record_success()
                return reply

            return call

        return wrap
