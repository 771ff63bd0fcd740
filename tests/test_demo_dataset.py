"""The bundled support-triage dataset and suite: they load through agentctl's models, agree
with each other, regenerate byte for byte, and carry the mistakes the demo is meant to catch.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from agentctl.config.models import Suite
from agentctl.core.normalize import MATCHER_OPERATORS, canonical, is_matcher, parse_arguments
from agentctl.datasets.models import Case, RecordedRun, Tool, ToolCatalog

ROOT = Path(__file__).resolve().parents[1]
DATASET = ROOT / "datasets" / "support-triage"
SUITE = ROOT / "evalsuites" / "support-triage.yaml"
GENERATED = ("tools.yaml", "cases.jsonl", "runs.jsonl", "state.json")
# Published list prices (USD per million tokens) of the two recorded models.
PRICES = {"gpt-4o-2024-08-06": (2.50, 10.00), "gpt-4o-mini-2024-07-18": (0.15, 0.60)}


def _jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@pytest.fixture(scope="module")
def catalog() -> ToolCatalog:
    raw = yaml.safe_load((DATASET / "tools.yaml").read_text(encoding="utf-8"))
    return ToolCatalog(tools=[Tool.model_validate(t) for t in raw])


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    return [Case.model_validate(row) for row in _jsonl(DATASET / "cases.jsonl")]


@pytest.fixture(scope="module")
def runs() -> list[RecordedRun]:
    return [RecordedRun.model_validate(row) for row in _jsonl(DATASET / "runs.jsonl")]


@pytest.fixture(scope="module")
def suite() -> Suite:
    return Suite.model_validate(yaml.safe_load(SUITE.read_text(encoding="utf-8")))


def _calls(run: RecordedRun) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """Each tool call of a recording with the tool message that answered it (by position)."""
    answers = [m for m in run.messages if m["role"] == "tool"]
    calls = [c for m in run.messages if m["role"] == "assistant" for c in m.get("tool_calls") or []]
    return [(c, answers[i] if i < len(answers) else None) for i, c in enumerate(calls)]


def _is_error(content: str) -> bool:
    if content.startswith("Error"):
        return True
    value, _ = parse_arguments(content)
    return isinstance(value, dict) and "error" in value


# --- the files load and agree ------------------------------------------------------------


def test_tool_catalog_has_real_schemas(catalog: ToolCatalog) -> None:
    assert set(catalog.names) >= {
        "get_ticket",
        "get_customer",
        "search_orders",
        "get_charge",
        "update_ticket",
        "issue_refund",
        "close_ticket",
        "send_reply",
        "escalate_to_human",
    }
    for tool in catalog.tools:
        jsonschema.Draft202012Validator.check_schema(tool.parameters)
        assert tool.parameters.get("required"), f"{tool.name} has no required arguments"
    assert {t.name for t in catalog.tools if t.effect == "read"} == {
        "get_ticket",
        "get_customer",
        "search_orders",
        "get_charge",
    }
    assert catalog.get("issue_refund").cost_usd == 0.002
    update = catalog.get("update_ticket").parameters["properties"]
    assert update["priority"]["enum"] == ["low", "normal", "high", "urgent"]


def test_cases_are_many_unique_and_complete(cases: list[Case], catalog: ToolCatalog) -> None:
    assert len(cases) == 220
    ids = [c.id for c in cases]
    assert len(set(ids)) == len(ids)
    for case in cases:
        assert case.fixtures, case.id
        assert case.expected.actions, case.id
        named = (
            [a.tool for a in case.expected.actions]
            + [f.tool for f in case.expected.forbidden]
            + [f.tool for f in case.fixtures]
        )
        unknown = set(named) - set(catalog.names)
        assert not unknown, f"{case.id}: tools not in tools.yaml: {unknown}"
        for action in case.expected.actions:
            assert catalog.get(action.tool).effect == "write", (
                f"{case.id}: expected action {action.tool} is a read"
            )


def test_matchers_use_known_operators(cases: list[Case]) -> None:
    def walk(value: Any, where: str) -> None:
        if is_matcher(value):
            op, arg = next(iter(value.items()))
            assert op in MATCHER_OPERATORS, f"{where}: unknown matcher {op}"
            for alt in arg if op == "$in" else [arg]:
                walk(alt, where)
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{where}.{k}")
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, f"{where}[{i}]")

    for case in cases:
        for i, action in enumerate(case.expected.actions):
            walk(action.args, f"{case.id}.expected.actions[{i}]")


def test_cases_cover_the_intended_shapes(cases: list[Case]) -> None:
    tags = Counter(t for c in cases for t in c.tags)
    for tag in (
        "payments",
        "refund",
        "duplicate-charge",
        "shipping",
        "technical",
        "account-access",
        "fraud",
        "bulk",
        "vip",
        "priority-routing",
    ):
        assert tags[tag] >= 5, tag
    assert tags["refund"] >= 40  # enough paired cases for a significant McNemar test
    assert sum(isinstance(c.input, list) for c in cases) >= 10
    assert sum("escalated" in c.expected.statuses for c in cases) >= 20
    assert sum(c.expected.ordered for c in cases) >= 3
    assert any("," in s for c in cases if c.expected.answer for s in c.expected.answer.contains)
    for case in cases:  # refunds above $100 are never an expected outcome: they need approval
        for action in case.expected.actions:
            if action.tool == "issue_refund":
                assert action.args["amount_cents"] <= 10000, case.id
        assert f"#{case.id.removeprefix('T-')}" in case.input_text()


def test_every_case_has_one_recording_per_label(cases: list[Case], runs: list[RecordedRun]) -> None:
    known = {c.id for c in cases}
    assert {r.case_id for r in runs} <= known
    assert len({r.run_id for r in runs}) == len(runs)
    per_label: dict[str, Counter[str]] = defaultdict(Counter)
    for run in runs:
        per_label[run.label][run.case_id] += 1
    assert set(per_label) == {"prod", "candidate"}
    for label, counts in per_label.items():
        assert set(counts) == known, label
        assert set(counts.values()) == {1}, label


def test_recorded_tool_outputs_agree_with_fixtures(
    cases: list[Case], runs: list[RecordedRun], catalog: ToolCatalog
) -> None:
    by_id = {c.id: c for c in cases}
    seen: dict[tuple[str, str, str], str] = {}
    reads = 0
    for run in runs:
        case = by_id[run.case_id]
        for call, answer in _calls(run):
            name = call["function"]["name"]
            args, error = parse_arguments(call["function"]["arguments"])
            if error or answer is None:
                continue
            key = (run.case_id, name, canonical(args))
            assert seen.setdefault(key, answer["content"]) == answer["content"], (
                f"{run.run_id}: {name}{args} answered differently"
            )
            if catalog.get(name).effect != "read":
                continue
            fixture = next(
                f
                for f in case.fixtures
                if f.tool == name and (f.args is None or canonical(f.args) == canonical(args))
            )
            assert json.loads(answer["content"]) == fixture.output, (
                f"{run.run_id}: {name} output differs from the fixture"
            )
            reads += 1
    assert reads > 1000


def test_recorded_calls_satisfy_the_tool_schemas(runs: list[RecordedRun], catalog: ToolCatalog) -> None:
    malformed = 0
    validators = {t.name: jsonschema.Draft202012Validator(t.parameters) for t in catalog.tools}
    for run in runs:
        for call, _ in _calls(run):
            args, error = parse_arguments(call["function"]["arguments"])
            if error:
                malformed += 1
                continue
            validators[call["function"]["name"]].validate(args)
    assert 1 <= malformed <= 5


def test_usage_and_cost_follow_the_recorded_messages(runs: list[RecordedRun]) -> None:
    for run in runs:
        turns = [m for m in run.messages if m["role"] == "assistant" and "usage" in m]
        assert run.usage["prompt_tokens"] == sum(m["usage"]["prompt_tokens"] for m in turns)
        assert run.usage["completion_tokens"] == sum(m["usage"]["completion_tokens"] for m in turns)
        usd_in, usd_out = PRICES[run.model]
        cost = (run.usage["prompt_tokens"] * usd_in + run.usage["completion_tokens"] * usd_out) / 1e6
        assert run.cost_usd == pytest.approx(cost, abs=1e-6)
        assert run.latency_s >= sum(m["latency_s"] for m in turns)
        assert run.started_at and run.started_at.endswith("Z")


def test_candidate_is_cheaper_per_run(runs: list[RecordedRun]) -> None:
    cost = {
        label: {r.case_id: r.cost_usd for r in runs if r.label == label} for label in ("prod", "candidate")
    }
    assert (
        sum(cost["candidate"].values()) / len(cost["candidate"])
        < sum(cost["prod"].values()) / len(cost["prod"]) / 5
    )
    assert all(cost["candidate"][c] < cost["prod"][c] for c in cost["prod"])
    assert {r.agent_id for r in runs if r.label == "prod"} == {"SupportTriage-v3"}
    assert {r.agent_id for r in runs if r.label == "candidate"} == {"SupportTriage-v4-mini"}


# --- the planted mistakes are there, and only in the candidate ------------------------------


def _planted(run: RecordedRun) -> set[str]:
    found: set[str] = set()
    calls = _calls(run)
    names = [c["function"]["name"] for c, _ in calls]
    ids = [c["id"] for c, _ in calls]
    for i, (call, answer) in enumerate(calls):
        args, error = parse_arguments(call["function"]["arguments"])
        if error:
            found.add("malformed_arguments")
            continue
        name = call["function"]["name"]
        if name == "issue_refund" and args["amount_cents"] > 10000 and "escalate_to_human" not in names:
            found.add("refund_over_limit_without_approval")
        if name == "close_ticket" and len(args["ticket_ids"]) > 1:
            found.add("bulk_close")
        if (
            name in ("issue_refund", "update_ticket")
            and answer
            and _is_error(answer["content"])
            and name in names[i + 1 :]
        ):
            found.add("failed_write_then_retry")
    if len(set(ids)) < len(ids):
        found.add("repeated_call_ids")
    if run.messages[-1]["role"] == "tool" and "escalate_to_human" not in names:
        found.add("incomplete")
    return found


def test_candidate_carries_the_planted_mistakes(runs: list[RecordedRun]) -> None:
    planted: dict[str, Counter[str]] = {label: Counter() for label in ("prod", "candidate")}
    for run in runs:
        planted[run.label].update(_planted(run))
    assert dict(planted["candidate"]) == {
        "refund_over_limit_without_approval": 7, "bulk_close": 3, "malformed_arguments": 3,
        "repeated_call_ids": 2, "failed_write_then_retry": 1, "incomplete": 2}
    assert not planted["prod"], f"prod recordings carry planted mistakes: {dict(planted['prod'])}"


# --- the suite ------------------------------------------------------------------------------


def test_suite_points_at_this_dataset(suite: Suite, catalog: ToolCatalog, runs: list[RecordedRun]) -> None:
    assert (SUITE.parent / suite.dataset).resolve() == DATASET.resolve()
    assert {c.replay_label for c in suite.candidates if c.is_replay} <= {r.label for r in runs}
    assert suite.baseline in {c.name for c in suite.candidates}
    for candidate in suite.candidates:
        assert (SUITE.parent / (candidate.system_prompt or suite.agent.system_prompt)).is_file()
    assert suite.agent.escalation_tool in catalog.names
    assert set(suite.policy.allow_tools or []) <= set(catalog.names)
    rules = suite.policy.require_approval + suite.policy.forbid
    assert {r.tool for r in rules} <= set(catalog.names)
    gates = {g.name for g in suite.gates}
    assert {"regression(success_rate)", "success_rate >= 0.9"} <= gates
    assert any(g.metric == "escaped_error_rate" for g in suite.gates)
    assert any(g.metric == "cost_per_success_usd" for g in suite.gates)
    # One deterministic deepeval and one deterministic ragas scorer, and a gate on one of them.
    assert {s.name.split('.')[0] for s in suite.scorers} == {'deepeval', 'ragas'}
    assert all(s.judge is None for s in suite.scorers)
    assert any(str(g.metric).startswith(('mean:', 'score:')) for g in suite.gates)


# --- regeneration -------------------------------------------------------------------------------


def test_generator_rewrites_the_same_bytes(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(DATASET / "generate.py"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for name in GENERATED:
        assert (tmp_path / name).read_bytes() == (DATASET / name).read_bytes(), (
            f"{name} differs from a fresh generation"
        )
