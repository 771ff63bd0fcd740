"""The response cache: model replies stored in the results store, keyed by what was asked.

The key is the sha256 of the canonical JSON of (model, messages, tools, params, repeat):
re-running a suite with unchanged candidates asks the same questions and gets the cached
answers, so it makes no provider call and reaches the same verdicts. The repeat index is
part of the key so that repeats stay independent samples. The endpoint decides the answer
(two servers may serve one model name), so ``api_base`` (without userinfo), custom headers
and the like are part of it; credentials never are (``api_key``, secret header values),
nor settings of how a call is sent (``timeout``, retries).

A cached reply is marked ``cached`` and keeps the cost, tokens and latency of the call that
produced it, so a cached run reports what the run costs; the budget counts it as $0 of new
spend. The cache lives in the ``response_cache`` table of the same DuckDB file: delete the
rows (or the file) to forget it.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any, Protocol

from agentctl.core.secrets import is_secret_key

if TYPE_CHECKING:
    from agentctl.providers.base import CompleteFn, CompleteWrapper, ModelReply, ModelRequest
    from agentctl.providers.resilience import CallStats



class CacheTable(Protocol):
    """Where replies are kept: ``agentctl.store.Store`` (its ``response_cache`` table)."""

    def cache_get(self, key: str) -> dict[str, Any] | None: ...

    def cache_put(self, row: dict[str, Any]) -> None: ...


CACHE_VERSION = 1
"""Part of every key: bump it when the meaning of a cached reply changes."""

_TRANSPORT_PARAMS = {"timeout", "request_timeout", "max_retries", "num_retries", "stream_timeout"}


def cache_params(params: dict[str, Any]) -> dict[str, Any]:
    """The params that shape the answer (endpoint included): no credentials, no transport settings."""
    from agentctl.core.secrets import strip_userinfo

    out: dict[str, Any] = {}
    for key, value in params.items():
        if key in _TRANSPORT_PARAMS or is_secret_key(str(key)):
            continue
        if isinstance(value, str):
            value = strip_userinfo(value)
        elif isinstance(value, dict) and key in ("extra_headers", "headers", "default_headers"):
            value = {h: v for h, v in value.items() if not is_secret_key(str(h)) and str(h).lower() != "cookie"}
        out[key] = value
    return out


def cache_key(request: ModelRequest) -> str:
    """sha256 of the canonical JSON of what the request asks (and of its repeat index)."""
    payload = {
        "v": CACHE_VERSION,
        "model": request.model,
        "messages": request.messages,
        "tools": request.tools,
        "params": cache_params(request.params),
        "repeat": request.repeat,
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class ResponseCache:
    """Model replies in the store's ``response_cache`` table."""

    def __init__(self, store: CacheTable, *, stats: CallStats | None = None) -> None:
        self.store = store
        self.stats = stats

    def get(self, key: str) -> ModelReply | None:
        from agentctl.providers.base import ModelReply

        row = self.store.cache_get(key)
        if row is None:
            return None
        return ModelReply(
            message=json.loads(row["message"]), prompt_tokens=row["prompt_tokens"] or 0,
            completion_tokens=row["completion_tokens"] or 0, cost_usd=row["cost_usd"] or 0.0,
            latency_s=row["latency_s"] or 0.0, cached=True, attempts=0,
        )

    def put(self, key: str, request: ModelRequest, reply: ModelReply) -> None:
        self.put_reply(key, request.model, request.repeat, reply)

    def put_reply(self, key: str, model: str, repeat: int, reply: ModelReply) -> None:
        self.store.cache_put({
            "key": key, "model": model, "repeat": repeat,
            "message": json.dumps(reply.message, ensure_ascii=False),
            "prompt_tokens": reply.prompt_tokens, "completion_tokens": reply.completion_tokens,
            "cost_usd": reply.cost_usd, "latency_s": reply.latency_s,
        })

    def wrapper(self) -> CompleteWrapper:
        def wrap(complete: CompleteFn) -> CompleteFn:
            async def call(request: ModelRequest) -> ModelReply:
                key = cache_key(request)
                hit = self.get(key)
                if hit is not None:
                    if self.stats is not None:
                        self.stats.calls += 1
                        self.stats.cache_hits += 1
                    return hit
                reply = await complete(request)
                self.put(key, request, reply)
                return reply

            return call

        return wrap
