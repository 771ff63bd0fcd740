"""Judge calls share the evaluation's retries, response cache and budget with the agent's calls."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

import pytest

from agentctl.config.models import Price
from agentctl.providers.base import ProviderSettings
from agentctl.providers.budget import BudgetExhausted, SpendTracker
from agentctl.providers.cache import ResponseCache
from agentctl.runner import share_calls_with_judges
from agentctl.scorers.judge import Judge
from agentctl.store import Store
from support.fake_openai import FakeOpenAI, error, text

PRICE = Price(input_usd_per_mtok=1.0, output_usd_per_mtok=10.0)
CALL_USD = (1000 * 1.0 + 100 * 10.0) / 1e6


def _judge(fake: FakeOpenAI) -> Judge:
    return Judge("openai/judge-model", {"api_base": fake.base_url, "api_key": "sk-test"}, pricing=PRICE)


def test_judge_calls_are_retried_cached_and_charged(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    answers = iter([error(429, retry_after=0.01)])
    fake_openai.script(lambda body: next(answers, None) or text('{"score": 8}', prompt_tokens=1000,
                                                                 completion_tokens=100))
    store = Store(tmp_path / "s.duckdb")
    settings = ProviderSettings(max_attempts=3, backoff_s=0.01)
    settings.complete_wrappers.append(ResponseCache(store).wrapper())
    tracker = SpendTracker(None)
    settings.complete_wrappers.append(tracker.wrapper())
    judge = _judge(fake_openai)
    share_calls_with_judges([SimpleNamespace(judge=judge)], settings, tracker)  # type: ignore[list-item]

    first = asyncio.run(judge.complete_json("Is the reply polite?"))
    assert first.text == '{"score": 8}'
    assert len(fake_openai.requests) == 2  # the 429 was retried by our retry wrapper
    assert first.cost_usd == pytest.approx(CALL_USD)
    assert tracker.spent == pytest.approx(CALL_USD)

    again = asyncio.run(judge.complete_json("Is the reply polite?"))
    assert again.text == first.text
    assert len(fake_openai.requests) == 2  # served from the response cache
    assert tracker.spent == pytest.approx(CALL_USD)  # a cached reply spends nothing new
    store.close()


def test_judge_calls_stop_when_the_budget_is_spent(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(lambda body: text('{"score": 8}', prompt_tokens=1000, completion_tokens=100))
    settings = ProviderSettings(max_attempts=1)
    tracker = SpendTracker(CALL_USD / 2)
    settings.complete_wrappers.append(tracker.wrapper())
    judge = _judge(fake_openai)
    share_calls_with_judges([SimpleNamespace(judge=judge)], settings, tracker)  # type: ignore[list-item]
    asyncio.run(judge.complete_json("first"))
    with pytest.raises(BudgetExhausted):
        asyncio.run(judge.complete_json("second"))
    assert len(fake_openai.requests) == 1
