"""Recorded agent runs: a simulated backend answers the tools, two agents (prod and a
cheaper candidate) work each ticket, and planted mistakes change what some runs do.

Tool outputs come only from :class:`Backend`, a pure function of the case's world and the
call's arguments, so the same call gets the same answer in every recording and in the
case's fixtures (replays and live runs agree).
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field, replace
from typing import Any

from catalog import TOOLS
from world import Story, digest, later, money

AGENTS: dict[str, dict[str, Any]] = {
    "prod": {
        "agent_id": "SupportTriage-v3",
        "model": "gpt-4o-2024-08-06",
        "prompt": "v3.md",
        "usd_in": 2.50,
        "usd_out": 10.00,
        "base_s": 0.55,
        "per_tok_s": 0.016,
        "parallel": 0.3,
    },
    "candidate": {
        "agent_id": "SupportTriage-v4-mini",
        "model": "gpt-4o-mini-2024-07-18",
        "prompt": "v4.md",
        "usd_in": 0.15,
        "usd_out": 0.60,
        "base_s": 0.35,
        "per_tok_s": 0.007,
        "parallel": 0.6,
    },
}
TOOLS_TOKENS = math.ceil(len(json.dumps(TOOLS)) / 4)
WRITES = {t["name"] for t in TOOLS if t["effect"] == "write"}


@dataclass
class Call:
    name: str
    args: dict[str, Any]
    raw: str | None = None
    """Arguments text when it is not ``json.dumps(args)`` (malformed recordings)."""


@dataclass
class Plan:
    """What one agent does on one ticket, before it is turned into chat messages."""

    reads: list[list[Call]]
    writes: list[Call]
    escalate: Call | None = None
    note: str | None = None
    final: str | None = None
    stop_after: int | None = None
    """Index in ``writes`` after whose tool result the recording ends (incomplete run)."""
    restart_ids: bool = False


class Backend:
    """Lumen Home's systems for one case; stateless so equal calls get equal answers."""

    def __init__(self, story: Story) -> None:
        self.story = story
        self.w = story.world
        self.fixed = {f["tool"]: f["output"] for f in story.extra_fixtures if f["args"] is None}

    def answer(self, call: Call) -> str:
        if call.raw is not None:
            try:
                json.loads(call.raw)
            except json.JSONDecodeError as exc:
                return f"Error: invalid JSON in arguments for {call.name}: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        return json.dumps(self._output(call.name, call.args), ensure_ascii=False)

    def _output(self, name: str, a: dict[str, Any]) -> Any:
        w = self.w
        if name in self.fixed:
            return self.fixed[name]
        if name == "get_ticket":
            return w.tickets.get(a["ticket_id"]) or {
                "error": "not_found",
                "message": f"No ticket {a['ticket_id']}.",
            }
        if name == "get_customer":
            return w.customers.get(a["customer_id"]) or {
                "error": "not_found",
                "message": f"No customer {a['customer_id']}.",
            }
        if name == "search_orders":
            return {"orders": w.orders.get(a["customer_id"], [])}
        if name == "get_charge":
            return w.charges.get(a["charge_id"]) or {
                "error": "not_found",
                "message": f"No charge {a['charge_id']}.",
            }
        if name == "update_ticket":
            return {
                "ok": True,
                "ticket_id": a["ticket_id"],
                "updated": {k: v for k, v in a.items() if k != "ticket_id"},
            }
        if name == "issue_refund":
            ch = w.charges.get(a["charge_id"])
            if ch is None:
                return {"error": "no_such_charge", "message": f"No charge {a['charge_id']}."}
            left = ch["amount_cents"] - ch["amount_refunded_cents"]
            if a["amount_cents"] > left:
                return {
                    "error": "amount_exceeds_refundable",
                    "message": f"Refund of {a['amount_cents']} cents exceeds the refundable balance of {left} cents on {a['charge_id']}.",
                    "refundable_cents": left,
                }
            return {
                "ok": True,
                "refund_id": "re_3P" + digest(a["charge_id"], a["amount_cents"], a["reason"], n=19),
                "charge_id": a["charge_id"],
                "amount_cents": a["amount_cents"],
                "status": "pending",
                "expected_arrival": "5-10 business days",
            }
        if name == "close_ticket":
            return {"ok": True, "closed": a["ticket_ids"]}
        if name == "send_reply":
            return {
                "ok": True,
                "message_id": "msg_" + digest(a["ticket_id"], a["body"], n=12),
                "sent_to": self.story.customer.email,
            }
        if name == "escalate_to_human":
            return {
                "ok": True,
                "handoff_id": "esc_" + digest(a["ticket_id"], a["reason"], n=10),
                "queue": "tier2",
                "message": "A specialist will pick this up within 2 business hours.",
            }
        raise AssertionError(name)


