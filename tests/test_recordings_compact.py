"""Recordings read from runs.jsonl stay compact (ids, numbers and their JSON line), and a
compact recording is the same recording: same fields, same checks, same replay."""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from agentctl.config.models import Suite
from agentctl.core.errors import Problem
from agentctl.datasets import check_dataset, read_dataset, validate_dataset_dir
from agentctl.datasets.loader import load_dataset
from agentctl.datasets.models import Dataset, RecordedRun, Recording
from agentctl.providers.replay import ReplayProvider

TOOLS = """\
- name: get_ticket
  effect: read
  parameters: {type: object, properties: {ticket_id: {type: integer}}}
- name: update_ticket
  effect: write
  parameters: {type: object, properties: {ticket_id: {type: integer}, priority: {type: string}}}
"""


def call(cid: str, name: str, arguments: str) -> dict[str, Any]:
    return {"id": cid, "type": "function", "function": {"name": name, "arguments": arguments}}


def record(rid: str, case_id: str = "c1", **fields: Any) -> dict[str, Any]:
    messages = [
        {"role": "user", "content": "my order is late"},
        {"role": "assistant", "content": None, "tool_calls": [call("a", "get_ticket", '{"ticket_id": 7}')],
         "usage": {"prompt_tokens": 100, "completion_tokens": 10}, "latency_s": 0.5},
        {"role": "tool", "tool_call_id": "a", "content": '{"ticket_id": 7, "status": "open"}'},
        {"role": "assistant", "content": None,
         "tool_calls": [call("b", "update_ticket", '{"ticket_id": 7, "priority": "high"}'),
                        call("b", "update_ticket", '{"ticket_id": 7, "priority": "high", "priority": "low"}')]},
        {"role": "tool", "tool_call_id": "b", "content": "Error: ticket is locked", "error": True},
        {"role": "tool", "tool_call_id": "b", "content": '{"ok": true}'},
        {"role": "assistant", "content": "Done: priority high ✓"},
    ]
    return {"run_id": rid, "case_id": case_id, "label": "prod", "messages": messages, **fields}


RECORDS = [
    record("plain", cost_usd=0.002, latency_s=1.5, model="m-1", started_at="2026-05-14T10:00:00Z"),
    record("int-numbers", cost_usd=1, latency_s=0, usage={"prompt_tokens": 5, "details": {"cached": 1}}),
    record("text-number", cost_usd="0.5"),  # pydantic converts it: the compact form keeps the converted value
    record("bool-number", latency_s=True),
    record("extra-keys", agent_id="bot@3", metadata={"env": "prod", "at": "10:00"}, trace_id="t-1"),
    record("nothing-optional"),
]


def make(tmp_path: Path, records: list[dict[str, Any]], cases: list[str] | None = None) -> Path:
    folder = tmp_path / "ds"
    folder.mkdir()
    (folder / "tools.yaml").write_text(TOOLS)
    (folder / "cases.jsonl").write_text("".join(json.dumps({"id": c, "input": "my order is late"}) + "\n"
                                                for c in cases or ["c1"]))
    (folder / "runs.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    return folder


def suite() -> Suite:
    return Suite.model_validate({"name": "t", "dataset": ".", "agent": {"escalation_tool": "escalate_to_human"},
                                 "candidates": [{"name": "prod", "model": "replay:prod"}]})


def test_a_read_recording_keeps_its_line_not_its_messages(tmp_path: Path) -> None:
    ds = load_dataset(make(tmp_path, RECORDS[:1]))
    run = ds.runs[0]
    assert isinstance(run, Recording) and not hasattr(run, "__dict__")
    assert run.messages == RECORDS[0]["messages"]
    assert run.messages is not run.messages  # parsed from the line on each use, never kept


@pytest.mark.parametrize("raw", RECORDS, ids=[r["run_id"] for r in RECORDS])
def test_a_compact_recording_has_the_fields_pydantic_gives(tmp_path: Path, raw: dict[str, Any]) -> None:
    run = load_dataset(make(tmp_path, [raw])).runs[0]
    expected = RecordedRun.model_validate(raw)
    expected.line = 1
    full = run.full()
    assert full.model_dump() == expected.model_dump()
    assert full.model_extra == expected.model_extra
    assert (run.run_id, run.case_id, run.label, run.model, run.cost_usd, run.latency_s, run.line) == (
        expected.run_id, expected.case_id, expected.label, expected.model, expected.cost_usd, expected.latency_s, 1)
    assert (run.usage, run.agent_id, run.started_at) == (expected.usage, expected.agent_id, expected.started_at)


def test_replaying_a_compact_recording_equals_replaying_the_model(tmp_path: Path) -> None:
    ds = load_dataset(make(tmp_path, RECORDS))
    built = Dataset(path=ds.path, cases=ds.cases, tools=ds.tools, runs=[RecordedRun.model_validate(r) for r in RECORDS])
    case = ds.cases[0]
    for repeat in range(1, len(RECORDS) + 1):
        got = asyncio.run(ReplayProvider("prod", suite(), ds, candidate_name="prod").run(case, repeat))
        want = asyncio.run(ReplayProvider("prod", suite(), built, candidate_name="prod").run(case, repeat))
        assert asdict(got) == asdict(want)
        assert got.source_run_id == RECORDS[repeat - 1]["run_id"]
    # the second update_ticket call repeats a key: its arguments are invalid, in both
    steps = asyncio.run(ReplayProvider("prod", suite(), ds, candidate_name="prod").run(case, 1)).steps
    assert [s.invalid is not None for s in steps if s.kind == "tool"] == [False, False, True]


def test_checks_made_while_reading_equal_the_checks_of_runs_built_in_python(tmp_path: Path) -> None:
    odd = record("odd", case_id="c9")  # unknown case
    odd["messages"][1]["tool_calls"][0]["function"] = {"name": "get_tikcet", "arguments": "{not json"}
    odd["messages"][3]["tool_calls"] = "not a list"
    folder = make(tmp_path, [RECORDS[0], odd], cases=["c1", "c2"])
    read: list[Problem] = []
    files = read_dataset(folder, read)
    check_dataset(files, read)
    again: list[Problem] = []
    files = read_dataset(folder, again)
    files.run_problems = None  # as for runs that were not read from runs.jsonl
    files.dataset.runs = [r.full() for r in files.dataset.runs]
    check_dataset(files, again)
    assert [str(p) for p in read] == [str(p) for p in again]
    assert [(p.line, p.key, p.severity) for p in read] == [
        (1, "messages[3].tool_calls[1].function.arguments", "warning"),  # a repeated key
        (2, "case_id", "error"),
        (2, "messages[1].tool_calls[0].function.arguments", "warning"),
        (2, "messages[1].tool_calls[0].function.name", "warning"),
        (2, "messages[3].tool_calls", "warning"),
    ]


def test_problems_keep_their_order_cases_runs_then_tools(tmp_path: Path) -> None:
    folder = make(tmp_path, [record("r1"), {"run_id": "r2", "case_id": "c1", "label": "prod"}])
    (folder / "cases.jsonl").write_text('{"id": "c1"}\n')
    (folder / "tools.yaml").write_text(TOOLS + "- name: broken\n")
    problems = validate_dataset_dir(folder)
    assert [Path(p.path).name for p in problems if p.severity == "error"] == ["cases.jsonl", "runs.jsonl", "tools.yaml"]
