"""Ten support-desk conversations, the scripted model that answers them, the tools, and the ground truth.

The model is the local fake OpenAI server (``tests/support/fake_openai.py``) with a script keyed on the
conversation's last user message; every producer's agent runs the same conversations against it,
so what each export should import to is known exactly: the ground truth is taken from what the
server received and answered, not from what any instrumentation recorded.
"""

from __future__ import annotations

import json
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # tests/, for fake_openai

from support.fake_openai import FakeOpenAI, Reply, text, tool_calls  # noqa: E402

SYSTEM = "You are Ada, the support agent of Parcelly. Use the tools. Escalate refunds you cannot make."
MODEL = "gpt-4o-mini"
GREETING = "Hello! How can I help you today?"


@dataclass
class Scenario:
    name: str
    user: str
    """The real request (the last user message; unique, it keys the script)."""
    steps: list[dict[str, Any]]
    """Model replies in order: ``{"calls": [(name, args), ...], "text": ...}``."""
    history: list[dict[str, Any]] = field(default_factory=list)
    """An earlier exchange the application sends before the request."""

    def input_messages(self) -> list[dict[str, Any]]:
        return [*self.history, {"role": "user", "content": self.user}]


def _hi() -> list[dict[str, Any]]:
    return [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": GREETING}]


SCENARIOS = [
    Scenario("s01_parallel", "Where are my orders A100 and A101?", [
        {"calls": [("get_order", {"order_id": "A100"}), ("get_order", {"order_id": "A101"})]},
        {"text": "A100 has shipped and A101 is still being packed."}]),
    Scenario("s02_tool_error", "What is the status of order Z999?", [
        {"calls": [("get_order", {"order_id": "Z999"})]},
        {"text": "I could not find order Z999. Could you check the number?"}]),
    Scenario("s03_refund_escalated", "Please refund 150 dollars for order A102, it never arrived.", [
        {"calls": [("issue_refund", {"order_id": "A102", "amount_cents": 15000})]},
        {"calls": [("escalate_to_human", {"reason": "refund of 15000 cents exceeds the limit"})]},
        {"text": "That refund is above what I can approve, so I have passed it to a colleague."}]),
    Scenario("s04_text_and_call", "Refund 20 dollars for order A103, the box was damaged.", [
        {"text": "Sorry about the damaged box, I am refunding it now.",
         "calls": [("issue_refund", {"order_id": "A103", "amount_cents": 2000})]},
        {"text": "Done: 20 dollars are on their way back to your card."}]),
    Scenario("s05_no_args", "Which account am I logged into?", [
        {"calls": [("get_account", {})]},
        {"text": "You are logged in as Dana Reyes (gold tier)."}]),
    Scenario("s06_hi_cancel", "Cancel order A104 please.", [
        {"calls": [("cancel_order", {"order_id": "A104"})]},
        {"text": "Order A104 is cancelled."}], history=_hi()),
    Scenario("s07_hi_status", "What is the status of order A105?", [
        {"calls": [("get_order", {"order_id": "A105"})]},
        {"text": "Order A105 has shipped."}], history=_hi()),
    Scenario("s08_read_then_write", "Send order A106 to 12 Elm Street instead.", [
        {"calls": [("get_order", {"order_id": "A106"})]},
        {"calls": [("update_address", {"order_id": "A106", "address": "12 Elm Street"})]},
        {"text": "Order A106 will now go to 12 Elm Street."}]),
    Scenario("s09_no_tools", "What are your opening hours?", [
        {"text": "We answer messages every day from 8am to 8pm."}]),
    Scenario("s10_parallel_write", "Refund 15 dollars for order A107 and tell me where A108 is.", [
        {"calls": [("issue_refund", {"order_id": "A107", "amount_cents": 1500}),
                   ("get_order", {"order_id": "A108"})]},
        {"text": "15 dollars are refunded for A107, and A108 has shipped."}]),
]
BY_USER = {s.user: s for s in SCENARIOS}

# ---- tools (what the agent executes) ----------------------------------------------------------

ORDERS = {"A100": "shipped", "A101": "packing", "A104": "processing", "A105": "shipped", "A106": "processing",
          "A108": "shipped"}


def get_order(order_id: str) -> dict[str, Any]:
    """Look up an order by its id."""
    if order_id not in ORDERS:
        raise ValueError(f"order {order_id} not found")
    return {"order_id": order_id, "status": ORDERS[order_id]}


def issue_refund(order_id: str, amount_cents: int) -> dict[str, Any]:
    """Refund part or all of an order, in cents."""
    if amount_cents > 10000:
        return {"error": "refund_limit_exceeded"}
    return {"refund_id": f"rf_{order_id}", "status": "refunded"}


def escalate_to_human(reason: str) -> dict[str, Any]:
    """Hand the conversation to a person."""
    return {"ticket": "ESC-1", "status": "queued"}


def get_account() -> dict[str, Any]:
    """The account of the customer in this chat."""
    return {"customer": "Dana Reyes", "tier": "gold"}


def cancel_order(order_id: str) -> dict[str, Any]:
    """Cancel an order that has not shipped."""
    return {"order_id": order_id, "status": "cancelled"}


def update_address(order_id: str, address: str) -> dict[str, Any]:
    """Change the delivery address of an order."""
    return {"order_id": order_id, "address": address, "status": "updated"}


TOOLS = {f.__name__: f for f in (get_order, issue_refund, escalate_to_human, get_account, cancel_order,
                                  update_address)}
_PROPS: dict[str, dict[str, Any]] = {
    "order_id": {"type": "string"}, "amount_cents": {"type": "integer"}, "reason": {"type": "string"},
    "address": {"type": "string"},
}


def tool_schemas() -> list[dict[str, Any]]:
    """The tools in OpenAI function form (for agents that send them by hand)."""
    out = []
    for name, fn in TOOLS.items():
        params = [p for p in fn.__code__.co_varnames[: fn.__code__.co_argcount]]
        out.append({"type": "function", "function": {
            "name": name, "description": fn.__doc__,
            "parameters": {"type": "object", "properties": {p: _PROPS[p] for p in params}, "required": params}}})
    return out


# ---- the scripted model -------------------------------------------------------------------------


def _text_of(content: Any) -> str:
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return "" if content is None else str(content)


class ScriptedModel:
    """Answers each request from the script of its conversation; keeps every exchange."""

    def __init__(self) -> None:
        self.exchanges: list[tuple[dict[str, Any], dict[str, Any]]] = []
        self._lock = threading.Lock()

    def __call__(self, body: dict[str, Any]) -> Reply:
        messages = body.get("messages") or []
        users = [i for i, m in enumerate(messages) if m.get("role") == "user"]
        last = users[-1] if users else -1
        scenario = BY_USER.get(_text_of(messages[last].get("content")) if users else "")
        if scenario is None:
            raise ValueError(f"no script for {messages[last] if users else body}")
        step = sum(1 for m in messages[last + 1:] if m.get("role") == "assistant")
        spec = scenario.steps[min(step, len(scenario.steps) - 1)]
        tokens = {"prompt_tokens": 40 + 7 * len(messages), "completion_tokens": 6 + 3 * step}
        n = SCENARIOS.index(scenario) + 1
        if spec.get("calls"):
            reply = tool_calls(*spec["calls"], content=spec.get("text"),
                               ids=[f"call_{n:02d}_{step}_{i}" for i in range(len(spec["calls"]))], **tokens)
        else:
            reply = text(spec["text"], **tokens)
        with self._lock:
            self.exchanges.append((body, dict(reply.body or {})))
        return reply


def serve() -> tuple[FakeOpenAI, ScriptedModel]:
    fake = FakeOpenAI()
    model = ScriptedModel()
    fake.script(model)
    return fake, model


# ---- ground truth -------------------------------------------------------------------------------


def ground_truth(exchanges: list[tuple[dict[str, Any], dict[str, Any]]]) -> list[dict[str, Any]]:
    """Per conversation, from what the model was sent and answered: the exact expectations of an import."""
    by_scenario: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
    for body, reply in exchanges:
        users = [m for m in body["messages"] if m.get("role") == "user"]
        by_scenario.setdefault(BY_USER[_text_of(users[-1]["content"])].name, []).append((body, reply))
    out = []
    for scenario in SCENARIOS:
        calls = by_scenario.get(scenario.name, [])
        if not calls:
            continue
        last_body, last_reply = calls[-1]
        history = [*last_body["messages"], last_reply["choices"][0]["message"]]
        replies = [r["choices"][0]["message"] for _, r in calls]
        out.append({
            "conversation": scenario.name,
            "model_calls": len(calls),
            "user_turns": [_text_of(m["content"]) for m in history if m.get("role") == "user"],
            "tool_calls": [{"name": c["function"]["name"], "args": json.loads(c["function"]["arguments"])}
                           for r in replies for c in r.get("tool_calls") or []],
            "tool_outputs": [_text_of(m.get("content")) for m in history if m.get("role") == "tool"],
            "final_text": replies[-1].get("content"),
            "usage": {k: sum(r["usage"][k] for _, r in calls) for k in ("prompt_tokens", "completion_tokens")},
            "messages": history,
        })
    return out
