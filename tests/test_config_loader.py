"""Suite loading and ``suite validate``: every problem names file, line and key path."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from agentctl.config import SuiteCheck, load_suite, load_suite_and_dataset, validate_suite
from agentctl.core.errors import InputError, Problem, ValidationFailed
from agentctl.core.yamlpos import parse_yaml

BAD_SUITES = Path(__file__).parent / "data" / "bad_suites"
GOOD = BAD_SUITES / "good.yaml"

TOOLS = """\
- name: get_ticket
  effect: read
  parameters: {type: object, properties: {ticket_id: {type: integer}}}
- name: issue_refund
  effect: write
  parameters: {type: object, properties: {amount_cents: {type: integer}}}
- name: escalate_to_human
  effect: write
"""


def make_dataset(root: Path, runs: bool = True, cases: list[dict] | None = None) -> Path:
    folder = root / "data" / "ds"
    folder.mkdir(parents=True)
    (folder / "tools.yaml").write_text(TOOLS)
    cases = cases or [{"id": "c1", "input": "refund please", "tags": ["payments"]}]
    (folder / "cases.jsonl").write_text("".join(json.dumps(c) + "\n" for c in cases))
    if runs:
        run = {
            "run_id": "r1",
            "case_id": "c1",
            "label": "prod",
            "messages": [{"role": "user", "content": "x"}],
        }
        (folder / "runs.jsonl").write_text(json.dumps(run) + "\n")
    return folder


def write_suite(root: Path, body: str) -> Path:
    suite = root / "suites" / "s.yaml"
    suite.parent.mkdir(parents=True, exist_ok=True)
    suite.write_text(textwrap.dedent(body))
    return suite


HEAD = """\
version: 1
name: s
dataset: ../data/ds
"""


def only(problems: list[Problem], severity: str = "error") -> Problem:
    found = [p for p in problems if p.severity == severity]
    assert len(found) == 1, [str(p) for p in problems]
    return found[0]


def assert_problem(p: Problem, path: Path, line: int, key: str | None, message: str) -> None:
    assert Path(p.path).resolve() == path.resolve()
    assert (p.line, p.key) == (line, key), str(p)
    assert p.message.startswith(message), p.message
    # printed as path:line: key: message
    prefix = "warning: " if p.severity == "warning" else ""
    expected = f":{line}: {prefix}{key + ': ' if key else ''}{p.message}"
    assert re.match(rf"^\S+{re.escape(expected)}$", str(p)), str(p)


# --- the committed bad suites: each breaks one thing and says where in its first line ---


@pytest.mark.parametrize("suite", sorted(p.name for p in BAD_SUITES.glob("*.yaml") if p.name != "good.yaml"))
def test_bad_suite_fixture_reports_its_problem(suite: str) -> None:
    path = BAD_SUITES / suite
    expect = path.read_text().splitlines()[0].removeprefix("# expect: ")
    check = validate_suite(path)
    problem = only(check.problems)
    assert Path(problem.path).resolve() == path.resolve()
    assert str(problem).split(":", 1)[1].removeprefix(" ").startswith(expect.split(": ", 1)[0])
    rendered = f"{problem.line}: " + (f"{problem.key}: " if problem.key else "") + problem.message
    assert rendered.startswith(expect), rendered
    assert str(problem).endswith(rendered)
    with pytest.raises(ValidationFailed):
        load_suite_and_dataset(path)


def test_good_suite_loads_with_paths_relative_to_the_suite_file(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # paths must not depend on the working directory
    suite = load_suite(os.path.relpath(GOOD, tmp_path))
    assert suite.source == GOOD.resolve()
    assert suite.dataset_dir() == (BAD_SUITES / "dataset").resolve()
    check = validate_suite(GOOD)
    assert check.problems == [] and check.ok
    loaded, dataset, warnings = load_suite_and_dataset(GOOD)
    assert loaded.name == "small" and warnings == []
    assert [c.id for c in dataset.cases] == ["T-1", "T-2"]
    assert [r.line for r in dataset.runs] == [1, 2]
    assert dataset.tools.get("escalate_to_human").effect == "write"  # OpenAI form defaults to write


def test_missing_suite_file_is_an_input_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(InputError) as info:
        load_suite(missing)
    assert "nope.yaml" in str(info.value)
    assert info.value.problem.path == missing
    assert validate_suite(missing).errors[0].message.startswith("suite file not found")


# --- YAML with positions ---


def test_yaml_lines_are_kept_for_keys_and_items(tmp_path: Path) -> None:
    text = "gates:\n  - {metric: a, min: 1}\n  - metric: b\n\n  - metric: c\n    min: 2\n"
    problems: list[Problem] = []
    doc = parse_yaml(text, tmp_path / "x.yaml", problems)
    assert problems == []
    assert doc.lines[("gates", 2, "min")] == 6
    assert doc.lines[("gates", 2)] == 5
    assert doc.lines[("gates", 0, "min")] == 2
    assert doc.line_of(("gates", 1, "max")) == 3  # nearest existing node


def test_duplicate_keys_at_depth_are_errors(tmp_path: Path) -> None:
    problems: list[Problem] = []
    parse_yaml("a:\n  b: 1\n  c: 2\n  b: 3\n", tmp_path / "x.yaml", problems)
    assert_problem(only(problems), tmp_path / "x.yaml", 4, "a.b", "duplicate key 'b' (first on line 2)")


# --- suite content ---


def test_unknown_top_level_key_suggests_the_allowed_one(tmp_path: Path) -> None:
    make_dataset(tmp_path)
    suite = write_suite(tmp_path, HEAD + "candidates: [{name: p, model: 'replay:prod'}]\ngatez: []\n")
    with pytest.raises(ValidationFailed) as info:
        load_suite(suite)
    assert_problem(only(info.value.problems), suite, 5, None, "unknown key 'gatez' (did you mean 'gates'?)")
    assert str(info.value).endswith("s.yaml:5: unknown key 'gatez' (did you mean 'gates'?)")


def test_unknown_key_without_a_close_match_lists_the_allowed_keys(tmp_path: Path) -> None:
    make_dataset(tmp_path)
    suite = write_suite(tmp_path, HEAD + "candidates:\n  - name: p\n    model: m\n    zzz: 1\n")
    p = only(validate_suite(suite).problems)
    assert_problem(
        p, suite, 7, "candidates[0]", "unknown key 'zzz' (allowed keys: name, model, system_prompt, params, user_simulator)"
    )


def test_type_errors_have_friendly_messages(tmp_path: Path) -> None:
    make_dataset(tmp_path)
    suite = write_suite(
        tmp_path,
        """\
        version: 2
        name: s
        dataset: ../data/ds
        repeats: 0
        candidates: [{name: p, model: 'replay:prod'}]
        policy:
          forbid:
            - {tool: get_ticket, when: abc}
            - {tool: get_ticket, when: {arg: x, gt: many}}
        gates:
          - {metric: success_rate, min: 0.9, max: 1}
        """,
    )
    problems = validate_suite(suite).errors
    by_key = {p.key: p for p in problems}
    assert sorted(by_key) == [
        "gates[0]",
        "policy.forbid[0].when",
        "policy.forbid[1].when.gt",
        "repeats",
        "version",
    ]
    assert_problem(by_key["version"], suite, 1, "version", "expected 1, got 2")
    assert_problem(by_key["repeats"], suite, 4, "repeats", "must be at least 1, got 0")
    assert_problem(
        by_key["policy.forbid[0].when"],
        suite,
        8,
        "policy.forbid[0].when",
        "expected a mapping (key: value) or a list, got 'abc'",
    )
    assert_problem(
        by_key["policy.forbid[1].when.gt"],
        suite,
        9,
        "policy.forbid[1].when.gt",
        "expected a number, got 'many'",
    )
    assert_problem(
        by_key["gates[0]"], suite, 11, "gates[0]", "a metric gate needs exactly one of 'min' or 'max'"
    )


def test_missing_required_key_points_at_its_parent_line(tmp_path: Path) -> None:
    make_dataset(tmp_path)
    suite = write_suite(tmp_path, HEAD + "candidates:\n  - name: p\n")
    assert_problem(
        only(validate_suite(suite).problems), suite, 5, "candidates[0].model", "required key is missing"
    )


@pytest.mark.parametrize(("body", "what"), [("", "an empty file"), ("- a\n- b\n", "list")])
def test_suite_must_be_a_mapping(tmp_path: Path, body: str, what: str) -> None:
    suite = write_suite(tmp_path, body)
    p = only(validate_suite(suite).problems)
    assert (p.line, p.key) == (1, None) and p.message.endswith(f"got {what}")


def test_candidates_baseline_and_gate_references(tmp_path: Path) -> None:
    make_dataset(tmp_path)
    suite = write_suite(
        tmp_path,
        HEAD
        + """\
