"""Per-model limits measured at the server: concurrency in flight and requests per minute."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from agentctl.runner import RunOptions, run_suite
from fake_openai import FakeOpenAI, Reply
from test_faults_support import API_KEY, agent_reply, write_suite


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
    starts = meter.starts["fake-agent"]
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert len(starts) == 16 and min(gaps) >= 0.15  # concurrency 1: one after the other
    # 600 rpm = one request every 0.1 s at most, in any window
    assert all(sum(1 for t in starts if s <= t < s + 1.0) <= 10 for s in starts)


def test_rpm_spaces_requests(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    meter = PerModelMeter(delay_s=0.0)
    fake_openai.script(meter)
    suite = write_suite(tmp_path, fake_openai.base_url, n_cases=6,
                        execution={"limits": {"openai/fake-agent": {"rpm": 300}}})
    run_suite(suite, db=tmp_path / "x.duckdb", options=RunOptions(concurrency=6))
    starts = sorted(meter.starts["fake-agent"])
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    # 300 rpm: starts 0.2 s apart. Measured at the server, one late request can shorten the
    # next gap, so the rate is checked over the whole span and each gap only loosely.
    assert len(starts) == 12
    assert starts[-1] - starts[0] >= 11 * 0.2 * 0.95
    assert min(gaps) >= 0.2 * 0.4
    assert fake_openai.peak_concurrency >= 1


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
