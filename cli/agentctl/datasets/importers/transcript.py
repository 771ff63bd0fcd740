"""Rebuilding one OpenAI-format transcript from the model calls and tool calls of a trace.

Each model call records the messages it was sent and the message it returned. Most
instrumentations send the whole history with every call, some only what is new; the builder
takes, for each call in time order, the input messages it has not seen yet and then the
reply. When no call recorded its messages, the transcript is rebuilt from the tool spans:
one assistant turn per model call that was followed by tool calls (parallel calls share a
turn), and the final answer from the agent span.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agentctl.datasets.importers.base import as_text
from agentctl.datasets.importers.spans import Span
from agentctl.datasets.recorded_calls import is_error_output


@dataclass
class ModelCall:
    """One model call of a run, already converted to OpenAI messages."""

    span: Span
    inputs: list[dict[str, Any]]
    output: dict[str, Any] | None
    usage: dict[str, int] | None
    model: str | None


@dataclass
class ToolRecord:
    """One tool execution recorded as its own span."""

    span: Span
    call_id: str | None
    name: str
    arguments: str
    result: str | None
    error: bool


def _shape(m: dict[str, Any]) -> tuple[Any, ...]:
    ids = tuple(c.get("id") for c in m.get("tool_calls") or [])
    return (m.get("role"), m.get("tool_call_id"), ids)


def _reconcile(have: list[dict[str, Any]], inputs: list[dict[str, Any]]) -> None:
    """A reply recorded without its tool calls (some producers write only the text, or a repr) is taken from
    the next call's input, where the same turn is structured: the structured record wins."""
    for i, m in enumerate(have[: len(inputs)]):
        later = inputs[i]
        if m.get("role") == "assistant" and later.get("role") == "assistant" and later.get("tool_calls") \
                and not m.get("tool_calls"):
            m["tool_calls"] = later["tool_calls"]
            if later.get("content") is not None or not m.get("content"):
                m["content"] = later.get("content")


