"""Write the trace fixtures of tests/data/traces from three recorded support-desk conversations.

Run ``python tests/data/traces/make_fixtures.py`` to regenerate (the outputs are committed).
Each conversation is rendered in the shapes the importers read, following the specifications:

- openai/: chat-completion JSONL (conversation lines and a request/response pair).
- otel/: OpenTelemetry GenAI semantic conventions: the collector file exporter's OTLP JSON
  lines (``invoke_agent`` / ``chat`` / ``execute_tool`` spans, messages as JSON strings), an
  OTLP/HTTP JSON body with structured (``arrayValue``/``kvlistValue``) message attributes, and
  the Python SDK's span JSON with the older per-message events (``gen_ai.user.message``, ...).
- openinference/: Phoenix span exports (flat dotted attributes as JSONL; nested attribute
  objects with the raw OpenAI request/response in ``input.value``/``output.value``).
- broken files for every kind of bad input.

``scenarios.json`` holds the conversations themselves: what a faithful import must reproduce.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
T0 = 1_778_752_800_000_000_000  # 2026-05-14T10:00:00Z in ns
SYSTEM = "You are SupportTriage, a support agent. Use the tools; escalate account closures to a person."


def call(cid: str, name: str, args: dict[str, Any]) -> dict[str, Any]:
    return {"id": cid, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}


def tool(cid: str, result: Any) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": cid, "content": result if isinstance(result, str) else json.dumps(result)}


def assistant(content: str | None, calls: list[dict[str, Any]] | None, usage: tuple[int, int], latency: float,
              ) -> dict[str, Any]:
    m: dict[str, Any] = {"role": "assistant", "content": content}
    if calls:
        m["tool_calls"] = calls
    m["usage"] = {"prompt_tokens": usage[0], "completion_tokens": usage[1]}
    m["latency_s"] = latency
    return m


# Planted personal data: none of it may survive a redacted import.
EMAIL = "jane.doe@example.com"
CARD = "4111 1111 1111 1111"
PHONE = "+1 415 555 0100"
KEY = "sk-proj-Ab12Cd34Ef56Gh78Ij90Kl12Mn34"
IBAN = "DE89 3704 0044 0532 0130 00"

SCENARIOS: list[dict[str, Any]] = [
    {   # multi-tool run with parallel calls and a refund
        "name": "refund", "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "case_id": "T-883192",
        "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"Hi, I was charged twice for order 5521. I'm {EMAIL}, card {CARD}."},
            assistant(None, [call("call_a1", "get_ticket", {"ticket_id": 883192})], (812, 41), 1.2),
            tool("call_a1", {"status": "open", "customer_email": EMAIL}),
            assistant(None, [call("call_b1", "get_order", {"order_id": 5521}),
                             call("call_b2", "list_charges", {"order_id": 5521})], (1010, 60), 1.5),
            tool("call_b1", {"order_id": 5521, "total_cents": 7500}),
            tool("call_b2", {"charges": [{"id": "ch_123", "amount_cents": 7500}, {"id": "ch_124", "amount_cents": 7500}]}),
            assistant(None, [call("call_c1", "issue_refund", {"charge_id": "ch_124", "amount_cents": 7500})], (1200, 35), 0.9),
            tool("call_c1", {"refund_id": "re_1", "status": "succeeded"}),
            assistant("I've refunded the duplicate charge of $75.00 (ch_124). You'll see it in 5-10 days.", None,
                      (1300, 28), 0.8),
        ],
    },
    {   # a tool error, a retry reusing the tool-call id
        "name": "priority", "trace_id": "5cf92f3577b34da6a3ce929d0e0e4737", "case_id": None,
        "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"Please make ticket 4410 urgent, the outage is costing us. Call me on {PHONE}."},
            assistant(None, [call("call_1", "update_ticket", {"ticket_id": 4410, "priority": "urgnt"})], (700, 30), 0.7),
            tool("call_1", {"error": "invalid priority 'urgnt'"}),
            assistant(None, [call("call_1", "update_ticket", {"ticket_id": 4410, "priority": "urgent"})], (760, 30), 0.6),
            tool("call_1", {"ok": True}),
            assistant("Done: ticket 4410 is now urgent. We'll call you shortly.", None, (800, 20), 0.5),
        ],
    },
    {   # hand-off to a person; the run ends on the escalation call
        "name": "closure", "trace_id": "6df92f3577b34da6a3ce929d0e0e4738", "case_id": None,
        "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"Close my account. Verify me with key {KEY}; refund the rest to {IBAN}."},
            assistant(None, [call("call_x", "lookup_customer", {"email": EMAIL})], (650, 25), 0.6),
            tool("call_x", {"customer_id": "cus_77", "plan": "pro"}),
            assistant(None, [call("call_y", "escalate_to_human", {"reason": "account closure", "customer_id": "cus_77"})],
                      (700, 30), 0.7),
            tool("call_y", {"queued": True}),
        ],
    },
]


def iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).isoformat().replace("+00:00", "Z")


# ---------------------------------------------------------------- timing of each scenario


def timeline(messages: list[dict[str, Any]], start: int) -> list[dict[str, Any]]:
    """Model calls and tool executions with start/end times, in order (parallel tools overlap)."""
    events: list[dict[str, Any]] = []
    t = start + 50_000_000
    history: list[dict[str, Any]] = []
    answers = {}
    for i, m in enumerate(messages):
        if m["role"] == "tool":
            answers.setdefault(m["tool_call_id"], []).append(i)
    used: set[int] = set()
    for m in messages:
        if m["role"] != "assistant":
            history.append(m)
            continue
        dur = int(m["latency_s"] * 1e9)
        events.append({"kind": "chat", "start": t, "end": t + dur, "inputs": list(history), "output": m})
        t += dur + 10_000_000
        history.append(m)
        tool_start = t
        for c in m.get("tool_calls") or []:
            idx = next((j for j in answers.get(c["id"], []) if j not in used), None)
            result = None
            if idx is not None:
                used.add(idx)
                result = messages[idx]["content"]
            # parallel calls of one turn run side by side
            events.append({"kind": "tool", "start": tool_start, "end": tool_start + 200_000_000, "call": c,
                           "result": result})
        if m.get("tool_calls"):
            t = tool_start + 220_000_000
    return events


# ---------------------------------------------------------------- OTel GenAI (new conventions)


def parts_message(m: dict[str, Any]) -> dict[str, Any]:
    if m["role"] == "tool":
        return {"role": "tool", "parts": [{"type": "tool_call_response", "id": m["tool_call_id"],
                                           "response": m["content"]}]}
    parts: list[dict[str, Any]] = []
    if m.get("content"):
        parts.append({"type": "text", "content": m["content"]})
    for c in m.get("tool_calls") or []:
        parts.append({"type": "tool_call", "id": c["id"], "name": c["function"]["name"],
                      "arguments": json.loads(c["function"]["arguments"])})
    out = {"role": m["role"], "parts": parts}
    if m["role"] == "assistant":
        out["finish_reason"] = "tool_call" if m.get("tool_calls") else "stop"
    return out


def any_value(v: Any) -> dict[str, Any]:
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, float):
        return {"doubleValue": v}
    if isinstance(v, str):
        return {"stringValue": v}
    if isinstance(v, list):
        return {"arrayValue": {"values": [any_value(x) for x in v]}}
    if isinstance(v, dict):
        return {"kvlistValue": {"values": [{"key": k, "value": any_value(x)} for k, x in v.items()]}}
    return {}


def otlp_attrs(d: dict[str, Any], structured: bool) -> list[dict[str, Any]]:
    out = []
    for k, v in d.items():
        if isinstance(v, (list, dict)) and not structured and not (isinstance(v, list) and all(isinstance(x, str) for x in v)):
            v = json.dumps(v)
        out.append({"key": k, "value": any_value(v)})
    return out


def otel_spans(s: dict[str, Any], start: int, structured: bool = False) -> list[dict[str, Any]]:
    trace = s["trace_id"]
    agent_id = f"a{trace[1:16]}"
    msgs = s["messages"]
    system = [m for m in msgs if m["role"] == "system"]
    spans: list[dict[str, Any]] = []
    events = timeline(msgs, start)
    end = max(e["end"] for e in events) + 30_000_000
    agent_attrs: dict[str, Any] = {
        "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "SupportTriage",
        "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
    }
    if s["case_id"]:
        agent_attrs["agentctl.case_id"] = s["case_id"]
    spans.append({"traceId": trace, "spanId": agent_id, "name": "invoke_agent SupportTriage", "kind": 1,
                  "startTimeUnixNano": str(start), "endTimeUnixNano": str(end),
                  "attributes": otlp_attrs(agent_attrs, structured), "status": {}})
    for n, e in enumerate(events):
        sid = f"{n + 1:02x}{trace[2:16]}"
        if e["kind"] == "chat":
            out = e["output"]
            attrs = {
                "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
                "gen_ai.response.model": "gpt-4o-2024-08-06",
                "gen_ai.usage.input_tokens": out["usage"]["prompt_tokens"],
                "gen_ai.usage.output_tokens": out["usage"]["completion_tokens"],
                "gen_ai.response.finish_reasons": ["tool_calls" if out.get("tool_calls") else "stop"],
                "gen_ai.system_instructions": [{"type": "text", "content": system[0]["content"]}],
                "gen_ai.input.messages": [parts_message(m) for m in e["inputs"] if m["role"] != "system"],
                "gen_ai.output.messages": [parts_message(out)],
            }
            spans.append({"traceId": trace, "spanId": sid, "parentSpanId": agent_id, "name": "chat gpt-4o",
                          "kind": 3, "startTimeUnixNano": str(e["start"]), "endTimeUnixNano": str(e["end"]),
                          "attributes": otlp_attrs(attrs, structured), "status": {}})
        else:
            c = e["call"]
            result = e["result"]
            failed = result is not None and "error" in json.loads(result)
            attrs = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": c["function"]["name"],
                     "gen_ai.tool.call.id": c["id"], "gen_ai.tool.type": "function",
                     "gen_ai.tool.call.arguments": c["function"]["arguments"]}
            if result is not None:
                attrs["gen_ai.tool.call.result"] = result
            status: dict[str, Any] = {}
            if failed:
                attrs["error.type"] = "InvalidArgument"
                status = {"code": 2, "message": "invalid priority"}
            spans.append({"traceId": trace, "spanId": sid, "parentSpanId": agent_id,
                          "name": f"execute_tool {c['function']['name']}", "kind": 1,
                          "startTimeUnixNano": str(e["start"]), "endTimeUnixNano": str(e["end"]),
                          "attributes": otlp_attrs(attrs, structured), "status": status})
    return spans


def export_request(spans: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "support-triage"}}]},
        "scopeSpans": [{"scope": {"name": "opentelemetry.instrumentation.openai_v2", "version": "2.1b0"},
                        "spans": spans}]}]}


# ---------------------------------------------------------------- OTel deprecated per-message events


def event_form(s: dict[str, Any], start: int) -> list[dict[str, Any]]:
    """Python SDK span JSON (``ReadableSpan.to_json``) with the pre-1.37 per-message events."""
    trace = "e" + s["trace_id"][1:]  # another recording of the same conversation
    root = f"0x{trace[:16]}"
    events = [e for e in timeline(s["messages"], start) if e["kind"] == "chat"]
    spans: list[dict[str, Any]] = [{
        "name": "handle_ticket", "context": {"trace_id": f"0x{trace}", "span_id": root, "trace_state": "[]"},
        "kind": "SpanKind.INTERNAL", "parent_id": None, "start_time": iso(start),
        "end_time": iso(events[-1]["end"] + 500_000_000), "status": {"status_code": "UNSET"},
        "attributes": {"app.ticket_channel": "email"}, "events": [], "links": [],
        "resource": {"attributes": {"service.name": "support-triage"}, "schema_url": ""},
    }]
    for n, e in enumerate(events):
        evs = []
        for m in e["inputs"]:
            if m["role"] == "tool":
                body = {"id": m["tool_call_id"], "content": m["content"]}
            elif m["role"] == "assistant":
                body = {"content": m["content"], "tool_calls": m.get("tool_calls") or []}
            else:
                body = {"content": m["content"]}
            evs.append({"name": f"gen_ai.{m['role']}.message", "timestamp": iso(e["start"]),
                        "attributes": {"gen_ai.system": "openai", "gen_ai.event.content": json.dumps(body)}})
        out = e["output"]
        choice = {"index": 0, "finish_reason": "tool_calls" if out.get("tool_calls") else "stop",
                  "message": {"role": "assistant", "content": out["content"],
                              **({"tool_calls": out["tool_calls"]} if out.get("tool_calls") else {})}}
        evs.append({"name": "gen_ai.choice", "timestamp": iso(e["end"]),
                    "attributes": {"gen_ai.system": "openai", "gen_ai.event.content": json.dumps(choice)}})
        spans.append({
            "name": "chat gpt-4o", "context": {"trace_id": f"0x{trace}", "span_id": f"0x{n + 1:02x}{trace[2:16]}",
                                               "trace_state": "[]"},
            "kind": "SpanKind.CLIENT", "parent_id": root, "start_time": iso(e["start"]), "end_time": iso(e["end"]),
            "status": {"status_code": "UNSET"},
            "attributes": {"gen_ai.operation.name": "chat", "gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o",
                           "gen_ai.response.model": "gpt-4o-2024-08-06",
                           "gen_ai.usage.input_tokens": out["usage"]["prompt_tokens"],
                           "gen_ai.usage.output_tokens": out["usage"]["completion_tokens"]},
            "events": evs, "links": [], "resource": {"attributes": {"service.name": "support-triage"}, "schema_url": ""},
        })
    return spans


# ---------------------------------------------------------------- OpenInference


def oi_message(prefix: str, m: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {f"{prefix}.message.role": m["role"]}
    if m.get("content") is not None:
        out[f"{prefix}.message.content"] = m["content"]
    for k, c in enumerate(m.get("tool_calls") or []):
        base = f"{prefix}.message.tool_calls.{k}.tool_call"
        out[f"{base}.id"] = c["id"]
        out[f"{base}.function.name"] = c["function"]["name"]
        out[f"{base}.function.arguments"] = c["function"]["arguments"]
    if m["role"] == "tool":
        out[f"{prefix}.message.tool_call_id"] = m["tool_call_id"]
    return out


TOOL_SCHEMAS = {
    "get_ticket": {"ticket_id": {"type": "integer"}}, "get_order": {"order_id": {"type": "integer"}},
    "list_charges": {"order_id": {"type": "integer"}},
    "issue_refund": {"charge_id": {"type": "string"}, "amount_cents": {"type": "integer"}},
    "update_ticket": {"ticket_id": {"type": "integer"}, "priority": {"type": "string", "enum": ["low", "normal", "urgent"]}},
    "lookup_customer": {"email": {"type": "string"}},
    "escalate_to_human": {"reason": {"type": "string"}, "customer_id": {"type": "string"}},
}


def oi_spans(s: dict[str, Any], start: int, raw_io: bool = False) -> list[dict[str, Any]]:
    trace = s["trace_id"]
    root = f"b{trace[1:16]}"
    msgs = s["messages"]
    events = timeline(msgs, start)
    end = max(e["end"] for e in events) + 30_000_000
    user = next(m["content"] for m in msgs if m["role"] == "user")
    final = msgs[-1]["content"] if msgs[-1]["role"] == "assistant" and not msgs[-1].get("tool_calls") else None
    agent_attrs: dict[str, Any] = {"openinference.span.kind": "AGENT", "input.value": user, "agent.name": "SupportTriage",
                                   "tag.tags": ["support", s["name"]]}
    if final:
        agent_attrs["output.value"] = final
    spans = [{"name": "SupportTriage", "context": {"trace_id": trace, "span_id": root}, "span_kind": "AGENT",
              "parent_id": None, "start_time": iso(start), "end_time": iso(end), "status_code": "OK",
              "status_message": "", "attributes": agent_attrs, "events": []}]
    tool_defs = {f"llm.tools.{i}.tool.json_schema": json.dumps({"type": "function", "function": {
        "name": n, "description": f"{n.replace('_', ' ')}.", "parameters": {"type": "object", "properties": p,
                                                                          "required": list(p)}}})
        for i, (n, p) in enumerate(TOOL_SCHEMAS.items())}
    for n, e in enumerate(events):
        sid = f"{n + 1:02x}{trace[2:16]}"
        if e["kind"] == "chat":
            out = e["output"]
            attrs: dict[str, Any] = {"openinference.span.kind": "LLM", "llm.model_name": "gpt-4o-2024-08-06",
                                     "llm.provider": "openai", "llm.system": "openai",
                                     "llm.token_count.prompt": out["usage"]["prompt_tokens"],
                                     "llm.token_count.completion": out["usage"]["completion_tokens"],
                                     "llm.token_count.total": sum(out["usage"].values())}
            plain_inputs = [{k: v for k, v in m.items() if k not in ("usage", "latency_s")} for m in e["inputs"]]
            plain_out = {k: v for k, v in out.items() if k not in ("usage", "latency_s")}
            if raw_io:
                attrs["input.value"] = json.dumps({"model": "gpt-4o", "messages": plain_inputs})
                attrs["input.mime_type"] = "application/json"
                attrs["output.value"] = json.dumps({"id": f"chatcmpl-{n}", "object": "chat.completion",
                                                    "choices": [{"index": 0, "message": plain_out,
                                                                 "finish_reason": "stop"}]})
                attrs["output.mime_type"] = "application/json"
            else:
                for i, m in enumerate(plain_inputs):
                    attrs.update(oi_message(f"llm.input_messages.{i}", m))
                attrs.update(oi_message("llm.output_messages.0", plain_out))
                attrs.update(tool_defs)
            spans.append({"name": "ChatCompletion", "context": {"trace_id": trace, "span_id": sid},
                          "span_kind": "LLM", "parent_id": root, "start_time": iso(e["start"]),
                          "end_time": iso(e["end"]), "status_code": "OK", "status_message": "",
                          "attributes": attrs, "events": []})
        else:
            c = e["call"]
            result = e["result"]
            failed = result is not None and "error" in json.loads(result)
            attrs = {"openinference.span.kind": "TOOL", "tool.name": c["function"]["name"],
                     "input.value": c["function"]["arguments"], "input.mime_type": "application/json"}
            if result is not None:
                attrs["output.value"] = result
            spans.append({"name": c["function"]["name"], "context": {"trace_id": trace, "span_id": sid},
                          "span_kind": "TOOL", "parent_id": root, "start_time": iso(e["start"]),
                          "end_time": iso(e["end"]), "status_code": "ERROR" if failed else "OK",
                          "status_message": "invalid priority" if failed else "", "attributes": attrs,
                          "events": []})
    return spans


def nest(flat: dict[str, Any]) -> dict[str, Any]:
    """Phoenix's nested attribute objects (``{"llm": {"model_name": ...}}``); numeric levels become lists."""
    root: dict[str, Any] = {}
    for key, value in flat.items():
        node = root
        parts = key.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value

    def listify(node: Any) -> Any:
        if isinstance(node, dict):
            node = {k: listify(v) for k, v in node.items()}
            if node and all(k.isdigit() for k in node):
                return [node[str(i)] for i in range(len(node))]
        return node

    return listify(root)


