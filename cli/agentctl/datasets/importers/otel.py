"""OpenTelemetry GenAI semantic conventions (``--from otel``).

One trace is one segment (a trace whose roots are several ``invoke_agent`` spans gives one per
agent span); segments are grouped into conversations afterwards (see ``grouping``). A model call
recorded at two levels (an agent span's ``chat`` around the client instrumentation's) keeps the
inner one. OTLP log records (``gen_ai.*`` events) are joined to their spans. Spans are classified by ``gen_ai.operation.name`` (``chat``,
``text_completion``, ``generate_content``; ``execute_tool``; ``invoke_agent``), falling back
to the span name's first word. Messages come from ``gen_ai.input.messages`` /
``gen_ai.output.messages`` / ``gen_ai.system_instructions`` (span attributes, or the
``gen_ai.client.inference.operation.details`` event), or from the older per-message events
(``gen_ai.system.message``, ``gen_ai.user.message``, ``gen_ai.assistant.message``,
``gen_ai.tool.message``, ``gen_ai.choice``; body in the event attributes or JSON in
``gen_ai.event.content``). ``execute_tool`` spans (``gen_ai.tool.name``,
``gen_ai.tool.call.id``, ``gen_ai.tool.call.arguments``, ``gen_ai.tool.call.result``, error
status / ``error.type``) fill in tool results and errors.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agentctl.datasets.importers.base import (
    ImportedRun,
    ProblemLog,
    as_dict,
    as_text,
    iso_from_ns,
    maybe_json,
)
from agentctl.datasets.importers.messages import (
    openai_message,
    semconv_messages,
    system_instructions,
    text_of,
    tool_definition,
)
from agentctl.datasets.importers.spans import Span, SpanEvent, innermost, read_spans, run_units, unit_timing
from agentctl.datasets.importers.transcript import (
    ModelCall,
    ToolRecord,
    attach_unseen_tools,
    build_from_calls,
    build_from_tools,
    fill_tool_results,
)

CHAT_OPERATIONS = ("chat", "text_completion", "generate_content")

KNOWN_ATTRIBUTES = frozenset({
    "gen_ai.operation.name", "gen_ai.system", "gen_ai.provider.name", "gen_ai.conversation.id",
    "gen_ai.output.type", "gen_ai.data_source.id", "gen_ai.input.messages", "gen_ai.output.messages",
    "gen_ai.system_instructions", "gen_ai.tool.name", "gen_ai.tool.call.id", "gen_ai.tool.call.arguments",
    "gen_ai.tool.call.result", "gen_ai.tool.type", "gen_ai.tool.description", "gen_ai.tool.definitions",
    "gen_ai.token.type", "gen_ai.event.content", "gen_ai.message.id", "gen_ai.thread.id", "gen_ai.thread.run.id",
    "gen_ai.prompt", "gen_ai.completion", "gen_ai.agent.name", "gen_ai.agent.id", "gen_ai.agent.description",
    "gen_ai.agent.version", "gen_ai.tool.call.position", "gen_ai.tool.call.result.status",
})
KNOWN_PREFIXES = ("gen_ai.request.", "gen_ai.response.", "gen_ai.usage.", "gen_ai.openai.", "gen_ai.embeddings.",
                  "gen_ai.evaluation.", "gen_ai.prompt.", "gen_ai.completion.")
_INDEXED = re.compile(r"^gen_ai\.(prompt|completion)\.(\d+)\.(.+)$")
_INDEXED_CALL = re.compile(r"^tool_calls\.(\d+)\.(.+)$")
MESSAGE_EVENTS = {"gen_ai.system.message": "system", "gen_ai.user.message": "user",
                  "gen_ai.assistant.message": "assistant", "gen_ai.tool.message": "tool"}


def operation(span: Span) -> str:
    op = span.attributes.get("gen_ai.operation.name")
    if isinstance(op, str) and op:
        return op
    first = span.name.split(" ", 1)[0]
    if first in (*CHAT_OPERATIONS, "execute_tool", "invoke_agent", "create_agent"):
        return first
    if "gen_ai.tool.name" in span.attributes:
        return "execute_tool"
    if "gen_ai.request.model" in span.attributes or "gen_ai.system" in span.attributes:
        return "chat"
    return ""


def _event_body(event: SpanEvent) -> dict[str, Any]:
    body = {k: maybe_json(v) for k, v in event.attributes.items()}
    content = maybe_json(body.pop("gen_ai.event.content", None))
    if isinstance(content, dict):
        body.update(content)
    return body


def _event_messages(span: Span) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Inputs and output of a model call from its events (the old per-message form or the details event)."""
    inputs: list[dict[str, Any]] = []
    choices: list[tuple[int, dict[str, Any]]] = []
    for n, event in enumerate(span.events):
        if event.name in ("gen_ai.client.inference.operation.details", "event.gen_ai.client.inference.operation.details"):
            inputs.extend(semconv_messages(event.attributes.get("gen_ai.input.messages")))
            outs = semconv_messages(event.attributes.get("gen_ai.output.messages"))
            if outs:
                choices.append((0, outs[0]))
            continue
        body = _event_body(event)
        if event.name in MESSAGE_EVENTS:
            role = MESSAGE_EVENTS[event.name]
            msg: dict[str, Any] = {"role": role, "content": text_of(body.get("content"))}
            if role == "tool":
                msg = {"role": "tool", "tool_call_id": str(body.get("id") or body.get("tool_call_id") or ""),
                       "content": as_text(body.get("content"))}
            elif role == "assistant" and body.get("tool_calls"):
                msg["tool_calls"] = body["tool_calls"]
            inputs.append(openai_message(msg, n))
        elif event.name == "gen_ai.choice":
            message = as_dict(body.get("message"), body)
            msg = {"role": "assistant", "content": text_of(message.get("content"))}
            if message.get("tool_calls"):
                msg["tool_calls"] = message["tool_calls"]
            choices.append((int(body.get("index") or 0), openai_message(msg, n)))
    output = min(choices, key=lambda c: c[0])[1] if choices else None
    return inputs, output