# --- plans ---------------------------------------------------------------------------------


def standard_plan(s: Story, label: str, rng: random.Random) -> Plan:
    """The right handling, in this agent's words."""
    cand = label == "candidate"
    priority = (
        s.priority
        if isinstance(s.priority, str)
        else (s.priority[1] if cand and rng.random() < 0.3 else s.priority[0])
    )
    update = {"ticket_id": s.ticket_id, "priority": priority, "group": s.group}
    if s.set_status and not s.escalate:
        update["status"] = s.set_status
    writes = [Call("update_ticket", update)]
    if s.refund:
        writes.append(Call("issue_refund", dict(s.refund)))
    writes += [Call("close_ticket", {"ticket_ids": [t]}) for t in s.closes]
    if s.reply is not None:
        writes.append(
            Call(
                "send_reply",
                {"ticket_id": s.ticket_id, "body": s.alt.get("reply_c", s.reply) if cand else s.reply},
            )
        )
    plan = Plan(reads=[[Call(n, dict(a)) for n, a in turn] for turn in s.reads], writes=writes)
    if s.escalate:
        plan.escalate = Call("escalate_to_human", {"ticket_id": s.ticket_id, "reason": s.escalate})
        plan.note = s.alt.get("note_c", s.escalate_note) if cand else s.escalate_note
    else:
        plan.final = s.alt.get("final_c", s.final) if cand else s.final
    return plan


def _index(plan: Plan, tool: str) -> int:
    return next(i for i, c in enumerate(plan.writes) if c.name == tool)


def _unneeded_reason(s: Story) -> str:
    if s.refund:
        return f"Customer asks for a refund of {money(s.refund['amount_cents'])} on {s.refund['charge_id']}; please review before anything is refunded."
    return f"Not sure how to resolve '{s.world.tickets[s.ticket_id]['subject']}'; please take over."