# ---------------------------------------------------------------- OpenAI JSONL


def openai_lines() -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    for n, s in enumerate(SCENARIOS):
        line: dict[str, Any] = {"id": f"conv_{s['name']}", "messages": s["messages"]}
        if s["case_id"]:
            line["case_id"] = s["case_id"]
        if n != 1:  # one line without usage, model and timing
            line.update({"model": "gpt-4o-2024-08-06", "latency_s": 5.1, "started_at": iso(T0 + n * 10**11),
                         "usage": {"prompt_tokens": sum(m.get("usage", {}).get("prompt_tokens", 0) for m in s["messages"]),
                                   "completion_tokens": sum(m.get("usage", {}).get("completion_tokens", 0)
                                                            for m in s["messages"])}})
        else:
            line["messages"] = [{k: v for k, v in m.items() if k not in ("usage", "latency_s")} for m in s["messages"]]
        lines.append(line)
    return lines


def main(here: Path = HERE) -> None:
    """Write every fixture under ``here``."""
    for d in ("openai", "otel", "openinference"):
        (here / d).mkdir(exist_ok=True)
    (here / "scenarios.json").write_text(json.dumps(SCENARIOS, indent=1) + "\n")
    (here / "openai" / "support.jsonl").write_text("".join(json.dumps(x) + "\n" for x in openai_lines()))
    s0 = SCENARIOS[0]
    pair = {"request": {"model": "gpt-4o", "messages": [m for m in s0["messages"][:-1]],
                        "tools": [{"type": "function", "function": {"name": n, "parameters": {
                            "type": "object", "properties": p}}} for n, p in TOOL_SCHEMAS.items()]},
            "response": {"id": "chatcmpl-9", "object": "chat.completion", "model": "gpt-4o-2024-08-06",
                         "choices": [{"index": 0, "message": {"role": "assistant", "content": s0["messages"][-1]["content"]},
                                      "finish_reason": "stop"}],
                         "usage": {"prompt_tokens": 1300, "completion_tokens": 28}}}
    (here / "openai" / "request_response.jsonl").write_text(json.dumps(pair) + "\n")

    # collector file exporter: one ExportTraceServiceRequest per line; a trace may span two batches
    lines = []
    for n, s in enumerate(SCENARIOS[:2]):
        spans = otel_spans(s, T0 + n * 10**11)
        lines.append(export_request(spans[: len(spans) // 2]))
        lines.append(export_request(spans[len(spans) // 2:]))
    (here / "otel" / "collector_file.json").write_text("".join(json.dumps(x) + "\n" for x in lines))
    (here / "otel" / "otlp_structured.json").write_text(
        json.dumps(export_request(otel_spans(SCENARIOS[2], T0 + 3 * 10**11, structured=True)), indent=2) + "\n")
    (here / "otel" / "deprecated_events.jsonl").write_text(
        "".join(json.dumps(x) + "\n" for s in SCENARIOS for x in event_form(s, T0 + 4 * 10**11)))

    (here / "openinference" / "phoenix_spans.jsonl").write_text(
        "".join(json.dumps(x) + "\n" for n, s in enumerate(SCENARIOS) for x in oi_spans(s, T0 + n * 10**11)))
    nested = [dict(sp, attributes=nest(sp["attributes"])) for sp in oi_spans(SCENARIOS[1], T0, raw_io=True)]
    (here / "openinference" / "phoenix_nested.json").write_text(json.dumps({"data": nested}, indent=1) + "\n")

    # ---- bad input
    good = openai_lines()[1]
    orphan_result = {"id": "conv_orphan", "messages": [
        {"role": "user", "content": "Where is my order 9?"},
        {"role": "assistant", "content": None, "tool_calls": [call("call_o", "get_order", {"order_id": 9})]},
        {"role": "tool", "tool_call_id": "call_o", "content": "{\"status\": \"shipped\"}"},
        {"role": "tool", "tool_call_id": "call_zzz", "content": "{\"status\": \"lost\"}"},
        {"role": "assistant", "content": "It has shipped."}]}
    bad_utf8 = json.dumps({"id": "conv_latin1", "messages": [
        {"role": "user", "content": "Cafe MARKER order 12"},
        {"role": "assistant", "content": "Noted."}]}).encode().replace(b"MARKER", b"cr\xe8me")
    with (here / "openai" / "broken.jsonl").open("wb") as fh:
        fh.write(json.dumps(good | {"id": "conv_ok", "channel": "email"}).encode() + b"\n")
        fh.write(json.dumps(orphan_result).encode() + b"\n")
        fh.write(b"[1, 2, 3]\n")
        fh.write(bad_utf8 + b"\n")
        fh.write(json.dumps(openai_lines()[0]).encode()[:300] + b"\n")  # truncated mid-line

    spans = otel_spans(SCENARIOS[1], T0)
    spans[0]["attributes"].append({"key": "gen_ai.agent.mood", "value": {"stringValue": "cheerful"}})
    orphan = dict(spans[2], parentSpanId="deadbeefdeadbeef")
    broken = [export_request([spans[0], spans[1], orphan] + spans[3:])]
    text = "".join(json.dumps(x) + "\n" for x in broken)
    text += json.dumps(export_request(otel_spans(SCENARIOS[0], T0)))[:500] + "\n"  # truncated last line
    (here / "otel" / "broken.jsonl").write_text(text)

    oi = oi_spans(SCENARIOS[1], T0)
    oi[1]["attributes"]["llm.temperature_guess"] = 0.3
    oi[2] = dict(oi[2], parent_id="cafebabecafebabe")
    text = "".join(json.dumps(x) + "\n" for x in oi) + json.dumps(oi_spans(SCENARIOS[0], T0)[1])[:400] + "\n"
    (here / "openinference" / "broken.jsonl").write_text(text)


if __name__ == "__main__":
    main()
