"""OpenAI chat-completion conversations, one run per JSONL line (``--from openai``).

A line is either a conversation ``{"messages": [...], ...}`` (the fine-tuning and logging
shape, and agentctl's own runs.jsonl) or a logged request/response pair
``{"request": {"messages": [...], "model": ..., "tools": [...]}, "response": <chat.completion>}``
whose transcript is the request's messages plus the first choice's message. Optional fields:
``run_id``/``id``, ``case_id``, ``model``, ``agent_id``, ``usage``, ``cost_usd``, ``tools``,
``tags``, ``latency_s``/``duration_s``/``latency_ms``/``duration_ms``, and
``started_at``/``created_at``/``timestamp``/``created`` (ISO 8601 or epoch seconds).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agentctl.core.normalize import canonical
from agentctl.datasets.importers.base import Document, ImportedRun, ProblemLog, as_dict, read_documents
from agentctl.datasets.importers.messages import openai_message, tool_definition

KNOWN_KEYS = frozenset({
    "messages", "request", "response", "run_id", "id", "case_id", "model", "agent_id", "usage", "cost_usd",
    "tools", "tags", "latency_s", "duration_s", "latency_ms", "duration_ms", "started_at", "created_at",
    "timestamp", "created", "label", "metadata", "custom_id", "object", "parallel_tool_calls", "tool_choice",
    "temperature", "system_fingerprint", "choices", "conversation_id", "session_id",
})


def _started_at(record: dict[str, Any]) -> str | None:
    for key in ("started_at", "created_at", "timestamp", "created"):
        value = record.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, tz=UTC).isoformat().replace("+00:00", "Z")
        if isinstance(value, str) and value:
            return value
    return None


def _latency(record: dict[str, Any]) -> float | None:
    for key, scale in (("latency_s", 1.0), ("duration_s", 1.0), ("latency_ms", 1e-3), ("duration_ms", 1e-3)):
        value = record.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return round(float(value) * scale, 6)
    return None


def _usage(raw: Any) -> dict[str, int] | None:
    if not isinstance(raw, dict):
        return None
    prompt = raw.get("prompt_tokens", raw.get("input_tokens"))
    completion = raw.get("completion_tokens", raw.get("output_tokens"))
    if prompt is None and completion is None:
        return None
    return {"prompt_tokens": int(prompt or 0), "completion_tokens": int(completion or 0)}


def _message_usage(messages: list[Any]) -> dict[str, int] | None:
    """The run's usage as the sum of its assistant turns' ``usage`` (a conversation logged without a total)."""
    turns = [u for m in messages if isinstance(m, dict) and m.get("role") == "assistant"
             for u in [_usage(m.get("usage"))] if u]
    if not turns:
        return None
    return {k: sum(u[k] for u in turns) for k in ("prompt_tokens", "completion_tokens")}


def _record_run(doc: Document, log: ProblemLog, unknown: dict[str, tuple[Document, int]]) -> ImportedRun | None:
    record = doc.value
    where = f"{doc.path.name}:{doc.line}" if doc.line else doc.path.name
    if not isinstance(record, dict):
        log.skip("not a conversation", doc.path, f"expected a JSON object with 'messages', got "
                 f"{type(record).__name__}; skipped", doc.line)
        return None
    for key in record:
        if key not in KNOWN_KEYS:
            first, n = unknown.get(key, (doc, 0))
            unknown[key] = (first, n + 1)
    request = as_dict(record.get("request"))
    response = as_dict(record.get("response"))
    response = as_dict(response.get("body"), response)  # the Batch API wraps the completion in "body"
    raw_messages = record.get("messages", request.get("messages"))
    if not isinstance(raw_messages, list):
        log.skip("not a conversation", doc.path, "no 'messages' list (nor 'request.messages'); skipped", doc.line)
        return None
    messages = [openai_message(m, i) if isinstance(m, dict) else m for i, m in enumerate(raw_messages)]
    choices = response.get("choices") or record.get("choices") or []
    if choices and isinstance(choices[0], dict) and isinstance(choices[0].get("message"), dict):
        reply = openai_message({"role": "assistant", **choices[0]["message"]}, len(messages))
        usage = _usage(response.get("usage"))
        if usage:
            reply["usage"] = usage
        messages.append(reply)
    for m in messages:
        if isinstance(m, dict) and m.get("role") == "assistant" and "function_call" in m and not m.get("tool_calls"):
            log.warn(doc.path, "legacy 'function_call' messages are not supported; their calls are not "
                     "replayed", doc.line)
    run_id = record.get("run_id") or record.get("id") or record.get("custom_id")
    if not run_id:
        run_id = "openai-" + hashlib.sha256(canonical(record).encode()).hexdigest()[:16]
    tools = [td for td in (tool_definition(t) for t in (record.get("tools") or request.get("tools") or [])) if td]
    raw_tags = record.get("tags")
    tags: list[Any] = raw_tags if isinstance(raw_tags, list) else []
    cost = record.get("cost_usd")
    return ImportedRun(
        run_id=str(run_id), messages=messages, where=where, path=doc.path, line=doc.line, ref=f"run {run_id}",
        model=record.get("model") or response.get("model") or request.get("model"),  # the served model
        agent_id=record.get("agent_id"),
        usage=_usage(record.get("usage")) or (_usage(response.get("usage")) if not record.get("messages") else None)
        or _message_usage(messages),
        cost_usd=float(cost) if isinstance(cost, (int, float)) else None,
        latency_s=_latency(record), started_at=_started_at(record),
        case_id=str(record["case_id"]) if record.get("case_id") else None,
        tags=[str(t) for t in tags], tool_definitions=tools, trace_ids=[where],
        conversation_id=str(record["conversation_id"]) if record.get("conversation_id") else None,
        session_id=str(record["session_id"]) if record.get("session_id") else None,
    )


def read_openai(paths: list[Path], log: ProblemLog) -> Iterator[ImportedRun]:
    """Runs from JSONL files of OpenAI chat conversations (a JSON list of them is read too)."""
    unknown: dict[str, tuple[Document, int]] = {}
    for path in paths:
        for doc in read_documents(path, log):
            # A whole-file JSON list holds conversations; a list on a JSONL line is just a bad line.
            whole_list = isinstance(doc.value, list) and doc.line is None
            docs = [Document(v, doc.path, None) for v in doc.value] if whole_list else [doc]
            for d in docs:
                run = _record_run(d, log, unknown)
                if run is not None:
                    yield run
    for key, (doc, n) in unknown.items():
        log.warn(doc.path, f"unknown field {key!r} ignored (on {n} line{'s' if n != 1 else ''})", doc.line)