def apply_mode(plan: Plan, s: Story, mode: str, label: str) -> Plan:
    """Turn the right handling into one of the planted mistakes (README.md lists them)."""
    cand = label == "candidate"
    if mode == "correct":
        return plan
    if mode == "answer_format":  # says "45.99 USD", the answer check wants "$45.99"
        amount = money(s.refund["amount_cents"]) if s.refund else ""
        plan.final = (plan.final or "").replace(amount, amount[1:] + " USD")
    elif mode == "unneeded_escalation":
        update = dict(plan.writes[0].args)
        update.pop("status", None)
        plan.writes = [Call("update_ticket", update)]
        plan.escalate = Call("escalate_to_human", {"ticket_id": s.ticket_id, "reason": _unneeded_reason(s)})
        plan.note = (
            "Handing this one to a specialist to be safe."
            if cand
            else "I'd like a specialist to confirm this before we act, so I'm handing it over."
        )
        plan.final = None
    elif mode == "missing_update":
        plan.writes = plan.writes[1:]
    elif mode == "missing_reply":
        plan.writes = [c for c in plan.writes if c.name != "send_reply"]
    elif mode == "wrong_priority":
        wrong = {"feature_request": "normal", "outage": "high"}.get(s.family, "normal")
        plan.writes[0] = Call("update_ticket", {**plan.writes[0].args, "priority": wrong})
    elif mode == "over_limit":  # refunds above $100 without approval, replies, completes
        refund, reply, final = (
            s.alt["refund"],
            s.alt["refund_reply"]["candidate"],
            s.alt["refund_final"]["candidate"],
        )
        update = {**plan.writes[0].args, "status": "solved"}
        plan.writes = [
            Call("update_ticket", update),
            Call("issue_refund", dict(refund)),
            Call("send_reply", {"ticket_id": s.ticket_id, "body": reply}),
        ]
        plan.escalate, plan.note, plan.final = None, None, final
    elif mode in ("wrong_charge", "wrong_amount", "wrong_reason"):
        i = _index(plan, "issue_refund")
        key, value = {
            "wrong_charge": ("charge_id", s.alt.get("wrong_charge")),
            "wrong_amount": ("amount_cents", s.alt.get("order_total")),
            "wrong_reason": ("reason", s.alt.get("wrong_reason")),
        }[mode]
        plan.writes[i] = Call("issue_refund", {**plan.writes[i].args, key: value})
        if mode == "wrong_amount":
            amt, wrong = money(s.alt["amount"]), money(value)
            plan.writes[-1] = Call(
                "send_reply",
                {**plan.writes[-1].args, "body": plan.writes[-1].args["body"].replace(amt, wrong)},
            )
            plan.final = (plan.final or "").replace(amt, wrong)
    elif mode == "claims_without_write":
        plan.writes = [c for c in plan.writes if c.name != "issue_refund"]
    elif mode == "reply_before_refund":
        i, j = _index(plan, "issue_refund"), _index(plan, "send_reply")
        plan.writes[i], plan.writes[j] = plan.writes[j], plan.writes[i]
    elif mode == "incomplete":
        plan.stop_after = _index(plan, "issue_refund") if s.refund else 0
    elif mode == "malformed_unrecovered":  # Python-style quotes; the model never retries
        i = _index(plan, "issue_refund")
        plan.writes[i] = replace(plan.writes[i], raw=str(plan.writes[i].args))
    elif mode == "malformed_recovered":  # a trailing comma, then the same call done right
        good = plan.writes[0]
        plan.writes.insert(0, replace(good, raw=json.dumps(good.args)[:-1] + ",}"))
    elif mode == "bulk_close":
        ids = list(s.closes) + ([s.ticket_id] if len(s.closes) > 2 else [])
        plan.writes = [c for c in plan.writes if c.name != "close_ticket"]
        plan.writes.insert(1, Call("close_ticket", {"ticket_ids": ids}))
    elif mode == "close_instead":  # treats fraud as routine: closes instead of escalating
        plan.writes = [
            Call(
                "update_ticket",
                {"ticket_id": s.ticket_id, "priority": "high", "group": s.group, "status": "solved"},
            ),
            Call("send_reply", {"ticket_id": s.ticket_id, "body": s.alt["close_reply"]}),
            Call("close_ticket", {"ticket_ids": [s.ticket_id]}),
        ]
        plan.escalate, plan.note, plan.final = None, None, s.alt["close_final"]
    elif mode == "repeated_ids":
        plan.restart_ids = True
    elif mode == "refund_error_retry":  # asks for both charges' worth first, the API refuses
        i = _index(plan, "issue_refund")
        plan.writes.insert(
            i, Call("issue_refund", {**plan.writes[i].args, "amount_cents": 2 * s.refund["amount_cents"]})
        )
    elif mode == "refund_attempt_error":  # refunds again, the API says it was already refunded
        plan.writes.insert(1, Call("issue_refund", dict(s.alt["refund_attempt"])))
    else:  # pragma: no cover
        raise AssertionError(mode)
    return plan


# --- messages --------------------------------------------------------------------------------


@dataclass
class Turn:
    content: str | None
    calls: list[Call] = field(default_factory=list)
    stop: bool = False


