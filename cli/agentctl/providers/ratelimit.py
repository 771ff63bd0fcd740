"""Per-model (or per-provider) limits on model calls: concurrency, requests and tokens per minute.

Suites declare them by model pattern::

    execution:
      limits:
        "openai/*": {concurrency: 4, rpm: 500}
        "anthropic/claude-3-5-haiku*": {concurrency: 2, rpm: 50, tpm: 40000}

A model is governed by the most specific matching pattern (the longest one without
wildcards first), and all models matching one pattern share its limits, so ``openai/*``
is a per-provider limit and an exact model string a per-model one.

litellm's Router has ``rpm``/``tpm`` per deployment, but it enforces them by refusing calls
(a RateLimitError, or another deployment) and needs every call routed through a Router
model list; an evaluation wants calls to *wait* their turn, so this is a small pacer.
"""

from __future__ import annotations

import asyncio
import fnmatch
import math
import time
from collections import deque
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agentctl.config.models import RateLimit
    from agentctl.providers.base import CompleteFn, CompleteWrapper, ModelReply, ModelRequest

_MINUTE = 60.0


class ModelLimiter:
    """Limits shared by the models of one pattern: a semaphore, an rpm pacer, a tpm window."""

    def __init__(self, pattern: str, limit: RateLimit) -> None:
        self.pattern = pattern
        self.limit = limit
        self._slots = asyncio.Semaphore(limit.concurrency) if limit.concurrency else None
        self._interval = _MINUTE / limit.rpm if limit.rpm else 0.0
        self.last_start = -math.inf
        """When the pacer last let a call go (``time.monotonic()``); the next may go ``60/rpm`` s later."""
        self._turn = asyncio.Lock()
        """Held while a call waits for its start time, so waiters start one after the other."""
        self._tokens: deque[tuple[float, int]] = deque()
        """(time, tokens) of the calls of the last minute, for ``tpm``."""

    async def _pace(self) -> None:
        # One waiter at a time sleeps until the next start, and the start after it is counted
        # from when this one actually started: if the event loop was busy (a slow client), a
        # late waker pushes the others back instead of letting reserved slots fire in a burst.
        # Requests are spaced at least 60/rpm seconds apart whatever the concurrency.
        if self._interval:
            async with self._turn:
                while (delay := self.last_start + self._interval - time.monotonic()) > 0:
                    await asyncio.sleep(delay)
                self.last_start = time.monotonic()
        if self.limit.tpm:
            while self._tokens_last_minute() >= self.limit.tpm:
                await asyncio.sleep(max(0.01, self._tokens[0][0] + _MINUTE - time.monotonic()))

    def _tokens_last_minute(self) -> int:
        horizon = time.monotonic() - _MINUTE
        while self._tokens and self._tokens[0][0] < horizon:
            self._tokens.popleft()
        return sum(n for _, n in self._tokens)

    def record_tokens(self, tokens: int) -> None:
        if self.limit.tpm and tokens:
            self._tokens.append((time.monotonic(), tokens))

    async def acquire(self) -> None:
        """Wait for a slot and for the pacer: then one attempt may start (:meth:`release` after it)."""
        if self._slots is not None:
            await self._slots.acquire()
        try:
            await self._pace()
        except BaseException:
            if self._slots is not None:
                self._slots.release()
            raise

    def release(self, tokens: int) -> None:
        """The attempt is over (``tokens``: what it used, 0 if it failed)."""
        if self._slots is not None:
            self._slots.release()
        self.record_tokens(tokens)

    async def call(self, complete: CompleteFn, request: ModelRequest) -> ModelReply:
        """One attempt of a model call within the limits."""
        await self.acquire()
        tokens = 0
        try:
            reply = await complete(request)
            tokens = reply.prompt_tokens + reply.completion_tokens
        finally:
            self.release(tokens)
        return reply


def _specificity(pattern: str) -> tuple[int, int]:
    wildcards = sum(pattern.count(c) for c in "*?[")
    return (0 if wildcards else 1, len(pattern) - wildcards)


class RateLimits:
    """The limiters of an evaluation, by pattern; :meth:`wrapper` applies them to each attempt."""

    def __init__(self, limits: dict[str, RateLimit]) -> None:
        self.patterns = sorted(limits, key=_specificity, reverse=True)
        self.limiters = {p: ModelLimiter(p, limits[p]) for p in self.patterns}
        self._by_model: dict[str, ModelLimiter | None] = {}

    def for_model(self, model: str) -> ModelLimiter | None:
        """The limiter of the most specific pattern matching ``model``, if any."""
        if model not in self._by_model:
            match = next((p for p in self.patterns if fnmatch.fnmatchcase(model, p)), None)
            self._by_model[model] = self.limiters[match] if match is not None else None
        return self._by_model[model]

    def wrapper(self) -> CompleteWrapper:
        def wrap(complete: CompleteFn) -> CompleteFn:
            async def call(request: ModelRequest) -> ModelReply:
                limiter = self.for_model(request.model)
                if limiter is None:
                    return await complete(request)
                return await limiter.call(complete, request)

            return call

        return wrap
