"""Tool calls read from recorded transcripts (OpenAI chat format): who called what, with
which arguments, and what the tool answered. Shared by the dataset readers, the importers,
replay and tool answering.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from agentctl.core.normalize import parse_arguments
from agentctl.datasets.models import AnyRecording


@dataclass(frozen=True)
class RecordedCall:
    """A tool call of a recorded run, paired with the tool message that answered it."""

    turn: int
    """Index (in ``messages``) of the assistant message that made the call."""
    position: int
    """Position of the call in that assistant message's ``tool_calls``."""
    call_id: str
    name: str
    raw_arguments: str
    arguments: dict[str, Any] | None
    parse_error: str | None
    answer: dict[str, Any] | None
    """The recorded tool message, or ``None`` when the recording has no answer to the call."""

    @property
    def output(self) -> str | None:
        return message_text(self.answer) if self.answer is not None else None

    @property
    def error(self) -> bool:
        return self.answer is not None and is_error_output(self.answer)


def message_text(message: dict[str, Any] | None) -> str:
    """The text of a chat message's content (JSON for structured content)."""
    if message is None:
        return ""
    content = message.get("content")
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(isinstance(p, dict) and "text" in p for p in content):
        return "".join(str(p["text"]) for p in content)
    return json.dumps(content, ensure_ascii=False)


def output_text(value: Any) -> str:
    """A fixture's output as the text a model sees: strings as they are, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def is_error_output(message_or_text: dict[str, Any] | str | None) -> bool:
    """Whether a tool answer is an error (the call changed nothing).

    True when the tool message has ``"error": true``, its content is a JSON object with a
    (non-null, non-false) ``error`` key, or its text starts with ``Error``.
    """
    if message_or_text is None:
        return False
    if isinstance(message_or_text, dict):
        if message_or_text.get("error") is True:
            return True
        content = message_or_text.get("content")
        if isinstance(content, dict):
            return _has_error_key(content)
        text = message_text(message_or_text)
    else:
        text = message_or_text
    stripped = text.lstrip()
    if stripped[:5].lower() == "error":
        return True
    if stripped.startswith("{"):
        if "error" not in stripped and "\\" not in stripped:
            # No key can spell "error" without the word or a \u escape: no parse (replay asks
            # this of every recorded answer: 0.05 s of the 0.55 s that 10,000 replays take).
            return False
        try:
            value = json.loads(stripped)
        except (ValueError, RecursionError):  # not JSON, a huge integer, or nested too deep
            return False
        return isinstance(value, dict) and _has_error_key(value)
    return False


def _has_error_key(obj: dict[str, Any]) -> bool:
    # {"error": null} and {"error": false} are how many APIs say "no error".
    return "error" in obj and obj["error"] not in (None, False, "")


def recorded_calls(run: AnyRecording) -> list[RecordedCall]:
    """Every tool call of a recording, in order, each paired with its answer (see :func:`recorded_calls_in`)."""
    return recorded_calls_in(run.messages)


def recorded_calls_in(messages: list[dict[str, Any]]) -> list[RecordedCall]:
    """Every tool call of a chat transcript, in order, each paired with its answer.

    Ids may repeat in real recordings: a tool message is paired by id only when that id is
    unique in its assistant turn, otherwise with the first unanswered call having that id (or,
    failing that, the first unanswered call), i.e. by position. Never by id across the run.
    """
    out: list[RecordedCall] = []
    i = 0
    while i < len(messages):
        msg = messages[i]
        calls = (msg.get("tool_calls") or []) if msg.get("role") == "assistant" else []
        if not calls:
            i += 1
            continue
        parsed = [_call_parts(c) for c in calls]
        answers: list[dict[str, Any] | None] = [None] * len(calls)
        pending = list(range(len(calls)))
        j = i + 1
        while j < len(messages) and messages[j].get("role") == "tool":
            if pending:
                k = _pair(messages[j].get("tool_call_id"), [parsed[p][0] for p in pending])
                answers[pending.pop(k)] = messages[j]
            j += 1
        for pos, (call_id, name, raw) in enumerate(parsed):
            args, err = parse_arguments(raw)
            out.append(RecordedCall(i, pos, call_id, name, raw, args, err, answers[pos]))
        i = j
    return out


def _call_parts(call: dict[str, Any]) -> tuple[str, str, str]:
    fn = call.get("function") or {}
    raw = fn.get("arguments")
    raw_text = raw if isinstance(raw, str) else json.dumps(raw if raw is not None else {})
    return str(call.get("id") or ""), str(fn.get("name") or call.get("name") or ""), raw_text


def _pair(tool_call_id: Any, pending_ids: list[str]) -> int:
    """Index into the pending calls of the one a tool message answers."""
    if tool_call_id is not None:
        tid = str(tool_call_id)
        if tid in pending_ids:
            # unique in the turn: that call; repeated: the first unanswered one with it
            return pending_ids.index(tid)
    return 0