def turns_of(plan: Plan, rng: random.Random, parallel: float) -> list[Turn]:
    turns = [Turn(None, list(group)) for group in plan.reads]
    i = 0
    while i < len(plan.writes):
        call, group = plan.writes[i], [plan.writes[i]]
        nxt = plan.writes[i + 1] if i + 1 < len(plan.writes) else None
        same_kind = nxt is not None and nxt.name == call.name == "close_ticket"
        pair = (
            nxt is not None
            and call.name == "update_ticket"
            and nxt.name == "issue_refund"
            and call.raw is None
            and rng.random() < parallel
        )
        if (same_kind or pair) and plan.stop_after != i:
            group.append(nxt)
            i += 1
        turns.append(Turn(None, group, stop=plan.stop_after == i))
        i += 1
        if turns[-1].stop:
            return turns
    if plan.escalate:
        turns.append(Turn(plan.note, [plan.escalate]))
    elif plan.final is not None:
        turns.append(Turn(plan.final))
    return turns


def _tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4))


def record_run(
    s: Story, label: str, mode: str, rng: random.Random, prompt: str, clock: dict[str, int]
) -> dict[str, Any]:
    agent = AGENTS[label]
    plan = apply_mode(standard_plan(s, label, rng), s, mode, label)
    backend = Backend(s)
    inputs = (
        [{"role": "user", "content": s.input}] if isinstance(s.input, str) else [dict(m) for m in s.input]
    )
    messages: list[dict[str, Any]] = [{"role": "system", "content": prompt}] + inputs
    context = _tokens(prompt) + TOOLS_TOKENS + sum(4 + _tokens(str(m["content"])) for m in inputs)
    usage_in = usage_out = 0
    wall = 0.0
    for turn in turns_of(plan, rng, agent["parallel"]):
        calls = []
        for k, call in enumerate(turn.calls):
            cid = (
                f"call_{k}"
                if plan.restart_ids
                else "call_"
                + "".join(
                    rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
                    for _ in range(24)
                )
            )
            calls.append(
                {
                    "id": cid,
                    "type": "function",
                    "function": {
                        "name": call.name,
                        "arguments": call.raw
                        if call.raw is not None
                        else json.dumps(call.args, ensure_ascii=False),
                    },
                }
            )
        out_tokens = max(
            8,
            (_tokens(turn.content) if turn.content else 0)
            + sum(10 + _tokens(c["function"]["arguments"]) for c in calls),
        )
        latency = round(agent["base_s"] + agent["per_tok_s"] * out_tokens + rng.uniform(0.1, 0.8), 2)
        msg: dict[str, Any] = {"role": "assistant", "content": turn.content}
        if calls:
            msg["tool_calls"] = calls
        msg["usage"] = {"prompt_tokens": context, "completion_tokens": out_tokens}
        msg["latency_s"] = latency
        messages.append(msg)
        usage_in, usage_out, wall = usage_in + context, usage_out + out_tokens, wall + latency
        context += out_tokens
        for call, c in zip(turn.calls, calls, strict=True):
            content = backend.answer(call)
            messages.append({"role": "tool", "tool_call_id": c["id"], "content": content})
            context += 4 + _tokens(content)
            wall += rng.uniform(0.05, 0.35)
    cost = usage_in * agent["usd_in"] / 1e6 + usage_out * agent["usd_out"] / 1e6
    started = later(s.world.tickets[s.ticket_id]["created_at"], rng.randint(20, 240))
    if label == "candidate":  # shadow replay of the same tickets a few days later
        started = "2026-05-" + str(18 + rng.randint(0, 1)) + started[10:]
    date = started[:10].replace("-", "_")
    clock[date] = clock.get(date, 0) + 1
    return {
        "run_id": f"run_{date}_{clock[date]:04d}",
        "case_id": f"T-{s.ticket_id}",
        "label": label,
        "agent_id": agent["agent_id"],
        "model": agent["model"],
        "messages": messages,
        "usage": {
            "prompt_tokens": usage_in,
            "completion_tokens": usage_out,
            "total_tokens": usage_in + usage_out,
        },
        "cost_usd": round(cost, 6),
        "latency_s": round(wall + 0.05 * len(messages), 2),
        "started_at": started,
    }