candidates:
  - {name: prod, model: 'replay:prod'}
  - {name: prod, model: openai/gpt-4o-mini}
baseline: prd
scorers:
  - name: contans
gates:
  - {metric: 'score:judge', min: 0.5}
  - {metric: success_rate, min: 0.9, candidates: [prod, mini]}
  - {metric: 'pass^3', min: 0.5}
repeats: 2
""",
    )
    errors = validate_suite(suite).errors
    got = {(p.line, p.key): p.message for p in errors}
    assert got[(6, "candidates[1].name")] == "duplicate candidate name 'prod' (first on line 5)"
    assert got[(7, "baseline")] == "unknown candidate 'prd' (did you mean 'prod'?)"
    assert got[(9, "scorers[0].name")].startswith("unknown scorer 'contans'")
    assert got[(11, "gates[0].metric")] == "no scorer 'judge' in this suite (scorers: outcome, contans)"
    assert got[(12, "gates[1].candidates[1]")] == "unknown candidate 'mini' (candidates: prod)"
    assert got[(13, "gates[2].metric")] == "pass^3 needs repeats >= 3 (repeats is 2)"
    assert len(errors) == 6


def test_replay_candidate_needs_runs_jsonl(tmp_path: Path) -> None:
    make_dataset(tmp_path, runs=False)
    suite = write_suite(tmp_path, HEAD + "candidates:\n  - name: prod\n    model: replay:prod\n")
    p = only(validate_suite(suite).problems)
    assert_problem(p, suite, 6, "candidates[0].model", "candidate 'prod' replays recordings, but")
    assert "runs.jsonl does not exist" in p.message


def test_model_candidates_do_not_need_runs_jsonl(tmp_path: Path) -> None:
    make_dataset(tmp_path, runs=False)
    suite = write_suite(tmp_path, HEAD + "candidates:\n  - {name: mini, model: openai/gpt-4o-mini}\n")
    assert validate_suite(suite).problems == []


def test_policy_and_escalation_tools_must_be_in_the_catalog(tmp_path: Path) -> None:
    make_dataset(tmp_path)
    suite = write_suite(
        tmp_path,
        HEAD
        + """\
