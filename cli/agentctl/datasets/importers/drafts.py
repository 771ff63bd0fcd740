"""Draft golden cases from recorded runs, marked ``review: pending``.

A draft is what the recording did, not what it should have done: its input is the user
side of the conversation, its fixtures the recorded tool outputs, its ``expected`` the write calls that
succeeded and the final status. A person reviews it and removes the ``review`` mark.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from agentctl.core.normalize import canonical
from agentctl.core.trajectory import is_write
from agentctl.datasets.importers.catalog import is_escalation
from agentctl.datasets.importers.messages import python_literal
from agentctl.datasets.models import Case, Expected, ExpectedAction, Fixture
from agentctl.datasets.recorded_calls import RecordedCall, recorded_calls_in


def final_status(messages: list[dict[str, Any]], escalation: set[str]) -> str:
    """``escalated`` when a hand-off tool was called, ``completed`` on a final text, else ``incomplete``."""
    for m in messages:
        for c in m.get("tool_calls") or []:
            if (c.get("function") or {}).get("name") in escalation:
                return "escalated"
    last = messages[-1] if messages else {}
    if last.get("role") == "assistant" and not last.get("tool_calls") and last.get("content"):
        return "completed"
    return "incomplete"


def case_input(messages: list[dict[str, Any]]) -> str | list[dict[str, Any]]:
    """The whole user side of the run: one string, or the list of its user messages (an earlier exchange
    and the request it leads to, or a multi-turn chat), so the input holds the request the expected action
    answers and two chats that open alike stay two cases."""
    users = [{"role": "user", "content": m.get("content")} for m in messages if m.get("role") == "user"]
    if len(users) == 1 and isinstance(users[0]["content"], str):
        return str(users[0]["content"])
    return users


def case_id_for(value: str | list[dict[str, Any]]) -> str:
    """A stable id from the (redacted) input: the same request recorded twice is one case."""
    return "case-" + hashlib.sha256(canonical(value).encode()).hexdigest()[:10]


def _output_value(content: Any) -> Any:
    if isinstance(content, str) and content.strip()[:1] in ("{", "["):
        try:
            return json.loads(content)
        except ValueError:
            literal = python_literal(content)  # str(dict), as the Agents SDK sends tool results
            return literal if isinstance(literal, (dict, list)) else content
    return content


def expected_actions(calls: list[RecordedCall], effects: dict[str, str], escalation: set[str]) -> list[ExpectedAction]:
    """Writes that took effect: write tools, not the hand-off, answered without an error."""
    return [ExpectedAction(tool=c.name, args=c.arguments) for c in calls
            if is_write(effects.get(c.name, "unknown")) and c.name not in escalation and not c.error
            and c.arguments is not None]


def draft_case(
    case_id: str, messages: list[dict[str, Any]], effects: dict[str, str], tags: list[str], metadata: dict[str, Any]
) -> Case:
    """A case drafted from one recording (``review: pending``)."""
    calls = recorded_calls_in(messages)
    escalation = {c.name for c in calls if is_escalation(c.name)}
    status = final_status(messages, escalation)
    fixtures: list[Fixture] = []
    seen: set[str] = set()
    for c in calls:
        if c.answer is None or c.arguments is None:
            continue
        output = _output_value(c.answer.get("content"))
        key = canonical([c.name, c.arguments, output])
        if key not in seen:
            seen.add(key)
            fixtures.append(Fixture(tool=c.name, args=c.arguments, output=output))
    meta = {**metadata, "recorded_status": status}
    if escalation:
        meta["escalation_tools"] = sorted(escalation)
    return Case(
        id=case_id, input=case_input(messages), tags=list(tags),
        expected=Expected(status="escalated" if status == "escalated" else "completed",
                          actions=expected_actions(calls, effects, escalation)),
        fixtures=fixtures, review="pending", metadata=meta,
    )
