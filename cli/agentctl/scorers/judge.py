"""Judge models for LLM-judged scorers: every call goes through litellm.

deepeval and ragas each speak to a judge through their own interface; both are adapted
here to one :class:`Judge` that calls ``litellm.acompletion``, so any provider litellm knows
works (and the local test server can stand in for it). A judge call's cost is litellm's
price of the response (computed once, by litellm, as it answers), or the suite's ``pricing`` for models litellm
does not know, and is added to the :class:`CostMeter` of the run being scored: eval cost,
kept apart from the agent's own cost.

The runner may share its limits with judges: set ``Judge.limiter`` (an asyncio semaphore
shared with agent calls) and ``Judge.on_cost`` (charged with every call's cost, e.g. the
budget) on each scorer's ``judge`` after creating it.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentctl.core.cost import call_cost
from agentctl.providers.litellm_setup import import_litellm, lean_call, litellm_price, offline_environment

if TYPE_CHECKING:
    from agentctl.config.models import Price
    from agentctl.providers.base import CompleteFn

JSON_INSTRUCTION = "Respond with a single JSON object only, no prose, matching this JSON Schema:\n"
"""Appended to prompts that expect structured output (ragas' prompts rely on the client for it)."""

DEFAULT_NUM_RETRIES = 2


@dataclass
class CostMeter:
    """Judge calls made while scoring one run, and what they cost."""

    cost_usd: float = 0.0
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


_meter: contextvars.ContextVar[CostMeter | None] = contextvars.ContextVar(
    "agentctl_judge_meter", default=None
)


@contextlib.contextmanager
def metering() -> Iterator[CostMeter]:
    """Count the judge calls made inside the block (tasks started inside share the meter)."""
    meter = CostMeter()
    token = _meter.set(meter)
    try:
        yield meter
    finally:
        _meter.reset(token)


@dataclass
class JudgeReply:
    """What a judge said, and what saying it cost."""

    text: str
    cost_usd: float
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass
class Judge:
    """A judge model (litellm model string) with the parameters of every call."""

    model: str
    params: dict[str, Any] = field(default_factory=dict)
    """Passed to litellm unchanged (api_base, api_key, temperature, num_retries, ...)."""
    pricing: Price | None = None
    """Price per million tokens, for models litellm's cost map does not know."""
    limiter: asyncio.Semaphore | None = None
    """Shared with the agent's calls when the runner sets it: judges count against its limit."""
    on_cost: Callable[[float], None] | None = None
    """Called with each call's cost (the runner's budget)."""
    embedding_params: dict[str, Any] | None = None
    """Where embedding calls go; default: the judge's ``api_base``/``api_key``."""
    complete_fn: CompleteFn | None = None
    """The evaluation's wrapped model call (response cache, total budget, circuit breaker,
    retries with backoff, per-model rate limits), set by the runner so that judge calls
    share them with the agent's calls. ``None``: call litellm directly (library use)."""
    timeout_s: float = 60.0

    async def complete(self, messages: list[dict[str, Any]], *, json_mode: bool = True) -> JudgeReply:
        """One chat completion through litellm; its cost is added to the current meter."""
        if self.complete_fn is not None:
            text, cost, prompt_tokens, completion_tokens = await self._complete_wrapped(messages, json_mode)
        else:
            litellm = import_litellm()
            kwargs: dict[str, Any] = {"num_retries": DEFAULT_NUM_RETRIES, **self.params}
            if json_mode:
                kwargs.setdefault("response_format", {"type": "json_object"})
            async with self.limiter if self.limiter is not None else contextlib.nullcontext():
                with lean_call(priced=self.pricing is not None):
                    response = await litellm.acompletion(model=self.model, messages=messages, **kwargs)
            usage = getattr(response, "usage", None)
            prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
            completion_tokens = int(getattr(usage, "completion_tokens", 0) or 0)
            cost = call_cost(self.pricing, prompt_tokens, completion_tokens,
                             lambda: litellm_price(litellm, response))
            text = response.choices[0].message.content or ""
        # The wrapped call charged the evaluation's budget itself.
        self._charge(cost, prompt_tokens, completion_tokens, budget=self.complete_fn is None)
        return JudgeReply(text, cost, prompt_tokens, completion_tokens)

    async def _complete_wrapped(self, messages: list[dict[str, Any]], json_mode: bool) -> tuple[str, float, int, int]:
        from agentctl.providers.base import ModelRequest

        assert self.complete_fn is not None
        params = dict(self.params)
        if json_mode:
            params.setdefault("response_format", {"type": "json_object"})
        request = ModelRequest(model=self.model, messages=messages, tools=None, params=params,
                               timeout_s=self.timeout_s, price=self.pricing, candidate=f"judge:{self.model}")
        async with self.limiter if self.limiter is not None else contextlib.nullcontext():
            reply = await self.complete_fn(request)
        text = str(reply.message.get("content") or "")
        # A cached reply cost nothing now; its original cost is what the judging was worth.
        return text, reply.cost_usd, reply.prompt_tokens, reply.completion_tokens

    async def complete_json(self, prompt: str, schema: dict[str, Any] | None = None) -> JudgeReply:
        """Ask for a JSON object (the schema, when given, is spelled out in the prompt)."""
        if schema is not None:
            prompt = f"{prompt}\n\n{JSON_INSTRUCTION}{json.dumps(schema)}"
        return await self.complete([{"role": "user", "content": prompt}], json_mode=True)

    async def embed(self, texts: list[str], model: str) -> list[list[float]]:
        """Embeddings through litellm (``ragas.response_relevancy``); cost metered like completions."""
        litellm = import_litellm()
        if self.embedding_params is not None:
            params = dict(self.embedding_params)
        else:
            params = {
                k: v for k, v in self.params.items() if k in ("api_base", "api_key", "api_version", "timeout")
            }
        async with self.limiter if self.limiter is not None else contextlib.nullcontext():
            with lean_call(priced=False):
                response = await litellm.aembedding(
                    model=model, input=texts, num_retries=DEFAULT_NUM_RETRIES, **params
                )
        cost = call_cost(None, 0, 0, lambda: litellm_price(litellm, response))
        self._charge(cost, 0, 0, budget=True)
        return [list(item["embedding"]) for item in response.data]

    def _charge(self, cost: float, prompt_tokens: int, completion_tokens: int, *, budget: bool) -> None:
        """Add a call to the current run's meter and, when asked, to the evaluation's budget."""
        meter = _meter.get()
        if meter is not None:
            meter.cost_usd += cost
            meter.calls += 1
            meter.prompt_tokens += prompt_tokens
            meter.completion_tokens += completion_tokens
        if budget and self.on_cost is not None:
            self.on_cost(cost)


def parse_json_object(text: str) -> Any:
    """The JSON object in a judge's reply (tolerates code fences and prose around it)."""
    start, end = text.find("{"), text.rfind("}")
    if start == -1 or end < start:
        raise ValueError(f"judge reply is not a JSON object: {text[:200]!r}")
    return json.loads(text[start : end + 1])


# --- ragas: an async client with the instructor-style interface llm_factory expects ---------


class RagasJudgeClient:
    """What ``ragas.llms.llm_factory(..., adapter="litellm")`` calls: ``chat.completions.create``.

    It asks the judge for JSON matching ``response_model`` and validates it, retrying once
    when the reply does not parse (as instructor would).
    """

    def __init__(self, judge: Judge) -> None:
        self.judge = judge
        self.chat = _Namespace(completions=_Namespace(create=self.create))

    async def create(
        self, *, model: str, messages: list[dict[str, Any]], response_model: Any, **_: Any
    ) -> Any:
        schema = response_model.model_json_schema()
        asked = [dict(m) for m in messages]
        asked[-1]["content"] = f"{asked[-1]['content']}\n\n{JSON_INSTRUCTION}{json.dumps(schema)}"
        error: Exception | None = None
        for _attempt in range(2):
            reply = await self.judge.complete(asked, json_mode=True)
            try:
                return response_model.model_validate(parse_json_object(reply.text))
            except Exception as exc:  # pydantic or JSON error: ask again once
                error = exc
        raise ValueError(f"judge reply did not match the expected structure: {error}")


@dataclass
class _Namespace:
    completions: Any = None
    create: Any = None


# --- keeping the libraries quiet and out of the user's project -------------------------------


def library_environment() -> None:
    """Environment for deepeval and ragas: no telemetry, no .env reading, no files in the project.

    deepeval writes its cache folder (``.deepeval/``) into the working directory unless
    ``DEEPEVAL_CACHE_FOLDER`` points elsewhere (read once, when ``deepeval.constants`` is
    imported), so this must run before deepeval is imported.
    """
    offline_environment()
    state = Path(tempfile.gettempdir()) / f"agentctl-deepeval-{_user_tag()}"
    os.environ.setdefault("DEEPEVAL_CACHE_FOLDER", str(state / "cache"))
    os.environ.setdefault("DEEPEVAL_HOME", str(state / "home"))
    os.environ.setdefault("DEEPEVAL_DISABLE_DOTENV", "1")  # the user's .env is for their app, not for us
    os.environ["DEEPEVAL_UPDATE_WARNING_OPT_IN"] = "0"  # "1" would ask pypi.org for a newer version


def _user_tag() -> str:
    getuid = getattr(os, "getuid", None)
    return str(getuid()) if getuid is not None else "user"
