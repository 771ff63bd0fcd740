"""Answering tool calls from fixtures and recordings; pairing recorded calls with their outputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agentctl.datasets.models import Case, Dataset, RecordedRun, Tool, ToolCatalog
from agentctl.engine.tools import (
    ArgumentSchemas,
    ToolAnswerer,
    is_error_output,
    recorded_calls,
    recording_index,
)

CATALOG = ToolCatalog(
    tools=[
        Tool(
            name="get_ticket",
            effect="read",
            parameters={"type": "object", "properties": {"ticket_id": {"type": "integer"}}, "required": ["ticket_id"]},
        ),
        Tool(name="job_status", effect="read"),
        Tool(name="issue_refund", effect="write"),
    ]
)


def call(cid: str, name: str, args: dict[str, Any] | str) -> dict[str, Any]:
    raw = args if isinstance(args, str) else json.dumps(args)
    return {"id": cid, "type": "function", "function": {"name": name, "arguments": raw}}


def assistant(*calls: dict[str, Any], content: str | None = None) -> dict[str, Any]:
    return {"role": "assistant", "content": content, "tool_calls": list(calls)}


def tool_msg(cid: str, content: str, **extra: Any) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": cid, "content": content, **extra}


def run(run_id: str, case_id: str, messages: list[dict[str, Any]], label: str = "prod") -> RecordedRun:
    return RecordedRun(run_id=run_id, case_id=case_id, label=label, messages=messages)


def test_pairs_by_id_when_unique_in_the_turn() -> None:
    r = run("r1", "c1", [
        {"role": "user", "content": "hi"},
        assistant(call("a", "get_ticket", {"ticket_id": 1}), call("b", "get_ticket", {"ticket_id": 2})),
        tool_msg("b", "two"),
        tool_msg("a", "one"),
    ])
    calls = recorded_calls(r)
    assert [(c.arguments, c.output) for c in calls] == [({"ticket_id": 1}, "one"), ({"ticket_id": 2}, "two")]


def test_repeated_ids_pair_by_position_never_across_the_run() -> None:
    r = run("r1", "c1", [
        assistant(call("call_1", "get_ticket", {"ticket_id": 1}), call("call_1", "get_ticket", {"ticket_id": 2}),
                  call("x", "job_status", {})),
        tool_msg("call_1", "first"),
        tool_msg("x", "status"),
        tool_msg("call_1", "second"),
        # a later turn reusing the same id is answered by its own tool message
        assistant(call("call_1", "get_ticket", {"ticket_id": 3})),
        tool_msg("call_1", "third"),
        assistant(call("call_1", "get_ticket", {"ticket_id": 4})),
    ])
    calls = recorded_calls(r)
    assert [(c.arguments, c.output) for c in calls] == [
        ({"ticket_id": 1}, "first"),
        ({"ticket_id": 2}, "second"),
        ({}, "status"),
        ({"ticket_id": 3}, "third"),
        ({"ticket_id": 4}, None),  # the recording never answered it
    ]
    assert [c.turn for c in calls] == [0, 0, 0, 4, 6]


def test_unparsable_recorded_arguments_are_kept_with_the_error() -> None:
    calls = recorded_calls(run("r1", "c1", [assistant(call("a", "get_ticket", "{ticket_id: 1")), tool_msg("a", "x")]))
    assert calls[0].arguments is None and "not valid JSON" in (calls[0].parse_error or "")
    assert calls[0].raw_arguments == "{ticket_id: 1"


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"role": "tool", "content": "fine", "error": True}, True),
        ({"role": "tool", "content": '{"error": "charge not found"}'}, True),
        ({"role": "tool", "content": '{"error": null, "ok": true}'}, False),
        ({"role": "tool", "content": "Error: timeout"}, True),
        ({"role": "tool", "content": '{"status": "open"}'}, False),
        ({"role": "tool", "content": {"error": "structured"}}, True),
        ("Error 404", True),
        ("  error: lowercase", True),
        ("no problem", False),
        ('{"errors_seen": 0}', False),
        ('{"\\u0065rror": "escaped key"}', True),  # the key is "error", spelled with an escape
        ('{"note": "an \\"error\\" word in a value"}', False),
        ('{"status": "open", "detail": "\\n"}', False),
        (None, False),
    ],
)
def test_is_error_output(answer: Any, expected: bool) -> None:
    assert is_error_output(answer) is expected


def _answerer(case: Case, ds: Dataset) -> ToolAnswerer:
    """A fresh answerer for one run of ``case``, built as the agent loop builds it."""
    return ToolAnswerer(case, recording_index(ds).answers(case.id), ds.tools)


def dataset(cases: list[Case], runs: list[RecordedRun]) -> Dataset:
    return Dataset(path=Path("."), cases=cases, runs=runs, tools=CATALOG)


def test_fixtures_first_then_any_recording_with_normalised_arguments() -> None:
    case = Case.model_validate({
        "id": "c1", "input": "x",
        "fixtures": [
            {"tool": "get_ticket", "args": {"ticket_id": 1}, "output": {"status": "open"}},
            {"tool": "job_status", "output": "wildcard"},
        ],
    })
    runs = [
        run("r1", "c1", [assistant(call("a", "get_ticket", {"ticket_id": 1})), tool_msg("a", "recorded-1")]),
        run("r2", "c1", [assistant(call("a", "issue_refund", {"charge_id": "ch", "amount_cents": 7500})),
                         tool_msg("a", '{"error": "declined"}')], label="other-label"),
        run("r3", "c2", [assistant(call("a", "get_ticket", {"ticket_id": 2})), tool_msg("a", "other case")]),
    ]
    answerer = _answerer(case, dataset([case], runs))
    fixture = answerer.answer("get_ticket", {"ticket_id": 1.0})
    assert fixture is not None and (fixture.output, fixture.source) == ('{"status": "open"}', "fixture")
    wildcard = answerer.answer("job_status", {"anything": 1})
    assert wildcard is not None and wildcard.output == "wildcard"
    # recorded under another label, arguments in another order and 7500.0 for 7500
    refund = answerer.answer("issue_refund", {"amount_cents": 7500.0, "charge_id": "ch"})
    assert refund is not None and (refund.source, refund.error) == ("recording", True)
    assert answerer.answer("get_ticket", {"ticket_id": 2}) is None  # recorded for another case only
    assert answerer.answer("get_ticket", None) is None


def test_repeated_calls_get_successive_outputs_then_the_last_repeats() -> None:
    case = Case(id="c1", input="x")
    polls = [assistant(call("p", "job_status", {"job": 7})) if i % 2 == 0 else tool_msg("p", s)
             for i, s in enumerate(["", "pending", "", "running", "", "done"])]
    runs = [
        run("r1", "c1", polls),
        # a later recording's answers to the same call do not get appended
        run("r2", "c1", [assistant(call("p", "job_status", {"job": 7})), tool_msg("p", "from r2")]),
    ]
    ds = dataset([case], runs)
    answerer = _answerer(case, ds)
    outputs = [answerer.answer("job_status", {"job": 7}) for _ in range(4)]
    assert [a.output for a in outputs if a] == ["pending", "running", "done", "done"]
    # each run starts over
    again = _answerer(case, ds).answer("job_status", {"job": 7})
    assert again is not None and again.output == "pending"


def test_dataset_is_indexed_once() -> None:
    ds = dataset([Case(id="c1", input="x")], [run("r1", "c1", [{"role": "user", "content": "x"}])])
    assert recording_index(ds) is recording_index(ds)
    other = dataset([Case(id="c1", input="x")], [])
    assert recording_index(other) is not recording_index(ds)


def test_argument_schemas_name_the_offending_argument() -> None:
    schemas = ArgumentSchemas(CATALOG)
    assert schemas.problem("get_ticket", {"ticket_id": 5}) is None
    assert schemas.problem("get_ticket", {"ticket_id": "five"}) == "ticket_id: 'five' is not of type 'integer'"
    assert schemas.problem("get_ticket", {}) == "'ticket_id' is a required property"
    assert schemas.problem("not_in_catalog", {"x": 1}) is None
