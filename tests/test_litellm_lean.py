"""litellm used lean for agentctl's calls (providers/litellm_setup.py), over real HTTP to the fake server.

For agentctl's own calls litellm must not run its logging payload, success/failure callbacks
or a price agentctl does not read, and must not look a model up in its cost map on every
call; calls anyone else makes through litellm keep litellm's behaviour; tokens and cost stay
what they were.
"""

from __future__ import annotations

import asyncio
import cProfile
import pstats
import time
from collections.abc import Iterator
from typing import Any

import pytest

from agentctl.config.models import Price
from agentctl.providers.base import ModelRequest
from agentctl.providers.litellm_model import complete
from agentctl.providers.litellm_setup import import_litellm
from support.fake_openai import FakeOpenAI, error, text

MESSAGES = [{"role": "user", "content": "hi"}]


def request(fake: FakeOpenAI, model: str, price: Price | None = None) -> ModelRequest:
    return ModelRequest(model=model, messages=MESSAGES, tools=None, timeout_s=10, price=price,
                        params={"api_base": fake.base_url, "api_key": "sk-test-lean-0123456789"})


class Recorder:
    """Which events litellm sent a callback registered in ``litellm.callbacks``."""

    def __init__(self) -> None:
        self.events: list[str] = []


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    litellm = import_litellm()
    from litellm.integrations.custom_logger import CustomLogger

    rec = Recorder()

    class Callback(CustomLogger):  # type: ignore[misc]
        def log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
            rec.events.append("success")

        def log_failure_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
            rec.events.append("failure")

        async def async_log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any,
                                          end_time: Any) -> None:
            rec.events.append("async_success")

        async def async_log_failure_event(self, kwargs: Any, response_obj: Any, start_time: Any,
                                          end_time: Any) -> None:
            rec.events.append("async_failure")

    saved = list(litellm.callbacks)
    litellm.callbacks = [Callback()]
    try:
        yield rec
    finally:
        litellm.callbacks = saved


async def _settle(rec: Recorder, want: int) -> None:
    # litellm's logging worker runs callbacks as tasks: give them a bounded chance to run.
    for _ in range(200):
        if len(rec.events) >= want:
            return
        await asyncio.sleep(0.01)


def test_litellm_callbacks_are_not_invoked_for_our_calls(fake_openai: FakeOpenAI, recorder: Recorder) -> None:
    async def scenario() -> tuple[list[str], list[str]]:
        fake_openai.script(lambda body: text("ok"))
        await complete(request(fake_openai, "openai/fake-lean"))
        fake_openai.script(lambda body: error(500))
        with pytest.raises(Exception) as failed:
            await complete(request(fake_openai, "openai/fake-lean"))
        assert getattr(failed.value, "status_code", None) == 500  # litellm's error mapping is untouched
        await _settle(recorder, 1)
        ours = list(recorder.events)
        # The same callback does see a call someone else makes through litellm: the skip is scoped.
        fake_openai.script(lambda body: text("ok"))
        await import_litellm().acompletion(model="openai/fake-lean", messages=MESSAGES, api_base=fake_openai.base_url,
                                  api_key="sk-test-lean-0123456789", max_retries=0)
        await _settle(recorder, 1)
        return ours, list(recorder.events)

    ours, after_direct = asyncio.run(scenario())
    assert ours == []
    assert "async_success" in after_direct


def _lookups(profile: cProfile.Profile) -> int:
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    return sum(v[1] for (_, _, name), v in stats.items() if name in ("get_model_info_helper", "_build_model_info"))


def _profiled_calls(fake: FakeOpenAI, req: ModelRequest, calls: int) -> tuple[int, int, list[Any]]:
    """Cost-map lookups in the first call and in the ``calls - 1`` after it, and the replies."""
    fake.script(lambda body: text("ok", prompt_tokens=1000, completion_tokens=500))

    async def scenario() -> tuple[int, int, list[Any]]:
        first, rest = cProfile.Profile(time.process_time), cProfile.Profile(time.process_time)
        first.enable()
        replies = [await complete(req)]
        first.disable()
        rest.enable()
        for _ in range(calls - 1):
            replies.append(await complete(req))
        rest.disable()
        return _lookups(first), _lookups(rest), replies

    return asyncio.run(scenario())