agent: {escalation_tool: escalate}
candidates: [{name: p, model: 'replay:prod'}]
policy:
  allow_tools: [get_ticket, issue_refnd]
  require_approval:
    - {tool: issue_refund, when: {arg: amount_cents, gt: 10000}}
    - {tool: zap}
""",
    )
    got = {(p.line, p.key): p.message for p in validate_suite(suite).errors}
    assert got == {
        (4, "agent.escalation_tool"): "unknown tool 'escalate' (did you mean 'escalate_to_human'?)",
        (7, "policy.allow_tools[1]"): "unknown tool 'issue_refnd' (did you mean 'issue_refund'?)",
        (
            10,
            "policy.require_approval[1].tool",
        ): "unknown tool 'zap' (tools in tools.yaml: get_ticket, issue_refund, escalate_to_human)",
    }


def test_candidate_prompt_file_must_exist_and_inline_prompts_are_text(tmp_path: Path) -> None:
    make_dataset(tmp_path)
    (tmp_path / "suites").mkdir()
    (tmp_path / "suites" / "v3.md").write_text("You help.")
    suite = write_suite(
        tmp_path,
        HEAD
        + """\
agent: {system_prompt: v3.md}
candidates:
  - {name: p, model: 'replay:prod', system_prompt: "Be brief. Say what you did."}
  - {name: q, model: 'replay:prod', system_prompt: prompts/v4.txt}
""",
    )
    p = only(validate_suite(suite).problems)
    assert_problem(p, suite, 7, "candidates[1].system_prompt", "prompt file not found: prompts/v4.txt")
    assert (
        load_suite(suite).system_prompt_for(load_suite(suite).candidates[0]) == "Be brief. Say what you did."
    )


def test_dataset_problems_name_the_dataset_file_and_line(tmp_path: Path) -> None:
    folder = make_dataset(
        tmp_path,
        cases=[
            {"id": "c1", "input": "x"},
            {"id": "c2", "input": "y", "expected": {"actions": [{"tool": "get_ticket"}]}},
        ],
    )
    suite = write_suite(tmp_path, HEAD + "candidates: [{name: p, model: 'replay:prod'}]\nzzz: 1\n")
    check: SuiteCheck = validate_suite(suite)
    assert [Path(p.path).name for p in check.errors] == ["s.yaml", "cases.jsonl"]  # suite first
    assert_problem(
        check.errors[1],
        folder / "cases.jsonl",
        2,
        "expected.actions[0].tool",
        "expected actions are write actions; 'get_ticket' is a read tool",
    )


def test_load_suite_and_dataset_returns_warnings(tmp_path: Path) -> None:
    make_dataset(tmp_path)
    suite = write_suite(
        tmp_path,
        HEAD
        + "candidates: [{name: p, model: 'replay:prod'}]\ngates:\n  - {metric: success_rate, min: 0.9, tags: [nosuch]}\n",
    )
    loaded, dataset, warnings = load_suite_and_dataset(suite)
    assert loaded.name == "s" and len(dataset.cases) == 1
    assert_problem(only(warnings, "warning"), suite, 6, "gates[0].tags[0]", "no case has tag 'nosuch'")
    assert str(warnings[0]).split(": ", 1)[1].startswith("warning: gates[0].tags[0]:")


def test_validate_imports_no_heavy_library() -> None:
    code = (
        "import sys; from agentctl.config import validate_suite;"
        f"c = validate_suite({str(GOOD)!r}); assert c.ok, c.problems;"
        "heavy = [m for m in ('litellm', 'pandas', 'scipy', 'deepeval', 'ragas') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
