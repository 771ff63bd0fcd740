"""One run per conversation, whatever unit the producer recorded (``--group-by``).

Importers yield one segment per trace (or per logged call). A conversation can be spread over
several of them (client instrumentation alone makes one trace per model call; an application
may start a trace per user turn) and the grouping puts it back together:

- ``conversation``: segments with the same ``gen_ai.conversation.id`` (or logged ``conversation_id``);
- ``session``: the same OpenInference ``session.id``;
- ``trace``: every segment is a run, as recorded;
- ``auto`` (default): the conversation id where recorded, else the session id, else message
  chaining: a segment whose messages begin with another's whole transcript (a call whose input
  is the previous call's input plus its output) continues that conversation.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from agentctl.core.errors import InputError
from agentctl.datasets.importers.base import ImportedRun, ProblemLog

GROUPINGS = ("auto", "trace", "conversation", "session")


@dataclass
class Grouping:
    """How an import grouped its segments, for the summary."""

    how: str
    by: Counter[str] = field(default_factory=Counter)
    """Runs grouped by each rule: ``conversation id``, ``session id``, ``message chaining``, ``trace``."""
    multi_trace: int = 0
    """Conversations that spanned several traces."""
    shared_traces: list[str] = field(default_factory=list)
    """Traces that held several conversations."""

    def describe(self) -> str:
        rules = ", ".join(f"{n} by {rule}" for rule, n in self.by.most_common())
        return f"grouped {self.how}" + (f" ({rules})" if rules else "")


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.strip() if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _args(text: Any) -> Any:
    try:
        return json.loads(text) if isinstance(text, str) and text.strip() else (text or {})
    except ValueError:
        return text


def message_key(m: dict[str, Any]) -> tuple[Any, ...]:
    """What makes two records of a message the same message (ids and producer-specific extras aside)."""
    calls = tuple(f"{(c.get('function') or {}).get('name')}|" + json.dumps(_args((c.get("function") or {}).get(
        "arguments")), sort_keys=True) for c in m.get("tool_calls") or [])
    content = _text(m.get("content"))
    if m.get("role") == "tool":
        return ("tool", content)
    return (m.get("role"), content, calls)


def same_message(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Two records of one message. A turn with tool calls may lose its text in one of them (openai-v2's
    legacy ``gen_ai.assistant.message`` event keeps only the calls)."""
    ka, kb = message_key(a), message_key(b)
    if ka == kb:
        return True
    return ka[0] == kb[0] == "assistant" and bool(ka[2]) and ka[2] == kb[2] and "" in (ka[1], kb[1])


def _is_prefix(head: list[dict[str, Any]], whole: list[dict[str, Any]]) -> bool:
    if len(head) >= len(whole) or not any(m.get("role") == "user" for m in head):
        return False
    return all(same_message(a, b) for a, b in zip(head, whole, strict=False))


def join_messages(have: list[dict[str, Any]], later: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``have`` followed by what ``later`` adds to it (the part ``later`` shares with ``have`` is dropped)."""
    shared = 0
    for a, b in zip(have, later, strict=False):
        if not same_message(a, b):
            break
        shared += 1
    new = later[shared:]
    if shared == 0:  # only the new turn was sent: skip the history it repeats
        keys = {message_key(m) for m in have}
        new = [m for m in new if m.get("role") != "system" and message_key(m) not in keys]
    return [*have, *new]


def continues(have: list[dict[str, Any]], later: list[dict[str, Any]]) -> bool:
    """Whether ``later`` is ``have`` carried further (a call whose input is the previous call's input and output)."""
    return _is_prefix(have, later)


def merge(first: ImportedRun, later: ImportedRun) -> None:
    """Append ``later``'s new messages to ``first``, and add up what it used."""
    first.messages = join_messages(first.messages, later.messages)
    if later.usage:
        usage = dict(first.usage or {"prompt_tokens": 0, "completion_tokens": 0})
        for k in ("prompt_tokens", "completion_tokens"):
            usage[k] = usage.get(k, 0) + later.usage.get(k, 0)
        first.usage = usage
    if later.latency_s is not None:
        first.latency_s = round((first.latency_s or 0.0) + later.latency_s, 6)
    if later.cost_usd is not None:
        first.cost_usd = (first.cost_usd or 0.0) + later.cost_usd
    first.model = first.model or later.model
    first.case_id = first.case_id or later.case_id
    first.tags.extend(t for t in later.tags if t not in first.tags)
    first.tool_definitions.extend(later.tool_definitions)
    first.trace_ids.extend(t for t in later.trace_ids if t not in first.trace_ids)


def _key(run: ImportedRun, how: str) -> tuple[str, str] | None:
    if how in ("auto", "conversation") and run.conversation_id:
        return ("conversation id", run.conversation_id)
    if how in ("auto", "session") and run.session_id:
        return ("session id", run.session_id)
    return None


def group_runs(runs: list[ImportedRun], how: str, log: ProblemLog) -> tuple[list[ImportedRun], Grouping]:
    """The runs, one per conversation by the rule ``how``, in the order their first segment was read."""
    if how not in GROUPINGS:
        raise InputError(f"--group-by: unknown grouping '{how}'; expected one of {', '.join(GROUPINGS)}")
    summary = Grouping(how)
    if how == "trace":
        summary.by["trace"] = len(runs)
        return runs, summary
    ordered = sorted(runs, key=lambda r: r.started_at or "")
    out: list[ImportedRun] = []
    rule: dict[int, str] = {}
    keyed: dict[tuple[str, str], ImportedRun] = {}
    for run in ordered:
        key = _key(run, how)
        if key is not None:
            if key in keyed:
                merge(keyed[key], run)
            else:
                keyed[key] = run
                out.append(run)
                rule[id(run)] = key[0]
            continue
        if how == "auto":
            # the longest transcript this one continues
            prior = [r for r in out if id(r) not in rule and _is_prefix(r.messages, run.messages)]
            prior += [r for r in out if rule.get(id(r)) == "message chaining" and _is_prefix(r.messages, run.messages)]
            if prior:
                target = max(prior, key=lambda r: len(r.messages))
                merge(target, run)
                rule[id(target)] = "message chaining"
                continue
        out.append(run)
    for r in out:
        rule.setdefault(id(r), "trace")
    position = {id(r): n for n, r in enumerate(runs)}
    out.sort(key=lambda r: position[id(r)])  # the order of the sources
    per_trace = Counter(t for r in out for t in set(r.trace_ids))
    summary.shared_traces = sorted(t for t, n in per_trace.items() if n > 1)
    summary.multi_trace = sum(1 for r in out if len(r.trace_ids) > 1)
    summary.by.update(rule[id(r)] for r in out)
    if summary.shared_traces:
        first = next(r for r in out if summary.shared_traces[0] in r.trace_ids)
        log.warn(first.path, f"{len(summary.shared_traces)} trace(s) held several conversations (e.g. trace "
                 f"{summary.shared_traces[0]}); each conversation is its own run")
    if summary.multi_trace:
        first = next(r for r in out if len(r.trace_ids) > 1)
        log.warn(first.path, f"{summary.multi_trace} conversation(s) spanned several traces and were joined into one "
                 f"run each ({summary.describe()}); use --group-by trace to keep one run per trace")
    return out, summary
