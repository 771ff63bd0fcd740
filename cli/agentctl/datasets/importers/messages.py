"""Conversions of the message shapes found in traces to OpenAI chat messages."""

from __future__ import annotations

import ast
from typing import Any

from agentctl.datasets.importers.base import as_dict, as_text, maybe_json

_MESSAGE_FIELDS = frozenset({"role", "content", "tool_calls", "refusal", "annotations", "audio", "function_call"})
JUNK_FIELDS = ("refusal", "annotations", "audio", "function_call", "reasoning", "reasoning_content")
"""Keys that ``model_dump()`` of an OpenAI message adds with nothing in them."""


def python_literal(text: Any) -> Any:
    """The value of a Python repr of a dict or list (``str(dict)``, as some producers write), else ``None``."""
    if not isinstance(text, str) or text.strip()[:1] not in ("{", "["):
        return None
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None


def _repr_object(text: str) -> tuple[str, dict[str, Any]] | None:
    """``Name(key=literal, ...)``, the repr of a pydantic object, as its name and fields."""
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
        return None
    fields: dict[str, Any] = {}
    for kw in node.keywords:
        try:
            fields[str(kw.arg)] = ast.literal_eval(kw.value)
        except ValueError:
            fields[str(kw.arg)] = None
    return node.func.id, fields


def repr_tool_calls(texts: list[str]) -> tuple[list[str], list[dict[str, Any]]]:
    """Texts and Responses API function calls written as their repr (``ResponseFunctionToolCall(arguments=...,
    call_id=...)``), as openai-agents-v2 records the output items of a response."""
    calls, rest = [], []
    for text in texts:
        parsed = _repr_object(text) if text.startswith("ResponseFunctionToolCall(") else None
        if parsed is None:
            rest.append(text)
            continue
        f = parsed[1]
        calls.append({"id": f.get("call_id") or f.get("id"), "type": "function",
                      "function": {"name": f.get("name"), "arguments": arguments_text(f.get("arguments"))}})
    return rest, calls


def repr_message(text: Any) -> dict[str, Any] | None:
    """An assistant message written as the Python repr of its dict (openai-agents-v2's output text)."""
    value = python_literal(text)
    if isinstance(value, dict) and value.keys() <= _MESSAGE_FIELDS and ("content" in value or "tool_calls" in value):
        return openai_message({"role": "assistant", **value})
    return None


def text_of(content: Any) -> str | None:
    """Plain text of a content value: a string, a list of parts, or Azure's ``{"text": {"value": ...}}``."""
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [t for t in (text_of(p) for p in content) if t]
        return "\n".join(texts) if texts else None
    if isinstance(content, dict):
        for key in ("text", "content", "value"):
            if key in content:
                return text_of(content[key])
        return None
    return str(content)


def arguments_text(value: Any) -> str:
    """Tool-call arguments as the JSON text OpenAI puts in ``function.arguments`` (none: ``{}``)."""
    return "{}" if value is None else as_text(value)


def openai_tool_call(call: dict[str, Any], fallback_id: str) -> dict[str, Any]:
    fn = as_dict(call.get("function"))
    name = fn.get("name") or call.get("name")
    args = fn.get("arguments", call.get("arguments"))
    return {"id": str(call.get("id") or fallback_id).strip(), "type": "function",
            "function": {"name": name, "arguments": arguments_text(args)}}


def openai_message(m: dict[str, Any], index: int = 0) -> dict[str, Any]:
    """An OpenAI-like message made canonical: tool-call arguments as text, assistant text as a string."""
    out = dict(m)
    for key in JUNK_FIELDS:
        if out.get(key) in (None, [], {}, ""):
            out.pop(key, None)
    role = out.get("role")
    if role == "assistant":
        if isinstance(out.get("content"), list):
            out["content"] = text_of(out["content"])
        calls = out.get("tool_calls")
        if calls:
            out["tool_calls"] = [openai_tool_call(c, f"call_{index}_{i}") for i, c in enumerate(calls)]
        elif "tool_calls" in out:
            del out["tool_calls"]
    elif role == "tool":
        out["content"] = as_text(out.get("content"))
        if out.get("tool_call_id") is not None:
            out["tool_call_id"] = str(out["tool_call_id"]).strip()
    return out


def semconv_messages(value: Any) -> list[dict[str, Any]]:
    """``gen_ai.input.messages`` / ``gen_ai.output.messages`` (role + typed parts) as OpenAI messages.

    Part types used: ``text`` (content), ``tool_call`` (id, name, arguments) and
    ``tool_call_response`` (id, response; ``result`` in some examples). Other parts (blob,
    uri, file, reasoning) carry no text and are left out. A message without ``parts`` is read
    as an OpenAI-shaped message.
    """
    value = maybe_json(value)
    if not isinstance(value, list):
        return []
    out: list[dict[str, Any]] = []
    for n, m in enumerate(value):
        if not isinstance(m, dict):
            continue
        if "parts" not in m:
            out.append(openai_message(m, n))
            continue
        role = m.get("role") or "user"
        parts = [p for p in m.get("parts") or [] if isinstance(p, dict)]
        responses = [p for p in parts if p.get("type") == "tool_call_response"]
        if responses:
            for p in responses:
                out.append({"role": "tool", "tool_call_id": str(p.get("id") or "").strip(),
                            "content": as_text(p.get("response", p.get("result")))})
            continue
        texts = [str(p.get("content")) for p in parts if p.get("type") == "text" and p.get("content") is not None]
        if role == "assistant" and len(parts) == 1 and len(texts) == 1 and (parsed := repr_message(texts[0])):
            out.append(parsed)
            continue
        if role == "assistant":
            texts, repr_calls = repr_tool_calls(texts)
            if repr_calls:
                out.append({"role": "assistant", "content": "\n".join(texts) if texts else None,
                            "tool_calls": repr_calls})
                continue
        msg: dict[str, Any] = {"role": role, "content": "\n".join(texts) if texts else None}
        calls = [p for p in parts if p.get("type") == "tool_call"]
        if calls:
            msg["tool_calls"] = [openai_tool_call(p, f"call_{n}_{i}") for i, p in enumerate(calls)]
        if role != "assistant" and msg["content"] is None:
            msg["content"] = ""
        out.append(msg)
    return out


def system_instructions(value: Any) -> dict[str, Any] | None:
    """``gen_ai.system_instructions`` (a list of parts, or text) as one system message."""
    value = maybe_json(value)
    text = text_of(value) if not isinstance(value, list) else text_of(
        [p.get("content") for p in value if isinstance(p, dict) and p.get("type", "text") == "text"])
    return {"role": "system", "content": text} if text else None


def tool_definition(value: Any) -> dict[str, Any] | None:
    """A tool definition (OpenAI nested or flat form) as ``{name, description, parameters}``."""
    value = maybe_json(value)
    if not isinstance(value, dict):
        return None
    fn = as_dict(value.get("function"), value)
    name = fn.get("name")
    if not name:
        return None
    params = maybe_json(fn.get("parameters") or fn.get("input_schema"))
    return {"name": str(name), "description": str(fn.get("description") or ""),
            "parameters": params if isinstance(params, dict) else {"type": "object", "properties": {}}}