def _indexed_messages(attributes: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """The indexed form some instrumentations (OpenLLMetry) use: ``gen_ai.prompt.N.role`` / ``.content`` /
    ``.tool_calls.M.name|arguments|id`` / ``.tool_call_id``, and ``gen_ai.completion.N.*``."""
    raw: dict[int, dict[str, Any]] = {}
    for key, value in attributes.items():
        m = _INDEXED.match(key)
        if m and m.group(1) == kind:
            raw.setdefault(int(m.group(2)), {})[m.group(3)] = value
    out: list[dict[str, Any]] = []
    for index in sorted(raw):
        fields = raw[index]
        calls: dict[int, dict[str, Any]] = {}
        for key, value in fields.items():
            if (c := _INDEXED_CALL.match(key)) is not None:
                calls.setdefault(int(c.group(1)), {})[c.group(2)] = value
        role = fields.get("role") or ("assistant" if kind == "completion" else "user")
        msg: dict[str, Any] = {"role": role, "content": fields.get("content")}
        if calls:
            msg["tool_calls"] = [{"id": c.get("id"), "name": c.get("name"), "arguments": c.get("arguments")}
                                 for _, c in sorted(calls.items())]
        if fields.get("tool_call_id") is not None:
            msg["tool_call_id"] = fields["tool_call_id"]
        out.append(openai_message(msg, index))
    return out


def _model_call(span: Span) -> ModelCall:
    a = span.attributes
    inputs = semconv_messages(a.get("gen_ai.input.messages"))
    outputs = semconv_messages(a.get("gen_ai.output.messages"))
    output = outputs[0] if outputs else None
    if not inputs and output is None:
        inputs, output = _event_messages(span)
    if not inputs and output is None:
        inputs = _indexed_messages(a, "prompt")
        completions = _indexed_messages(a, "completion")
        output = completions[0] if completions else None
    system = system_instructions(a.get("gen_ai.system_instructions"))
    if system is not None and not any(m.get("role") == "system" for m in inputs):
        inputs.insert(0, system)
    prompt = a.get("gen_ai.usage.input_tokens", a.get("gen_ai.usage.prompt_tokens"))
    completion = a.get("gen_ai.usage.output_tokens", a.get("gen_ai.usage.completion_tokens"))
    usage = None
    if prompt is not None or completion is not None:
        usage = {"prompt_tokens": int(prompt or 0), "completion_tokens": int(completion or 0)}
    model = a.get("gen_ai.response.model") or a.get("gen_ai.request.model")
    return ModelCall(span, inputs, output, usage, str(model) if model else None)


def _tool_record(span: Span) -> ToolRecord:
    a = span.attributes
    error = span.error or bool(a.get("error.type"))
    result = a.get("gen_ai.tool.call.result")
    if result is None and error:
        why = span.status_message or next(
            (e.attributes.get("exception.message") for e in span.events if e.name == "exception"), None)
        result = f"Error: {why or a.get('error.type') or 'the tool failed'}"
    args = a.get("gen_ai.tool.call.arguments")
    name = a.get("gen_ai.tool.name") or (span.name.split(" ", 1)[1] if " " in span.name else span.name)
    call_id = a.get("gen_ai.tool.call.id")
    return ToolRecord(span, str(call_id).strip() if call_id else None, str(name),
                      as_text(args) if args is not None else "{}", as_text(result) if result is not None else None,
                      error)


def report_unknown(spans: list[Span], log: ProblemLog, known: frozenset[str], prefixes: tuple[str, ...],
                   namespaces: tuple[str, ...]) -> None:
    """One warning per attribute of our namespaces that we do not know: it was ignored."""
    first: dict[str, Span] = {}
    count: dict[str, int] = {}
    for span in spans:
        for name in span.attributes:
            # Indexed keys (``x.0.y``, ``x.1.y``) are one attribute for the report.
            key = re.sub(r"\.\d+(?=\.|$)", ".N", name)
            if key.startswith(namespaces) and name not in known and not key.startswith(prefixes):
                first.setdefault(key, span)
                count[key] = count.get(key, 0) + 1
    for key, span in first.items():
        log.warn(span.path, f"span {span.span_id}: unknown attribute {key!r} ignored "
                 f"(on {count[key]} span{'s' if count[key] != 1 else ''})", span.line)


def _case_and_tags(spans: list[Span]) -> tuple[str | None, list[str]]:
    case_id = next((str(s.attributes["agentctl.case_id"]) for s in spans if s.attributes.get("agentctl.case_id")),
                   None)
    tags: list[str] = []
    for s in spans:
        raw = s.attributes.get("agentctl.tags")
        if isinstance(raw, str):
            raw = [t.strip() for t in raw.split(",")]
        for t in raw or []:
            if t and t not in tags:
                tags.append(str(t))
    return case_id, tags


def read_otel(paths: list[Path], log: ProblemLog) -> Iterator[ImportedRun]:
    """Runs from OTLP JSON exports following the OpenTelemetry GenAI semantic conventions."""
    spans = read_spans(paths, log)
    report_unknown(spans, log, KNOWN_ATTRIBUTES, KNOWN_PREFIXES, ("gen_ai.",))
    for unit in run_units(spans, lambda s: operation(s) == "invoke_agent", log):
        first = unit.root or unit.spans[0]
        where = f"trace {unit.trace_id}" + (f" agent span {unit.root.span_id}" if unit.split and unit.root is not None
                                            else "")
        calls = [_model_call(s) for s in innermost(unit, lambda s: operation(s) in CHAT_OPERATIONS)]
        tools = [_tool_record(s) for s in unit.spans if operation(s) == "execute_tool"]
        agent = next((s for s in unit.spans if operation(s) == "invoke_agent"), None)
        if any(c.inputs or c.output for c in calls):
            messages = build_from_calls(calls)
        else:
            agent_in = semconv_messages(agent.attributes.get("gen_ai.input.messages")) if agent else []
            agent_out = semconv_messages(agent.attributes.get("gen_ai.output.messages")) if agent else []
            messages = build_from_tools(agent_in, calls, tools, agent_out[-1] if agent_out else None)
        attach_unseen_tools(messages, fill_tool_results(messages, tools))
        start_ns, latency = unit_timing(unit)
        usages = [c.usage for c in calls if c.usage]
        definitions = []
        for s in unit.spans:
            for d in maybe_json(s.attributes.get("gen_ai.tool.definitions")) or []:
                td = tool_definition(d)
                if td is not None:
                    definitions.append(td)
        case_id, tags = _case_and_tags(unit.spans)
        agent_name = agent.attributes.get("gen_ai.agent.name") or agent.attributes.get("gen_ai.agent.id") if agent \
            else None
        model = next((c.model for c in calls if c.model), None) or (
            agent.attributes.get("gen_ai.request.model") if agent else None)
        yield ImportedRun(
            run_id=f"otel-{unit.run_key}", messages=messages, where=f"{first.path.name}: {where}",
            path=first.path, line=first.line, ref=where, model=model, agent_id=str(agent_name) if agent_name else None,
            usage={"prompt_tokens": sum(u["prompt_tokens"] for u in usages),
                   "completion_tokens": sum(u["completion_tokens"] for u in usages)} if usages else None,
            latency_s=round(latency, 6) if latency is not None else None, started_at=iso_from_ns(start_ns),
            case_id=case_id, tags=tags, tool_definitions=definitions, trace_ids=[unit.trace_id],
            conversation_id=next((str(s.attributes["gen_ai.conversation.id"]) for s in unit.spans
                                  if s.attributes.get("gen_ai.conversation.id")), None),
        )
