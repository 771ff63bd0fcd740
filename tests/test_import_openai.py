"""``--from openai``: chat-completion JSONL into runs, case drafts and an inferred catalog."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from agentctl.datasets.importers import import_traces
from agentctl.datasets.models import RecordedRun
from support.traces import TRACES, calls_of, cases_of, is_error_answer, runs_of, scenarios

SUPPORT = TRACES / "openai" / "support.jsonl"


def test_each_line_becomes_a_run_with_its_messages_and_metadata(tmp_path: Path) -> None:
    report = import_traces("openai", [SUPPORT], tmp_path, "prod", redact=False)
    assert (report.runs_read, report.runs_written, report.problems) == (3, 3, [])
    source = [json.loads(line) for line in SUPPORT.read_text().splitlines()]
    runs = runs_of(tmp_path)
    for line, run in zip(source, runs, strict=True):
        RecordedRun.model_validate(run)
        assert run["run_id"] == line["id"] and run["label"] == "prod"
        assert run["messages"] == line["messages"]  # per-message usage and latency kept too
        for key in ("model", "usage", "latency_s", "started_at"):
            assert run.get(key) == line.get(key)
    assert runs[0]["case_id"] == "T-883192"  # named by the line
    assert runs[1]["case_id"].startswith("case-") and runs[1]["case_id"] != runs[2]["case_id"]


def test_drafts_hold_input_fixtures_and_the_writes_that_took_effect(tmp_path: Path) -> None:
    import_traces("openai", [SUPPORT], tmp_path, "prod", redact=False)
    cases = {c.metadata["run_id"]: c for c in cases_of(tmp_path)}
    sc = scenarios()
    for run in runs_of(tmp_path):
        case = cases[run["run_id"]]
        assert case.review == "pending"
        assert case.input == next(m["content"] for m in run["messages"] if m["role"] == "user")
        answered = [(n, a) for (n, a) in calls_of(run["messages"])]
        assert [(f.tool, f.args) for f in case.fixtures] == answered
    refund, priority, closure = cases["conv_refund"], cases["conv_priority"], cases["conv_closure"]
    assert [(a.tool, a.args) for a in refund.expected.actions] == [("issue_refund", {"charge_id": "ch_124",
                                                                                     "amount_cents": 7500})]
    # the first update_ticket was answered with an error: it changed nothing and is not expected
    failed = [m for m in sc["priority"]["messages"] if m["role"] == "tool" and is_error_answer(m)]
    assert len(failed) == 1
    assert [(a.tool, a.args) for a in priority.expected.actions] == [("update_ticket", {"ticket_id": 4410,
                                                                                       "priority": "urgent"})]
    assert closure.expected.status == "escalated" and closure.expected.actions == []
    assert refund.expected.status == "completed"


def test_reimporting_the_same_source_adds_nothing(tmp_path: Path) -> None:
    import_traces("openai", [SUPPORT], tmp_path, "prod")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    report = import_traces("openai", [SUPPORT], tmp_path, "prod")
    assert (report.runs_written, report.already_imported, report.cases_drafted) == (0, 3, [])
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before


def test_an_existing_cases_file_is_kept_and_runs_join_cases_with_the_same_input(tmp_path: Path) -> None:
    priority = scenarios()["priority"]["messages"][1]["content"]
    mine = {"id": "P-1", "input": priority, "tags": ["tickets"],
            "expected": {"actions": [{"tool": "update_ticket", "args": {"ticket_id": 4410, "priority": "urgent"}}]}}
    (tmp_path / "cases.jsonl").write_text(json.dumps(mine) + "\n")
    report = import_traces("openai", [SUPPORT], tmp_path, "prod", redact=False)
    lines = (tmp_path / "cases.jsonl").read_text().splitlines()
    assert json.loads(lines[0]) == mine and len(lines) == 3
    assert report.cases_matched == 1 and len(report.cases_drafted) == 2
    assert {r["run_id"]: r["case_id"] for r in runs_of(tmp_path)}["conv_priority"] == "P-1"


def test_inferred_catalog_has_effects_and_argument_schemas(tmp_path: Path) -> None:
    import_traces("openai", [SUPPORT], tmp_path, "prod", read_tools=["update_*"])
    tools = {t["name"]: t for t in yaml.safe_load((tmp_path / "tools.yaml").read_text())}
    assert set(tools) == {n for s in scenarios().values() for n, _ in calls_of(s["messages"])}
    assert {n for n, t in tools.items() if t["effect"] == "write"} == {"issue_refund", "escalate_to_human"}
    assert tools["update_ticket"]["effect"] == "read"  # --read-tools
    assert tools["issue_refund"]["parameters"] == {
        "type": "object", "properties": {"charge_id": {"type": "string"}, "amount_cents": {"type": "integer"}},
        "required": ["charge_id", "amount_cents"]}


def test_request_response_pairs_and_recorded_tool_definitions(tmp_path: Path) -> None:
    pair = json.loads((TRACES / "openai" / "request_response.jsonl").read_text())
    import_traces("openai", [TRACES / "openai" / "request_response.jsonl"], tmp_path, "prod", redact=False)
    (run,) = runs_of(tmp_path)
    assert run["messages"][:-1] == pair["request"]["messages"]
    assert run["messages"][-1]["content"] == pair["response"]["choices"][0]["message"]["content"]
    assert run["messages"][-1]["usage"] == pair["response"]["usage"] == run["usage"]
    tools = {t["name"]: t for t in yaml.safe_load((tmp_path / "tools.yaml").read_text())}
    recorded = {t["function"]["name"]: t["function"]["parameters"] for t in pair["request"]["tools"]}
    assert {n: t["parameters"] for n, t in tools.items()} == recorded


def test_given_catalog_is_copied_and_missing_tools_reported(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text("- name: get_ticket\n  effect: read\n- name: issue_refund\n  effect: write\n")
    out = tmp_path / "ds"
    report = import_traces("openai", [SUPPORT], out, "prod", tools=catalog)
    assert report.tools_file == "copied"
    assert (out / "tools.yaml").read_text() == catalog.read_text()
    assert report.tools_missing == ["escalate_to_human", "get_order", "list_charges", "lookup_customer",
                                    "update_ticket"]
