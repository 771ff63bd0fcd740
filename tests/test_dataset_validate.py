"""Dataset readers and cross-checks: every problem names file, line and key path."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from agentctl.core.errors import Problem, ValidationFailed
from agentctl.datasets import dataset_hash, load_dataset, validate_dataset_dir

TOOLS = """\
- name: get_ticket
  description: Fetch a ticket.
  effect: read
  parameters:
    type: object
    properties: {ticket_id: {type: integer}}
- name: issue_refund
  effect: write
  cost_usd: 0.01
  parameters:
    type: object
    properties: {charge_id: {type: string}, amount_cents: {type: integer}}
- type: function
  function:
    name: update_ticket
    description: Change a ticket.
    parameters: {type: object, properties: {priority: {type: string}}}
"""

REFUND = {"tool": "issue_refund", "args": {"charge_id": "ch_1", "amount_cents": 7500}}


def case(cid: str = "c1", **kw: Any) -> dict[str, Any]:
    return {"id": cid, "input": "refund please", **kw}


def run(rid: str = "r1", case_id: str = "c1", calls: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    tool_calls = [{"id": f"call{i}", "type": "function", "function": f} for i, f in enumerate(calls or [])]
    messages: list[dict[str, Any]] = [{"role": "user", "content": "refund please"}]
    if tool_calls:
        messages.append({"role": "assistant", "content": None, "tool_calls": tool_calls})
    messages.append({"role": "assistant", "content": "Done."})
    return {"run_id": rid, "case_id": case_id, "label": "prod", "messages": messages}


def lines(records: list[Any]) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records)


def make(
    tmp_path: Path, cases: list[Any] | None = None, runs: list[Any] | None = None, tools: str = TOOLS
) -> Path:
    folder = tmp_path / "ds"
    folder.mkdir()
    (folder / "tools.yaml").write_text(tools)
    (folder / "cases.jsonl").write_text(lines(cases if cases is not None else [case()]))
    if runs is not None:
        (folder / "runs.jsonl").write_text(lines(runs))
    return folder


def only(problems: list[Problem], severity: str = "error") -> Problem:
    found = [p for p in problems if p.severity == severity]
    assert len(found) == 1, [str(p) for p in problems]
    return found[0]


def check(p: Problem, file: Path, line: int, key: str | None, message: str) -> None:
    assert Path(p.path).resolve() == file.resolve(), str(p)
    assert (p.line, p.key) == (line, key), str(p)
    assert p.message == message, p.message
    prefix = "warning: " if p.severity == "warning" else ""
    shown = f":{line}: {prefix}{key + ': ' if key else ''}{message}"
    assert re.match(rf"^\S+{re.escape(shown)}$", str(p)), str(p)


# --- reading ---


def test_valid_dataset_reads_all_three_files(tmp_path: Path) -> None:
    folder = make(tmp_path, [case(expected={"actions": [REFUND]}), "", case("c2")], [run(), run("r2", "c2")])
    assert validate_dataset_dir(folder) == []
    ds = load_dataset(folder)
    assert [c.id for c in ds.cases] == ["c1", "c2"]
    assert [(r.run_id, r.line) for r in ds.runs] == [("r1", 1), ("r2", 2)]
    assert ds.tools.names == ["get_ticket", "issue_refund", "update_ticket"]
    assert ds.tools.get("update_ticket").effect == "write"  # OpenAI form: write unless said
    assert ds.tools.get("issue_refund").cost_usd == 0.01


def test_malformed_jsonl_line_is_reported_and_reading_goes_on(tmp_path: Path) -> None:
    folder = make(tmp_path, [case("c1"), "", '{"id": "c2", "input": ', case("c3")])
    problems: list[Problem] = []
    ds = load_dataset(folder, problems)
    assert [c.id for c in ds.cases] == ["c1", "c3"]
    p = only(problems)
    assert (p.line, p.key) == (3, None) and p.message.startswith("invalid JSON: ")
    assert Path(p.path).name == "cases.jsonl"
    with pytest.raises(ValidationFailed) as info:
        load_dataset(folder)
    assert info.value.problems == problems


def test_jsonl_line_must_be_an_object(tmp_path: Path) -> None:
    folder = make(tmp_path, [case(), "[1, 2]"])
    check(
        only(validate_dataset_dir(folder)),
        folder / "cases.jsonl",
        2,
        None,
        "expected one JSON object per line, got a list",
    )


def test_case_schema_errors_carry_line_and_key_path(tmp_path: Path) -> None:
    bad = case("c2", expected={"actions": [{"tol": "issue_refund"}], "status": "done"}, input=5)
    folder = make(tmp_path, [case(), bad])
    got = {p.key: p.message for p in validate_dataset_dir(folder)}
    assert got == {
        "expected.actions[0]": "unknown key 'tol' (did you mean 'tool'?)",
        "expected.status": "expected 'completed' or 'escalated' or a list, got 'done'",
        "input": "expected a string or a list, got 5",
    }
    assert {p.line for p in validate_dataset_dir(folder)} == {2}


def test_missing_required_files(tmp_path: Path) -> None:
    folder = tmp_path / "ds"
    folder.mkdir()
    problems = validate_dataset_dir(folder)
    assert sorted(Path(p.path).name for p in problems) == ["cases.jsonl", "tools.yaml"]
    assert all(p.message.startswith("file not found") for p in problems)
    assert validate_dataset_dir(tmp_path / "nope")[0].message == "dataset folder not found"


def test_run_schema_error_and_unknown_case(tmp_path: Path) -> None:
    no_label = run("r2")
    del no_label["label"]
    folder = make(tmp_path, [case()], [run(), no_label, run("r3", "c11")])
    problems = validate_dataset_dir(folder)
    got = {(p.line, p.key): p.message for p in problems}
    assert got == {
        (2, "label"): "required key is missing",
        (3, "case_id"): "unknown case 'c11' (did you mean 'c1'?)",
    }
    check(problems[-1], folder / "runs.jsonl", 3, "case_id", "unknown case 'c11' (did you mean 'c1'?)")


def test_duplicate_case_ids_name_both_lines(tmp_path: Path) -> None:
    folder = make(tmp_path, [case("a"), case("b"), case("a")])
    check(
        only(validate_dataset_dir(folder)),
        folder / "cases.jsonl",
        3,
        "id",
        "duplicate case id 'a' (also on line 1)",
    )


# --- recordings: warnings, since real recordings contain these ---


def test_recorded_arguments_that_are_not_json_are_warnings(tmp_path: Path) -> None:
    bad_call = {"name": "issue_refund", "arguments": '{"charge_id": "ch_1",'}
    folder = make(tmp_path, [case()], [run(), run("r2", calls=[bad_call])])
    problems = validate_dataset_dir(folder)
    p = only(problems, "warning")
    assert not [x for x in problems if x.severity == "error"]
    assert (p.line, p.key) == (2, "messages[1].tool_calls[0].function.arguments")
    assert p.message.startswith("arguments are not valid JSON")
    assert len(load_dataset(folder).runs) == 2  # warnings do not stop loading


def test_recorded_call_of_unknown_tool_is_a_warning(tmp_path: Path) -> None:
    folder = make(
        tmp_path,
        [case()],
        [run(calls=[{"name": "get_ticket", "arguments": "{}"}, {"name": "wipe", "arguments": "{}"}])],
    )
    check(
        only(validate_dataset_dir(folder), "warning"),
        folder / "runs.jsonl",
        1,
        "messages[1].tool_calls[1].function.name",
        "recorded call of 'wipe', which is not in tools.yaml",
    )


# --- cases against the catalog ---


@pytest.mark.parametrize(
    ("fields", "key", "message"),
    [
        (
            {"expected": {"actions": [REFUND, {"tool": "issue_refnd"}]}},
            "expected.actions[1].tool",
            "unknown tool 'issue_refnd' (did you mean 'issue_refund'?)",
        ),
        (
            {"expected": {"actions": [{"tool": "get_ticket", "args": {"ticket_id": 1}}]}},
            "expected.actions[0].tool",
            "expected actions are write actions; 'get_ticket' is a read tool",
        ),
        (
            {"expected": {"forbidden": [{"tool": "zap"}]}},
            "expected.forbidden[0].tool",
            "unknown tool 'zap' (tools in tools.yaml: get_ticket, issue_refund, update_ticket)",
        ),
        (
            {"fixtures": [{"tool": "get_tickets", "output": {}}]},
            "fixtures[0].tool",
            "unknown tool 'get_tickets' (did you mean 'get_ticket'?)",
        ),
    ],
)
def test_cases_name_tools_of_the_catalog(
    tmp_path: Path, fields: dict[str, Any], key: str, message: str
) -> None:
    folder = make(tmp_path, [case(), case("c2", **fields)])
    check(only(validate_dataset_dir(folder)), folder / "cases.jsonl", 2, key, message)


@pytest.mark.parametrize(
    ("args", "key", "message"),
    [
        (
            {"priority": {"$inn": ["high"]}},
            "expected.actions[0].args.priority.$inn",
            "unknown matcher '$inn' (did you mean '$in'?)",
        ),
        (
            {"tags": [1, {"$foo": 1}]},
            "expected.actions[0].args.tags[1].$foo",
            "unknown matcher '$foo' (matchers: $any, $regex, $in, $approx, $contains, $text, $optional)",
        ),
        (
            {"priority": {"$in": ["high", {"$rgx": "^u"}]}},
            "expected.actions[0].args.priority.$in[1].$rgx",
            "unknown matcher '$rgx' (did you mean '$regex'?)",
        ),
        (
            {"amount_cents": {"$approx": 7500}},
            "expected.actions[0].args.amount_cents.$approx",
            "'$approx' needs [value, tolerance] (two numbers, tolerance >= 0), got 7500",
        ),
        (
            {"amount_cents": {"$approx": [7500, -1]}},
            "expected.actions[0].args.amount_cents.$approx",
            "'$approx' needs [value, tolerance] (two numbers, tolerance >= 0), got a list of 2",
        ),
        (
            {"priority": {"$in": "high"}},
            "expected.actions[0].args.priority.$in",
            "'$in' needs a non-empty list of alternatives, got 'high'",
        ),
        (
            {"charge_id": {"$optional": {"$regex": "ch_("}}},
            "expected.actions[0].args.charge_id.$optional.$regex",
            "'$regex' is not a valid regular expression: missing ), unterminated subpattern at position 3",
        ),
        (
            {"priority": {"$in": []}},
            "expected.actions[0].args.priority.$in",
            "'$in' needs a non-empty list of alternatives, got a list of 0",
        ),
        (
            {"force": {"$any": False}},
            "expected.actions[0].args.force.$any",
            "'$any' takes true, got False",
        ),
        (
            {"ticket_ids": {"$contains": {"$regx": "^9"}}},
            "expected.actions[0].args.ticket_ids.$contains.$regx",
            "unknown matcher '$regx' (did you mean '$regex'?)",
        ),
    ],
)
def test_matchers_are_checked_at_any_depth(
    tmp_path: Path, args: dict[str, Any], key: str, message: str
) -> None:
    folder = make(tmp_path, [case(expected={"actions": [{"tool": "issue_refund", "args": args}]})])
    check(only(validate_dataset_dir(folder)), folder / "cases.jsonl", 1, key, message)


def test_known_matchers_pass(tmp_path: Path) -> None:
    args = {
        "charge_id": {"$regex": "^ch_"},
        "amount_cents": {"$approx": [7500, 1]},
        "note": {"$optional": {"$text": "Refund issued"}},
        "lines": [{"$any": True}, {"$in": [1, {"$contains": "x"}]}],
        "ticket_ids": {"$contains": 5},  # a list element, as the scorer reads it
    }
    forbidden = [{"tool": "update_ticket", "args": {"priority": {"$in": ["low"]}}}]
    folder = make(
        tmp_path,
        [case(expected={"actions": [{"tool": "issue_refund", "args": args}], "forbidden": forbidden})],
    )
    assert validate_dataset_dir(folder) == []


# --- the tool catalog ---


def test_tool_parameters_must_be_valid_json_schema(tmp_path: Path) -> None:
    tools = (
        TOOLS + "- name: broken\n  effect: read\n  parameters:\n    type: object\n    properties:\n"
        "      x: {type: integr}\n"
    )
    folder = make(tmp_path, tools=tools)
    p = only(validate_dataset_dir(folder))
    assert (p.line, p.key) == (23, "[3].parameters.properties.x.type")
    assert p.message.startswith(
        "tool 'broken': parameters are not a valid JSON Schema: 'integr' is not valid"
    )


def test_tool_definition_errors_in_both_forms(tmp_path: Path) -> None:
    tools = TOOLS + (
        "- name: a\n  effect: delete\n"  # lines 18-19
        "- type: function\n  function:\n    name: b\n    paramters: {}\n"  # 20-23
        "- type: function\n  effect: maybe\n  function: {description: no name}\n"  # 24-26
        "- name: get_ticket\n"  # 27 (and no effect: required in this form since issue 11)
    )
    folder = make(tmp_path, tools=tools)
    got = {(p.line, p.key): p.message for p in validate_dataset_dir(folder)}
    assert got == {
        (19, "[3].effect"): "expected 'read' or 'write', got 'delete'",
        (23, "[4].function"): "unknown key 'paramters' (allowed keys: name, description, parameters, strict)",
        (25, "[5].effect"): "expected 'read' or 'write', got 'maybe'",
        (26, "[5].function.name"): "required key is missing",
        (27, "[6]"): "required key is missing: effect (read or write) of tool 'get_ticket'",
        (27, "[6].name"): "duplicate tool 'get_ticket' (first on line 1)",
    }


def test_malformed_tools_yaml_stops_tool_checks_but_not_case_checks(tmp_path: Path) -> None:
    folder = make(tmp_path, [case(), case("c1")], tools="- name: a\n  effect: [read\n")
    problems = validate_dataset_dir(folder)
    assert sorted((Path(p.path).name, p.line) for p in problems) == [("cases.jsonl", 2), ("tools.yaml", 3)]


# --- provenance ---


def test_dataset_hash_covers_the_three_files(tmp_path: Path) -> None:
    folder = make(tmp_path, [case()], [run()])
    first = dataset_hash(folder)
    assert first == dataset_hash(folder) and re.fullmatch(r"[0-9a-f]{64}", first)
    hashes = {first}
    for name in ("cases.jsonl", "runs.jsonl", "tools.yaml"):
        with (folder / name).open("a") as f:
            f.write("\n")
        hashes.add(dataset_hash(folder))
    assert len(hashes) == 4


def test_eval_run_stores_the_hash_of_its_dataset(tmp_path: Path) -> None:
    import sys

    import duckdb

    from agentctl.runner import run_suite

    sys.path.insert(0, str(Path(__file__).resolve().parent / "bench"))
    from gen_data import write_replay

    outcome = run_suite(write_replay(tmp_path, 10), db=tmp_path / "s.duckdb")
    con = duckdb.connect(str(tmp_path / "s.duckdb"), read_only=True)
    stored = con.execute("SELECT dataset_hash FROM eval_runs WHERE run_id = ?", [outcome.run_id]).fetchone()
    con.close()
    assert stored == (dataset_hash(tmp_path / "data"),)


def test_a_large_recording_file_validates(tmp_path: Path) -> None:
    # How fast is measured by tests/bench/bench_compute.py.
    calls = [{"name": "get_ticket", "arguments": json.dumps({"ticket_id": i})} for i in range(5)]
    big = run(calls=calls)
    big["messages"][0]["content"] = "x" * 1500
    runs = [{**big, "run_id": f"r{i}"} for i in range(1500)]  # about 3 MB
    folder = make(tmp_path, [case()], runs)
    assert (folder / "runs.jsonl").stat().st_size > 2_500_000
    assert validate_dataset_dir(folder) == []
    assert len(load_dataset(folder).runs) == 1500