def _new_inputs(have: list[dict[str, Any]], inputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not have:
        return list(inputs)
    _reconcile(have, inputs)
    if len(inputs) >= len(have) and [_shape(m) for m in inputs[: len(have)]] == [_shape(m) for m in have]:
        return inputs[len(have):]
    # Only part of the history was sent. Nothing is new when it is what the transcript began with
    # (a producer that records only the user input of every call) ...
    sent = [m for m in inputs if m.get("role") != "system"]
    began = [m for m in have if m.get("role") != "system"][: len(sent)]
    if sent and [(m.get("role"), m.get("content")) for m in sent] == [(m.get("role"), m.get("content")) for m in began]:
        return []
    # ... else what follows its last assistant turn is new.
    last = max((i for i, m in enumerate(inputs) if m.get("role") == "assistant"), default=-1)
    return [m for m in inputs[last + 1:] if m.get("role") != "system"]


def build_from_calls(calls: list[ModelCall]) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    for call in calls:
        messages.extend(_new_inputs(messages, call.inputs))
        if call.output is not None:
            reply = dict(call.output)
            if call.usage:
                reply["usage"] = dict(call.usage)
            if call.span.duration_s is not None:
                reply["latency_s"] = round(call.span.duration_s, 6)
            reply[CALL_SPAN] = call.span
            messages.append(reply)
    return messages


CALL_SPAN = "_call_span"
"""Key of the model-call span on a reply while a transcript is built (removed by :func:`attach_unseen_tools`)."""


def attach_unseen_tools(messages: list[dict[str, Any]], unused: list[ToolRecord]) -> None:
    """Tool spans whose call no model call recorded (a response's function call lost beside its text) become
    calls of the reply of the last model call that started before them, answered by their result."""
    replies = [(i, m) for i, m in enumerate(messages) if isinstance(m.get(CALL_SPAN), Span)]
    for rec in sorted(unused, key=lambda t: t.span.start_ns or 0):
        issuer = None
        for i, m in replies:
            if (m[CALL_SPAN].start_ns or 0) <= (rec.span.start_ns or 0):
                issuer = (i, m)
        if issuer is None or rec.result is None:
            continue
        i, reply = issuer
        cid = rec.call_id or f"call_{rec.span.span_id}"
        reply.setdefault("tool_calls", []).append(
            {"id": cid, "type": "function", "function": {"name": rec.name, "arguments": rec.arguments}})
        at = i + 1
        while at < len(messages) and messages[at].get("role") == "tool":
            at += 1
        answer: dict[str, Any] = {"role": "tool", "tool_call_id": cid, "content": rec.result}
        if rec.error and not is_error_output(answer):
            answer["error"] = True
        messages.insert(at, answer)
        replies = [(j + (1 if j >= at else 0), m) for j, m in replies]
    for m in messages:
        m.pop(CALL_SPAN, None)


def fill_tool_results(messages: list[dict[str, Any]], tools: list[ToolRecord]) -> list[ToolRecord]:
    """Tool spans are the record of what a tool answered: fill missing results, mark errors, and add
    the answers a model call never showed (a run ending on a hand-off, content capture gaps)."""
    unused = list(tools)

    def take(call_id: Any, name: Any) -> ToolRecord | None:
        rec = next((t for t in unused if t.call_id and t.call_id == call_id), None)
        if rec is None:
            rec = next((t for t in unused if not t.call_id and t.name == name), None)
        if rec is not None:
            unused.remove(rec)
        return rec

    out: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = []  # calls of the last assistant turn not answered yet

    def answer_pending() -> None:
        for c in pending:
            rec = take(c.get("id"), (c.get("function") or {}).get("name"))
            if rec is not None and rec.result is not None:
                answer: dict[str, Any] = {"role": "tool", "tool_call_id": c.get("id"), "content": rec.result}
                if rec.error and not is_error_output(answer):
                    answer["error"] = True
                out.append(answer)
        pending.clear()

    for m in messages:
        if m.get("role") == "assistant":
            answer_pending()
            pending.extend(m.get("tool_calls") or [])
        elif m.get("role") == "tool":
            cid = m.get("tool_call_id")
            call = next((c for c in pending if c.get("id") == cid), None)
            if call is not None:
                pending.remove(call)
            rec = take(cid, (call or {}).get("function", {}).get("name"))
            if rec is not None:
                if m.get("content") in (None, "") and rec.result is not None:
                    m["content"] = rec.result
                if rec.error and not is_error_output(m):
                    m["error"] = True
        out.append(m)
    answer_pending()
    messages[:] = out
    return unused


def build_from_tools(
    inputs: list[dict[str, Any]], calls: list[ModelCall], tools: list[ToolRecord], final: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """A transcript from tool spans alone (model calls recorded without their messages)."""
    messages = [m for m in inputs]
    turns: list[tuple[ModelCall | None, list[ToolRecord]]] = []
    for rec in sorted(tools, key=lambda t: t.span.start_ns or 0):
        issuer = None
        for call in calls:
            if (call.span.start_ns or 0) <= (rec.span.start_ns or 0):
                issuer = call
        last = turns[-1] if turns else None
        parallel = last is not None and (
            (issuer is not None and last[0] is issuer)
            or (issuer is None and last[0] is None and any(
                (t.span.end_ns or 0) > (rec.span.start_ns or 0) for t in last[1]))
        )
        if parallel and last is not None:
            last[1].append(rec)
        else:
            turns.append((issuer, [rec]))
    for n, (issuer, recs) in enumerate(turns):
        ids = [r.call_id or f"call_{n}_{i}" for i, r in enumerate(recs)]
        turn: dict[str, Any] = {
            "role": "assistant", "content": None,
            "tool_calls": [{"id": cid, "type": "function", "function": {"name": r.name, "arguments": r.arguments}}
                           for cid, r in zip(ids, recs, strict=True)],
        }
        if issuer is not None and issuer.usage:
            turn["usage"] = dict(issuer.usage)
        if issuer is not None and issuer.span.duration_s is not None:
            turn["latency_s"] = round(issuer.span.duration_s, 6)
        messages.append(turn)
        for cid, r in zip(ids, recs, strict=True):
            answer: dict[str, Any] = {"role": "tool", "tool_call_id": cid, "content": as_text(r.result)}
            if r.error and not is_error_output(answer):
                answer["error"] = True
            messages.append(answer)
    if final is not None:
        reply = dict(final)
        issued = {id(i) for i, _ in turns}
        last_call = next((c for c in reversed(calls) if id(c) not in issued), None)
        if last_call is not None and last_call.usage:
            reply["usage"] = dict(last_call.usage)
        messages.append(reply)
    return messages
