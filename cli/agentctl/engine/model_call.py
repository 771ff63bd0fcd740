"""How the agent loop calls a model: one async function from a request to a reply.

Every model call of the loop goes through ``complete(request)`` (:data:`CompleteFn`); the
providers layer adds retries, rate limits, a response cache and budgets by wrapping it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from agentctl.config.models import Price


@dataclass(frozen=True)
class ModelRequest:
    """One chat-completion call of the agent loop."""

    model: str
    """litellm model string."""
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] | None
    params: dict[str, Any]
    """The candidate's params (may hold ``api_key``: never log or store them unscrubbed)."""
    timeout_s: float
    max_retries: int = 0
    """Retries the provider client makes (with its own backoff) before ``complete`` raises."""
    price: Price | None = None
    """The suite's price for a model litellm's cost map does not know."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Extra litellm keyword arguments from the settings."""
    case_id: str = ""
    candidate: str = ""
    repeat: int = 0


@dataclass
class ModelReply:
    """The assistant's answer to a :class:`ModelRequest`, in OpenAI chat format."""

    message: dict[str, Any]
    """``{"role": "assistant", "content": ..., "tool_calls": [...]}`` (tool_calls only when present)."""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_s: float = 0.0
    cached: bool = False
    """Served from a response cache (set by a caching wrapper); cost and latency are the original call's."""
    attempts: int = 1
    """Attempts the call took (set by the retry wrapper)."""


CompleteFn = Callable[[ModelRequest], Awaitable[ModelReply]]
CompleteWrapper = Callable[[CompleteFn], CompleteFn]


class LoopSettings(Protocol):
    """What the agent loop reads of the evaluation's call settings (``ProviderSettings``)."""

    @property
    def timeout_s(self) -> float: ...

    @property
    def litellm_kwargs(self) -> dict[str, Any]: ...