def test_a_model_missing_from_the_cost_map_is_looked_up_once_not_per_call(fake_openai: FakeOpenAI) -> None:
    first, rest, replies = _profiled_calls(fake_openai, request(fake_openai, "openai/lean-unknown-1"), 4)
    assert first > 0  # litellm did try to price it, once
    assert rest == 0
    assert [(r.prompt_tokens, r.completion_tokens, r.cost_usd) for r in replies] == [(1000, 500, 0.0)] * 4


def test_a_suite_priced_call_is_not_priced_by_litellm(fake_openai: FakeOpenAI) -> None:
    price = Price(input_usd_per_mtok=1000, output_usd_per_mtok=2000)
    first, rest, replies = _profiled_calls(fake_openai, request(fake_openai, "openai/lean-priced", price), 3)
    assert (first, rest) == (0, 0)
    assert [r.cost_usd for r in replies] == [pytest.approx((1000 * 1000 + 500 * 2000) / 1e6)] * 3


def test_a_cost_map_model_keeps_litellms_price(fake_openai: FakeOpenAI) -> None:
    first, rest, replies = _profiled_calls(fake_openai, request(fake_openai, "openai/gpt-4o-mini"), 3)
    expected = import_litellm().cost_per_token(model="gpt-4o-mini", prompt_tokens=1000, completion_tokens=500)
    assert rest == 0  # litellm caches the model info of a model it knows
    assert [r.cost_usd for r in replies] == [pytest.approx(sum(expected))] * 3
    assert replies[0].cost_usd == pytest.approx((1000 * 0.15 + 500 * 0.60) / 1e6)


def _count(profile: cProfile.Profile, function: str) -> int:
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    return sum(v[1] for (path, _, name), v in stats.items() if name == function and "litellm" in path)


def test_a_cost_map_model_is_priced_once_per_call(fake_openai: FakeOpenAI) -> None:
    """litellm prices the response as it answers; neither litellm's logging nor agentctl prices it again."""
    fake_openai.script(lambda body: text("ok", prompt_tokens=1000, completion_tokens=500))
    req = request(fake_openai, "openai/gpt-4o-mini")

    async def scenario() -> tuple[int, float]:
        await complete(req)  # warm: lazy imports
        profile = cProfile.Profile(time.process_time)
        profile.enable()
        reply = await complete(req)
        await asyncio.sleep(0.05)  # a logging task litellm scheduled would run here
        profile.disable()
        return _count(profile, "completion_cost"), reply.cost_usd

    pricings, cost = asyncio.run(scenario())
    assert pricings == 1
    assert cost == pytest.approx((1000 * 0.15 + 500 * 0.60) / 1e6)


def test_a_judge_calling_litellm_directly_is_lean_and_priced_once(fake_openai: FakeOpenAI, recorder: Recorder) -> None:
    from agentctl.scorers.judge import Judge

    fake_openai.script(lambda body: text('{"score": 1}', prompt_tokens=1000, completion_tokens=500))
    judge = Judge("openai/gpt-4o-mini", {"api_base": fake_openai.base_url, "api_key": "sk-test-lean-0123456789"})

    async def scenario() -> tuple[int, Any]:
        await judge.complete_json("rate it")  # warm
        profile = cProfile.Profile(time.process_time)
        profile.enable()
        reply = await judge.complete_json("rate it")
        await _settle(recorder, 1)
        profile.disable()
        return _count(profile, "completion_cost"), reply

    pricings, reply = asyncio.run(scenario())
    assert (pricings, recorder.events) == (1, [])
    assert (reply.prompt_tokens, reply.completion_tokens) == (1000, 500)
    assert reply.cost_usd == pytest.approx((1000 * 0.15 + 500 * 0.60) / 1e6)
