"""``--from otel``: OpenTelemetry GenAI traces (OTLP JSON, SDK span JSON, deprecated events) into runs."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from agentctl.datasets.importers import import_traces
from support.traces import TRACES, cases_of, runs_of, scenario_of, scenarios, shape

COLLECTOR = TRACES / "otel" / "collector_file.json"
STRUCTURED = TRACES / "otel" / "otlp_structured.json"
EVENTS = TRACES / "otel" / "deprecated_events.jsonl"


def _requests(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _spans(request: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for rs in request["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]


def _attr(span: dict[str, Any], key: str) -> Any:
    return next((a["value"] for a in span["attributes"] if a["key"] == key), None)


def test_traces_become_runs_equal_to_the_recorded_conversations(tmp_path: Path) -> None:
    report = import_traces("otel", [COLLECTOR, STRUCTURED], tmp_path, "prod", redact=False)
    assert report.problems == [] and report.runs_written == 3
    for run in runs_of(tmp_path):
        sc = scenario_of(run)
        assert shape(run["messages"]) == shape(sc["messages"]), sc["name"]
        assert run["run_id"] == f"otel-{sc['trace_id']}"
        assert run["model"] == "gpt-4o-2024-08-06" and run["agent_id"] == "SupportTriage"
        # per model call: usage from gen_ai.usage.*, latency from the chat span
        got = [(m["usage"], m["latency_s"]) for m in run["messages"] if m["role"] == "assistant"]
        want = [(m["usage"], m["latency_s"]) for m in sc["messages"] if m["role"] == "assistant"]
        assert got == want
        assert run["usage"] == {k: sum(u[k] for u, _ in want) for k in ("prompt_tokens", "completion_tokens")}
    spans = [s for req in _requests(COLLECTOR) for s in _spans(req)]
    root = next(s for s in spans if _attr(s, "gen_ai.operation.name") == {"stringValue": "invoke_agent"})
    first = next(r for r in runs_of(tmp_path) if r["run_id"] == f"otel-{root['traceId']}")
    assert first["latency_s"] == (int(root["endTimeUnixNano"]) - int(root["startTimeUnixNano"])) / 1e9
    assert first["started_at"] == "2026-05-14T10:00:00Z"
    assert first["case_id"] == "T-883192"  # agentctl.case_id on the agent span


def test_deprecated_per_message_events(tmp_path: Path) -> None:
    import_traces("otel", [EVENTS], tmp_path, "prod", redact=False)
    runs = runs_of(tmp_path)
    assert len(runs) == 3
    for run in runs:
        sc = scenario_of(run)
        want = shape(sc["messages"])
        if sc["name"] == "closure":
            # the old events carry tool results only as inputs of a later model call; this run ends on the
            # hand-off call, so its answer was never recorded
            want = want[:-1]
        assert shape(run["messages"]) == want, sc["name"]
        assert [m["usage"] for m in run["messages"] if m["role"] == "assistant"] == [
            m["usage"] for m in sc["messages"] if m["role"] == "assistant"]


def test_without_captured_messages_the_run_is_rebuilt_from_tool_spans(tmp_path: Path) -> None:
    sc = scenarios()["refund"]
    spans = [s for req in _requests(COLLECTOR) for s in _spans(req) if s["traceId"] == sc["trace_id"]]
    for s in spans:  # content capture off on the model calls
        s["attributes"] = [a for a in s["attributes"] if a["key"] not in (
            "gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions")]
    agent = next(s for s in spans if _attr(s, "gen_ai.operation.name") == {"stringValue": "invoke_agent"})
    user, final = sc["messages"][1], sc["messages"][-1]
    agent["attributes"] += [
        {"key": "gen_ai.input.messages", "value": {"stringValue": json.dumps(
            [{"role": "user", "parts": [{"type": "text", "content": user["content"]}]}])}},
        {"key": "gen_ai.output.messages", "value": {"stringValue": json.dumps(
            [{"role": "assistant", "parts": [{"type": "text", "content": final["content"]}], "finish_reason": "stop"}])}},
    ]
    src = tmp_path / "nocontent.json"
    src.write_text(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}))
    import_traces("otel", [src], tmp_path / "ds", "prod", redact=False)
    (run,) = runs_of(tmp_path / "ds")
    assert shape(run["messages"]) == shape(sc["messages"][1:])  # no system prompt was recorded
    # the parallel get_order + list_charges calls share one assistant turn
    turns = [len(m["tool_calls"]) for m in run["messages"] if m.get("tool_calls")]
    assert turns == [len(m["tool_calls"]) for m in sc["messages"] if m.get("tool_calls")] == [1, 2, 1]


def test_a_failed_tool_span_marks_its_answer_as_an_error(tmp_path: Path) -> None:
    sc = scenarios()["refund"]
    spans = [s for req in _requests(COLLECTOR) for s in _spans(req) if s["traceId"] == sc["trace_id"]]
    refund = next(s for s in spans if _attr(s, "gen_ai.tool.name") == {"stringValue": "issue_refund"})
    refund["status"] = {"code": 2, "message": "gateway timeout"}
    for a in refund["attributes"]:
        if a["key"] == "gen_ai.tool.call.result":
            a["value"] = {"stringValue": "gateway timeout after 30 s"}
    for s in spans:  # what the model was shown does not say it was an error
        for a in s["attributes"]:
            if a["key"] == "gen_ai.input.messages":
                msgs = json.loads(a["value"]["stringValue"])
                for m in msgs:
                    for p in m["parts"]:
                        if p.get("id") == "call_c1" and p["type"] == "tool_call_response":
                            p["response"] = "gateway timeout after 30 s"
                a["value"]["stringValue"] = json.dumps(msgs)
    src = tmp_path / "failed.json"
    src.write_text(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}))
    import_traces("otel", [src], tmp_path / "ds", "prod", redact=False)
    (run,) = runs_of(tmp_path / "ds")
    answer = next(m for m in run["messages"] if m.get("tool_call_id") == "call_c1")
    assert answer["content"] == "gateway timeout after 30 s" and answer["error"] is True
    (case,) = cases_of(tmp_path / "ds")
    assert case.expected.actions == []  # the refund failed: nothing to expect


def test_answers_only_in_tool_spans_are_added_after_their_call(tmp_path: Path) -> None:
    sc = scenarios()["refund"]
    spans = [s for req in _requests(COLLECTOR) for s in _spans(req) if s["traceId"] == sc["trace_id"]]
    for s in spans:  # the instrumentation dropped tool messages from the model-call inputs
        for a in s["attributes"]:
            if a["key"] == "gen_ai.input.messages":
                msgs = json.loads(a["value"]["stringValue"])
                a["value"]["stringValue"] = json.dumps([m for m in msgs if m["role"] != "tool"])
    src = tmp_path / "notools.json"
    src.write_text(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}))
    import_traces("otel", [src], tmp_path / "ds", "prod", redact=False)
    (run,) = runs_of(tmp_path / "ds")
    assert shape(run["messages"]) == shape(sc["messages"])


def test_several_agent_spans_in_one_trace_are_separate_runs(tmp_path: Path) -> None:
    reqs = _requests(COLLECTOR)
    a, b = scenarios()["refund"]["trace_id"], scenarios()["priority"]["trace_id"]
    spans = [s for req in reqs for s in _spans(req)]
    for s in spans:
        if s["traceId"] == b:
            s["traceId"] = a
            s["spanId"] = s["spanId"][:-2] + "ee"  # span ids stay unique within the merged trace
            if s.get("parentSpanId"):
                s["parentSpanId"] = s["parentSpanId"][:-2] + "ee"
    src = tmp_path / "two_agents.json"
    src.write_text(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}))
    import_traces("otel", [src], tmp_path / "ds", "prod", redact=False)
    runs = runs_of(tmp_path / "ds")
    assert len(runs) == 2 and len({r["run_id"] for r in runs}) == 2
    assert all(r["run_id"].startswith(f"otel-{a}-") for r in runs)
    assert sorted(scenario_of(r)["name"] for r in runs) == ["priority", "refund"]


def test_base64_ids_of_protobuf_json_exporters(tmp_path: Path) -> None:
    request = json.loads(STRUCTURED.read_text())
    for s in _spans(request):
        for key in ("traceId", "spanId", "parentSpanId"):
            if s.get(key):
                s[key] = base64.b64encode(bytes.fromhex(s[key])).decode()
    src = tmp_path / "b64.json"
    src.write_text(json.dumps(request))
    import_traces("otel", [src], tmp_path / "ds", "prod", redact=False)
    (run,) = runs_of(tmp_path / "ds")
    assert run["run_id"] == f"otel-{scenarios()['closure']['trace_id']}"
    assert shape(run["messages"]) == shape(scenarios()["closure"]["messages"])


def test_indexed_prompt_and_completion_attributes(tmp_path: Path) -> None:
    def kv(key: str, value: object) -> dict[str, object]:
        return {"key": key, "value": {"intValue": str(value)} if isinstance(value, int) else {"stringValue": value}}

    span = {"traceId": "bb" * 16, "spanId": "01" * 8, "name": "openai.chat", "startTimeUnixNano": "1000000000",
            "endTimeUnixNano": "2000000000", "attributes": [
                kv("gen_ai.system", "openai"), kv("gen_ai.request.model", "gpt-4o"),
                kv("gen_ai.prompt.0.role", "user"), kv("gen_ai.prompt.0.content", "Refund order 9"),
                kv("gen_ai.completion.0.role", "assistant"), kv("gen_ai.completion.0.tool_calls.0.id", "c1"),
                kv("gen_ai.completion.0.tool_calls.0.name", "issue_refund"),
                kv("gen_ai.completion.0.tool_calls.0.arguments", '{"order": 9}'),
                kv("gen_ai.usage.prompt_tokens", 10), kv("gen_ai.usage.completion_tokens", 3)]}
    src = tmp_path / "indexed.json"
    src.write_text(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}))
    report = import_traces("otel", [src], tmp_path / "ds", "prod", redact=False)
    assert report.problems == []
    (run,) = runs_of(tmp_path / "ds")
    assert shape(run["messages"]) == [
        {"role": "user", "content": "Refund order 9"},
        {"role": "assistant", "content": None, "tool_calls": [("c1", "issue_refund", {"order": 9})]}]
    assert run["usage"] == {"prompt_tokens": 10, "completion_tokens": 3}
