"""Per-model limits measured at the server: concurrency in flight and requests per minute."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from agentctl.runner import RunOptions, run_suite
from support.fake_openai import FakeOpenAI, Reply
from support.faults import API_KEY, agent_reply, write_suite


class PerModelMeter:
    """Handler answering properly after ``delay_s``, measuring in-flight calls and start times per model."""

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self.in_flight: dict[str, int] = defaultdict(int)
        self.peak: dict[str, int] = defaultdict(int)
        self.starts: dict[str, list[float]] = defaultdict(list)
        self._lock = threading.Lock()

    def __call__(self, body: dict[str, Any]) -> Reply:
        model = body["model"]
        with self._lock:
            self.in_flight[model] += 1
            self.peak[model] = max(self.peak[model], self.in_flight[model])
            self.starts[model].append(time.monotonic())
        time.sleep(self.delay_s)  # here, not in Reply.delay_s, so in-flight spans the wait
        with self._lock:
            self.in_flight[model] -= 1
        return agent_reply(body)


def test_each_model_keeps_its_own_limits(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    meter = PerModelMeter(delay_s=0.15)
    fake_openai.script(meter)
    params = {"api_base": fake_openai.base_url, "api_key": API_KEY}
    suite = write_suite(tmp_path, fake_openai.base_url, n_cases=8, candidates=[
        {"name": "a", "model": "openai/fake-agent", "params": params},
        {"name": "b", "model": "openai/fake-other", "params": params},
    ], execution={"limits": {"openai/*": {"concurrency": 3}, "openai/fake-agent": {"concurrency": 1, "rpm": 600}},
                  "retry": {"max_attempts": 2, "backoff_s": 0.01}})
    outcome = run_suite(suite, db=tmp_path / "x.duckdb", options=RunOptions(concurrency=16))
    assert all(r.correct for r in outcome.results) and len(outcome.results) == 16
    assert meter.peak["fake-agent"] == 1  # exact model pattern beats openai/*
    assert meter.peak["fake-other"] == 3  # reached, never exceeded
    assert len(meter.starts["fake-agent"]) == len(meter.starts["fake-other"]) == 16


def test_rpm_limit_applies_to_a_real_run(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    meter = PerModelMeter(delay_s=0.0)
    fake_openai.script(meter)
    suite = write_suite(tmp_path, fake_openai.base_url, n_cases=6,
                        execution={"limits": {"openai/fake-agent": {"rpm": 300}}})
    outcome = run_suite(suite, db=tmp_path / "x.duckdb", options=RunOptions(concurrency=6))
    assert [r.correct for r in outcome.results] == [True] * 6
    assert len(meter.starts["fake-agent"]) == 12  # two model calls per case, every one let through
    # the spacing itself is checked at the pacer (below): the server sees it blurred by client overhead


def _paced_starts(limiter_rpm: float, calls: int, *, block_first_s: float) -> list[float]:
    """Start times the pacer recorded for ``calls`` concurrent calls through the real limiter
    wrapper; the first call blocks the event loop for ``block_first_s`` (a slow client)."""
    import asyncio

    from agentctl.config.models import RateLimit
    from agentctl.providers.base import ModelReply, ModelRequest
    from agentctl.providers.ratelimit import RateLimits

    starts: list[float] = []
    limits = RateLimits({"m*": RateLimit(rpm=limiter_rpm)})
    pacer = limits.for_model("m1")
    assert pacer is not None

    async def complete(req: ModelRequest) -> ModelReply:
        starts.append(pacer.last_start)  # set by the pacer just before it called us, no await between
        await asyncio.sleep(0)  # the other callers get to queue up for their start times
        if len(starts) == 1:
            time.sleep(block_first_s)  # then synchronous work holds the event loop's thread
        return ModelReply(message={"role": "assistant", "content": "x"}, prompt_tokens=1, completion_tokens=1)

    limited = limits.wrapper()(complete)
    request = ModelRequest(model="m1", messages=[], tools=None, params={}, timeout_s=1)

    async def scenario() -> None:
        await asyncio.gather(*(limited(request) for _ in range(calls)))

    asyncio.run(scenario())
    return starts


def test_rpm_spaces_calls_even_when_the_client_stalls_the_event_loop() -> None:
    # 300 rpm = one start every 0.2 s. The first call holds the event loop for 0.7 s, past the
    # slots the next three callers were waiting for: they must still start 0.2 s apart, not
    # all at once when the loop frees up. The gaps are between the pacer's own start times,
    # which it only sets once 0.2 s have passed, so a loaded machine can only widen them.
    starts = _paced_starts(300, 6, block_first_s=0.7)
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert len(starts) == 6
    assert [g >= 0.2 for g in gaps] == [True] * 5, gaps


def test_tpm_waits_for_the_minute_to_free_tokens() -> None:
    import asyncio

    from agentctl.config.models import RateLimit
    from agentctl.providers.base import ModelReply, ModelRequest
    from agentctl.providers.ratelimit import ModelLimiter

    limiter = ModelLimiter("m", RateLimit(tpm=100))
    request = ModelRequest(model="m", messages=[], tools=None, params={}, timeout_s=1)

    async def big(req: ModelRequest) -> ModelReply:
        return ModelReply(message={"role": "assistant", "content": "x"}, prompt_tokens=90, completion_tokens=20)

    async def scenario() -> float:
        await limiter.call(big, request)  # 110 tokens: the minute's allowance is used up
        try:
            await asyncio.wait_for(limiter.call(big, request), 0.3)
        except TimeoutError:
            return -1.0
        return 0.0

    assert asyncio.run(scenario()) == -1.0  # the second call waits for the minute to pass
