"""Arize Phoenix / OpenInference spans (``--from openinference``), as JSON or JSONL.

One trace is one segment (one per root ``AGENT`` span when a trace has several), grouped into
conversations afterwards (``session.id``, message chaining); nested ``LLM`` spans of one call count once. Span
kinds come from ``openinference.span.kind`` (or Phoenix's ``span_kind``). ``LLM`` spans give
the model calls: ``llm.input_messages.N.message.*`` and ``llm.output_messages.N.message.*``
(``role``, ``content`` or ``contents.M.message_content.text``, ``tool_calls.M.tool_call.id`` /
``.function.name`` / ``.function.arguments``, ``tool_call_id``, ``name``), ``llm.model_name``,
``llm.token_count.prompt`` / ``.completion``, ``llm.tools.N.tool.json_schema``; when the
messages are absent, an OpenAI request in ``input.value`` and response in ``output.value``.
``TOOL`` spans (``tool.name``, ``input.value`` arguments, ``output.value`` result,
``tool_call.id`` when present, error status) fill in tool results; ``AGENT`` spans give the
user input and the final answer when no LLM span recorded messages. ``tag.tags`` become tags.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agentctl.datasets.importers.base import ImportedRun, ProblemLog, as_text, iso_from_ns, maybe_json
from agentctl.datasets.importers.messages import openai_message, text_of, tool_definition
from agentctl.datasets.importers.otel import report_unknown
from agentctl.datasets.importers.spans import Span, innermost, read_spans, run_units, unit_timing
from agentctl.datasets.importers.transcript import (
    ModelCall,
    ToolRecord,
    attach_unseen_tools,
    build_from_calls,
    build_from_tools,
    fill_tool_results,
)

_MESSAGE_KEY = re.compile(r"^llm\.(input|output)_messages\.(\d+)\.message\.(.+)$")
_TOOL_CALL_KEY = re.compile(r"^tool_calls\.(\d+)\.tool_call\.(.+)$")
_CONTENT_KEY = re.compile(r"^contents\.(\d+)\.message_content\.(.+)$")

KNOWN_ATTRIBUTES = frozenset({
    "openinference.span.kind", "llm.model_name", "llm.provider", "llm.system", "llm.invocation_parameters",
    "llm.function_call", "tool.name", "tool.description", "tool.parameters", "tool.json_schema", "tool.id",
    "tool_call.id", "tool_call.function.name", "tool_call.function.arguments", "session.id", "user.id",
})
KNOWN_PREFIXES = ("llm.input_messages.", "llm.output_messages.", "llm.tools.", "llm.token_count.",
                  "llm.prompt_template.", "llm.prompts.", "llm.choices.", "llm.cost.")


def span_kind(span: Span) -> str:
    kind = span.attributes.get("openinference.span.kind") or span.kind_hint or ""
    return str(kind).upper()


def _indexed_messages(attributes: dict[str, Any], direction: str) -> list[dict[str, Any]]:
    raw: dict[int, dict[str, Any]] = {}
    for key, value in attributes.items():
        m = _MESSAGE_KEY.match(key)
        if m and m.group(1) == direction:
            raw.setdefault(int(m.group(2)), {})[m.group(3)] = value
    out: list[dict[str, Any]] = []
    for index in sorted(raw):
        fields = raw[index]
        calls: dict[int, dict[str, Any]] = {}
        parts: dict[int, dict[str, Any]] = {}
        for key, value in fields.items():
            if (tc := _TOOL_CALL_KEY.match(key)) is not None:
                calls.setdefault(int(tc.group(1)), {})[tc.group(2)] = value
            elif (pc := _CONTENT_KEY.match(key)) is not None:
                parts.setdefault(int(pc.group(1)), {})[pc.group(2)] = value
        content = fields.get("content")
        if content is None and parts:
            content = text_of([p.get("text") for _, p in sorted(parts.items()) if p.get("type", "text") == "text"])
        msg: dict[str, Any] = {"role": fields.get("role") or ("assistant" if direction == "output" else "user"),
                               "content": content}
        if calls:
            msg["tool_calls"] = [{"id": c.get("id"), "function": {"name": c.get("function.name"),
                                                                  "arguments": c.get("function.arguments")}}
                                 for _, c in sorted(calls.items())]
        if fields.get("tool_call_id") is not None:
            msg["tool_call_id"] = fields["tool_call_id"]
        if fields.get("name") is not None and msg["role"] == "tool":
            msg["name"] = fields["name"]
        out.append(openai_message(msg, index))
    return out


def _model_call(span: Span) -> ModelCall:
    a = span.attributes
    inputs = _indexed_messages(a, "input")
    outputs = _indexed_messages(a, "output")
    if not inputs and not outputs:
        # Some instrumentations keep only the raw OpenAI request and response.
        request = maybe_json(a.get("input.value"))
        response = maybe_json(a.get("output.value"))
        if isinstance(request, dict) and isinstance(request.get("messages"), list):
            inputs = [openai_message(m, i) for i, m in enumerate(request["messages"]) if isinstance(m, dict)]
        if isinstance(response, dict) and response.get("choices"):
            message = (response["choices"][0] or {}).get("message")
            if isinstance(message, dict):
                outputs = [openai_message({"role": "assistant", **message})]
    prompt, completion = a.get("llm.token_count.prompt"), a.get("llm.token_count.completion")
    usage = None
    if prompt is not None or completion is not None:
        usage = {"prompt_tokens": int(prompt or 0), "completion_tokens": int(completion or 0)}
    model = a.get("llm.model_name")
    return ModelCall(span, inputs, outputs[0] if outputs else None, usage, str(model) if model else None)


def _tool_record(span: Span) -> ToolRecord:
    a = span.attributes
    result = a.get("output.value")
    if result is None and span.error:
        result = f"Error: {span.status_message or 'the tool failed'}"
    call_id = a.get("tool_call.id") or a.get("tool.id")
    args = a.get("input.value", a.get("tool.parameters"))
    return ToolRecord(span, str(call_id) if call_id else None, str(a.get("tool.name") or span.name),
                      as_text(args) if args is not None else "{}", as_text(result) if result is not None else None,
                      span.error)


def _agent_io(agent: Span | None) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    if agent is None:
        return [], None
    a = agent.attributes
    user = maybe_json(a.get("input.value"))
    if isinstance(user, dict) and isinstance(user.get("messages"), list):
        inputs = [openai_message(m) for m in user["messages"] if isinstance(m, dict)]
    else:
        text = text_of(user) if not isinstance(user, str) else user
        inputs = [{"role": "user", "content": text}] if text else []
    answer = a.get("output.value")
    answer_text = answer if isinstance(answer, str) else text_of(maybe_json(answer))
    return inputs, ({"role": "assistant", "content": answer_text} if answer_text else None)


def read_openinference(paths: list[Path], log: ProblemLog) -> Iterator[ImportedRun]:
    """Runs from OpenInference spans (Phoenix exports, or OTLP JSON carrying OpenInference attributes)."""
    spans = read_spans(paths, log)
    report_unknown(spans, log, KNOWN_ATTRIBUTES, KNOWN_PREFIXES, ("llm.", "tool.", "tool_call.", "openinference."))
    for span in spans:
        if not span_kind(span):
            log.warn(span.path, f"span {span.span_id} ({span.name!r}) has no openinference.span.kind; ignored",
                     span.line)
    for unit in run_units(spans, lambda s: span_kind(s) == "AGENT", log):
        first = unit.root or unit.spans[0]
        where = f"trace {unit.trace_id}" + (f" agent span {unit.root.span_id}" if unit.split and unit.root is not None
                                            else "")
        calls = [_model_call(s) for s in innermost(unit, lambda s: span_kind(s) == "LLM")]
        tools = [_tool_record(s) for s in unit.spans if span_kind(s) == "TOOL"]
        agent = unit.root if unit.root is not None and span_kind(unit.root) in ("AGENT", "CHAIN") else next(
            (s for s in unit.spans if span_kind(s) == "AGENT"), None)
        if any(c.inputs or c.output for c in calls):
            messages = build_from_calls(calls)
        else:
            inputs, final = _agent_io(agent)
            messages = build_from_tools(inputs, calls, tools, final)
        attach_unseen_tools(messages, fill_tool_results(messages, tools))
        start_ns, latency = unit_timing(unit)
        usages = [c.usage for c in calls if c.usage]
        definitions = []
        for s in unit.spans:
            if span_kind(s) == "TOOL" and s.attributes.get("tool.parameters") and s.attributes.get("tool.name"):
                td = tool_definition({"name": s.attributes["tool.name"], "parameters": s.attributes["tool.parameters"],
                                      "description": s.attributes.get("tool.description") or ""})
                if td is not None:
                    definitions.append(td)
            for key, value in s.attributes.items():
                if key.startswith("llm.tools.") and key.endswith(".tool.json_schema"):
                    td = tool_definition(value)
                    if td is not None:
                        definitions.append(td)
        tags: list[str] = []
        for s in unit.spans:
            for t in maybe_json(s.attributes.get("tag.tags")) or []:
                if isinstance(t, str) and t not in tags:
                    tags.append(t)
        case_id = next((str(s.attributes["agentctl.case_id"]) for s in unit.spans
                        if s.attributes.get("agentctl.case_id")), None)
        agent_name = agent.attributes.get("agent.name") if agent is not None else None
        yield ImportedRun(
            run_id=f"oi-{unit.run_key}", messages=messages, where=f"{first.path.name}: {where}",
            path=first.path, line=first.line, ref=where, model=next((c.model for c in calls if c.model), None),
            agent_id=str(agent_name) if agent_name else None,
            usage={"prompt_tokens": sum(u["prompt_tokens"] for u in usages),
                   "completion_tokens": sum(u["completion_tokens"] for u in usages)} if usages else None,
            latency_s=round(latency, 6) if latency is not None else None, started_at=iso_from_ns(start_ns),
            case_id=case_id, tags=tags, tool_definitions=definitions, trace_ids=[unit.trace_id],
            session_id=next((str(s.attributes["session.id"]) for s in unit.spans if s.attributes.get("session.id")),
                            None),
        )
