"""What a model's tokens cost: the suite's ``pricing:`` first, else litellm's local cost map.

One place answers "what did these tokens cost, and who said so", for replays of recordings
without ``cost_usd``, for ``--dry-run`` estimates and for the "no price" warnings. The cost map
is the JSON file shipped in the litellm package (what ``LITELLM_LOCAL_MODEL_COST_MAP=True``
makes litellm use), read without importing litellm and never fetched.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

    from agentctl.core.cost import PerMillionTokens

SUITE_PRICING = "suite pricing"
LITELLM_PRICES = "litellm's local price map"


@dataclass(frozen=True)
class TokenPrice:
    """USD per prompt token and per completion token, and where the price came from."""

    prompt: float
    completion: float
    source: str

    def cost(self, prompt_tokens: float, completion_tokens: float) -> float:
        return prompt_tokens * self.prompt + completion_tokens * self.completion


def token_price(pricing: Mapping[str, PerMillionTokens], model: str | None) -> TokenPrice | None:
    """The price of ``model``'s tokens (``pricing``: the suite's), or None when neither it nor litellm knows it."""
    if not model:
        return None
    price = pricing.get(model)
    if price is not None:
        return TokenPrice(price.input_usd_per_mtok / 1e6, price.output_usd_per_mtok / 1e6, SUITE_PRICING)
    return _litellm_price(model)


def _litellm_price(model: str) -> TokenPrice | None:
    prices = _price_list()
    for name in (model, model.split("/", 1)[-1]):
        entry = prices.get(name)
        if isinstance(entry, dict) and "input_cost_per_token" in entry:
            return TokenPrice(float(entry["input_cost_per_token"]), float(entry.get("output_cost_per_token") or 0),
                              LITELLM_PRICES)
    return None


@cache
def _price_list() -> dict[str, Any]:
    """litellm's shipped cost map read as JSON, without importing litellm (for validation)."""
    spec = importlib.util.find_spec("litellm")
    if spec is None or spec.origin is None:
        return {}
    prices = Path(spec.origin).parent / "model_prices_and_context_window_backup.json"
    try:
        data = json.loads(prices.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def has_price(pricing: Mapping[str, PerMillionTokens], model: str) -> bool:
    """Whether a live model has a price (for validate and run warnings)."""
    if model in pricing:
        return True
    if not _price_list():
        return True  # no cost map to ask: do not warn on a guess
    return _litellm_price(model) is not None


def no_price_message(model: str, role: str) -> str:
    return (f"{model} has no price ({role}; not in litellm's cost map nor the suite's pricing): its tokens "
            "count as $0, so cost gates see tool fees only; add it under pricing: "
            "{input_usd_per_mtok: ..., output_usd_per_mtok: ...}")


def unpriced_replay_models(pricing: Mapping[str, PerMillionTokens], recordings: list[Any]) -> dict[str, str]:
    """Models of recordings that carry tokens but no ``cost_usd`` -> who prices them.

    The value is :data:`SUITE_PRICING`, :data:`LITELLM_PRICES` or ``"unpriced"`` (counted as $0).
    """
    out: dict[str, str] = {}
    for rec in recordings:
        if rec.cost_usd is not None or any(m.get("cost_usd") for m in rec.messages if isinstance(m, dict)):
            continue
        prompt, completion = recorded_tokens(rec)
        if not (prompt or completion):
            continue
        model = rec.model or "(no model)"
        if model not in out:
            price = token_price(pricing, rec.model)
            out[model] = price.source if price is not None else "unpriced"
    return out


def recorded_tokens(rec: Any) -> tuple[int, int]:
    """(prompt, completion) tokens of a recording: its usage, else the sum of its messages' usage."""
    usage = rec.usage or {}
    prompt, completion = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
    if not (prompt or completion):
        for m in rec.messages:
            u = m.get("usage") if isinstance(m, dict) else None
            if isinstance(u, dict):
                prompt += int(u.get("prompt_tokens") or 0)
                completion += int(u.get("completion_tokens") or 0)
    return prompt, completion
