"""Conversions of the message shapes found in traces to OpenAI chat messages."""

from __future__ import annotations

from typing import Any

from agentctl.datasets.importers.base import as_dict, as_text, maybe_json


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
