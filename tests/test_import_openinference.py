"""``--from openinference``: Arize Phoenix / OpenInference span exports into runs."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from agentctl.datasets.importers import import_traces
from support.traces import TRACES, cases_of, runs_of, scenario_of, scenarios, shape

SPANS = TRACES / "openinference" / "phoenix_spans.jsonl"
NESTED = TRACES / "openinference" / "phoenix_nested.json"


def test_spans_become_runs_equal_to_the_recorded_conversations(tmp_path: Path) -> None:
    report = import_traces("openinference", [SPANS], tmp_path, "prod", redact=False)
    assert report.problems == [] and report.runs_written == 3
    spans = [json.loads(line) for line in SPANS.read_text().splitlines()]
    for run in runs_of(tmp_path):
        sc = scenario_of(run)
        assert shape(run["messages"]) == shape(sc["messages"]), sc["name"]
        assert run["run_id"] == f"oi-{sc['trace_id']}" and run["agent_id"] == "SupportTriage"
        llm = [s for s in spans if s["context"]["trace_id"] == sc["trace_id"] and s["span_kind"] == "LLM"]
        assert [m["usage"] for m in run["messages"] if m["role"] == "assistant"] == [
            {"prompt_tokens": s["attributes"]["llm.token_count.prompt"],
             "completion_tokens": s["attributes"]["llm.token_count.completion"]} for s in llm]
        assert run["model"] == llm[0]["attributes"]["llm.model_name"]
    tags = {c.metadata["run_id"]: c.tags for c in cases_of(tmp_path)}
    assert tags[f"oi-{scenarios()['refund']['trace_id']}"] == ["support", "refund"]  # tag.tags


def test_recorded_tool_definitions_become_the_catalog(tmp_path: Path) -> None:
    import_traces("openinference", [SPANS], tmp_path, "prod")
    tools = {t["name"]: t for t in yaml.safe_load((tmp_path / "tools.yaml").read_text())}
    first_llm = next(json.loads(line) for line in SPANS.read_text().splitlines()
                     if json.loads(line)["span_kind"] == "LLM")
    recorded = [json.loads(v)["function"] for k, v in first_llm["attributes"].items() if k.startswith("llm.tools.")]
    assert {f["name"]: f["parameters"] for f in recorded} == {n: t["parameters"] for n, t in tools.items()}
    assert tools["update_ticket"]["parameters"]["properties"]["priority"]["enum"] == ["low", "normal", "urgent"]


def test_nested_attributes_and_raw_request_response_values(tmp_path: Path) -> None:
    data = json.loads(NESTED.read_text())["data"]
    assert isinstance(data[1]["attributes"]["llm"], dict)  # Phoenix's nested form
    import_traces("openinference", [NESTED], tmp_path, "prod", redact=False)
    (run,) = runs_of(tmp_path)
    assert shape(run["messages"]) == shape(scenarios()["priority"]["messages"])
    failed = next(s for s in data if s["span_kind"] == "TOOL" and s["status_code"] == "ERROR")
    assert failed["attributes"]["output"]["value"] == json.dumps({"error": "invalid priority 'urgnt'"})


def _kv(key: str, value: object) -> dict[str, object]:
    return {"key": key, "value": {"intValue": str(value)} if isinstance(value, int) else {"stringValue": value}}


def test_otlp_json_with_openinference_attributes_and_content_parts(tmp_path: Path) -> None:
    trace = "aa" * 16
    spans = [
        {"traceId": trace, "spanId": "01" * 8, "name": "agent", "startTimeUnixNano": "1000000000",
         "endTimeUnixNano": "4000000000", "attributes": [_kv("openinference.span.kind", "AGENT")]},
        {"traceId": trace, "spanId": "02" * 8, "parentSpanId": "01" * 8, "name": "llm",
         "startTimeUnixNano": "1100000000", "endTimeUnixNano": "1500000000", "attributes": [
             _kv("openinference.span.kind", "LLM"), _kv("llm.model_name", "gpt-4o"),
             _kv("llm.input_messages.0.message.role", "user"),
             _kv("llm.input_messages.0.message.contents.0.message_content.type", "text"),
             _kv("llm.input_messages.0.message.contents.0.message_content.text", "Is order 12 shipped?"),
             _kv("llm.output_messages.0.message.role", "assistant"),
             _kv("llm.output_messages.0.message.contents.0.message_content.type", "text"),
             _kv("llm.output_messages.0.message.contents.0.message_content.text", "Yes, yesterday."),
             _kv("llm.token_count.prompt", 5), _kv("llm.token_count.completion", 2)]},
    ]
    src = tmp_path / "oi_otlp.json"
    src.write_text(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}))
    report = import_traces("openinference", [src], tmp_path / "ds", "prod", redact=False)
    assert report.problems == []
    (run,) = runs_of(tmp_path / "ds")
    assert run["messages"] == [
        {"role": "user", "content": "Is order 12 shipped?"},
        {"role": "assistant", "content": "Yes, yesterday.", "usage": {"prompt_tokens": 5, "completion_tokens": 2},
         "latency_s": 0.4}]
    assert run["latency_s"] == 3.0 and run["model"] == "gpt-4o"
