"""Model candidates through litellm: the one model call (:func:`complete`) and the provider.

litellm is imported on the first model call, never at import time, so a ``replay:``-only
evaluation and ``agentctl --help`` do not pay for it.
"""

from __future__ import annotations

import time
from typing import Any

from agentctl.config.models import CandidateSpec, Suite
from agentctl.core.cost import call_cost
from agentctl.core.trajectory import Trajectory
from agentctl.datasets.models import Case, Dataset
from agentctl.engine.loop import AgentLoop
from agentctl.providers.base import ModelReply, ModelRequest, ProviderSettings


class EmptyResponse(Exception):
    """The provider answered 200 but with no choice to read (a provider failure)."""


async def complete(request: ModelRequest) -> ModelReply:
    """One chat-completion call through litellm, with its usage, cost and latency.

    Raises litellm's exceptions (after litellm's own retries) and :class:`EmptyResponse`.
    """
    from agentctl.providers.litellm_setup import import_litellm, lean_call, litellm_price

    litellm = import_litellm()
    kwargs: dict[str, Any] = {**request.extra, **request.params}
    kwargs.setdefault("timeout", request.timeout_s)
    # litellm's num_retries stacks on the client's own retries (2n+1 calls); max_retries is exact.
    kwargs.setdefault("max_retries", request.max_retries)
    if request.tools:
        kwargs["tools"] = request.tools
        # Our tools are plain functions; without this litellm imports its MCP gateway, which
        # needs the optional 'mcp' package and fails every tool-calling request without it.
        kwargs["_skip_mcp_handler"] = True
    started = time.monotonic()
    with lean_call(priced=request.price is not None):
        response = await litellm.acompletion(model=request.model, messages=request.messages, **kwargs)
    latency = time.monotonic() - started
    choices = getattr(response, "choices", None) or []
    if not choices or getattr(choices[0], "message", None) is None:
        raise EmptyResponse("the provider's response has no choices")
    usage = getattr(response, "usage", None)
    prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
    completion_tokens = int(getattr(usage, "completion_tokens", 0) or 0)
    return ModelReply(
        message=_message_dict(choices[0].message),
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        cost_usd=call_cost(request.price, prompt_tokens, completion_tokens,
                           lambda: litellm_price(litellm, response)),
        latency_s=latency,
    )


def _message_dict(message: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"role": "assistant", "content": getattr(message, "content", None)}
    calls = []
    for tc in getattr(message, "tool_calls", None) or []:
        fn = getattr(tc, "function", None)
        calls.append(
            {
                "id": getattr(tc, "id", None),
                "type": "function",
                "function": {"name": getattr(fn, "name", None), "arguments": getattr(fn, "arguments", None)},
            }
        )
    if calls:
        out["tool_calls"] = calls
    return out


class LiteLLMProvider:
    """Runs a model candidate through the agent loop, calling models with litellm."""

    def __init__(self, candidate: CandidateSpec, suite: Suite, dataset: Dataset, settings: ProviderSettings) -> None:
        from agentctl.providers.litellm_setup import warm_up

        warm_up()  # litellm imported and its first-call set-up built now, not in the first (timed) call
        self.candidate = candidate
        self.settings = settings
        self.loop = AgentLoop(candidate, suite, dataset, settings.wrap(complete), settings)

    async def run(self, case: Case, repeat: int) -> Trajectory:
        """One run of ``case`` (``repeat`` counts from 1)."""
        return await self.loop.run(case, repeat)


def litellm_provider(candidate: CandidateSpec, suite: Suite, dataset: Dataset, settings: ProviderSettings) -> LiteLLMProvider:
    """The ``litellm`` entry point of ``agentctl.providers``: every model no other plugin claims."""
    return LiteLLMProvider(candidate, suite, dataset, settings)
