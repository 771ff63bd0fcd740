"""ReplayProvider: recordings rebuilt as trajectories (status, steps, usage, policy, validity)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from agentctl.config.models import Suite
from agentctl.core.trajectory import Trajectory
from agentctl.datasets.models import Case, Dataset, RecordedRun, Tool, ToolCatalog
from agentctl.providers.base import ProviderSettings, make_provider
from agentctl.providers.replay import ReplayProvider

CATALOG = ToolCatalog(
    tools=[
        Tool(
            name="get_ticket",
            effect="read",
            parameters={"type": "object", "properties": {"ticket_id": {"type": "integer"}}, "required": ["ticket_id"]},
        ),
        Tool(name="issue_refund", effect="write", cost_usd=0.5),
        Tool(name="escalate_to_human", effect="write"),
    ]
)
USER = {"role": "user", "content": "I was charged twice"}


def suite(**policy: Any) -> Suite:
    return Suite.model_validate({
        "name": "t", "dataset": ".",
        "agent": {"escalation_tool": "escalate_to_human"},
        "candidates": [{"name": "prod", "model": "replay:prod"}],
        "policy": policy,
    })


def call(cid: str, name: str, args: dict[str, Any] | str) -> dict[str, Any]:
    raw = args if isinstance(args, str) else json.dumps(args)
    return {"id": cid, "type": "function", "function": {"name": name, "arguments": raw}}


def assistant(*calls: dict[str, Any], content: str | None = None, **extra: Any) -> dict[str, Any]:
    msg: dict[str, Any] = {"role": "assistant", "content": content, **extra}
    if calls:
        msg["tool_calls"] = list(calls)
    return msg


def tool_msg(cid: str, content: str) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": cid, "content": content}


def replay(messages: list[dict[str, Any]], policy: dict[str, Any] | None = None, **run_fields: Any) -> Trajectory:
    rec = RecordedRun(run_id="r1", case_id="c1", label="prod", messages=messages, **run_fields)
    case = Case(id="c1", input="I was charged twice")
    ds = Dataset(path=Path("."), cases=[case], runs=[rec], tools=CATALOG)
    return asyncio.run(ReplayProvider("prod", suite(**(policy or {})), ds, candidate_name="prod").run(case, 1))


def test_completed_run_keeps_steps_usage_cost_and_latency() -> None:
    traj = replay(
        [
            USER,
            assistant(call("c", "get_ticket", {"ticket_id": 7}), usage={"prompt_tokens": 100, "completion_tokens": 10},
                      latency_s=1.5),
            tool_msg("c", '{"status": "open"}'),
            assistant(call("d", "issue_refund", {"charge_id": "ch_1", "amount_cents": 500})),
            tool_msg("d", '{"refund_id": "re_1"}'),
            assistant(content="Refunded.", usage={"prompt_tokens": 200, "completion_tokens": 20}, latency_s=0.5),
        ],
        usage={"prompt_tokens": 999, "completion_tokens": 99},
        cost_usd=0.0123,
    )
    assert (traj.status, traj.failure_reason, traj.candidate, traj.source_run_id) == ("completed", None, "prod", "r1")
    assert [s.index for s in traj.steps] == list(range(5))
    assert [(s.kind, s.tool, s.effect) for s in traj.steps] == [
        ("model", None, None), ("tool", "get_ticket", "read"), ("model", None, None),
        ("tool", "issue_refund", "write"), ("model", None, None),
    ]
    assert traj.steps[1].output == '{"status": "open"}' and traj.steps[1].args == {"ticket_id": 7}
    assert traj.steps[0].prompt_tokens == 100 and traj.steps[0].latency_s == 1.5
    assert [w.args for w in traj.writes] == [{"charge_id": "ch_1", "amount_cents": 500}]
    assert traj.final_text == "Refunded."
    assert (traj.prompt_tokens, traj.completion_tokens, traj.inference_cost_usd) == (999, 99, 0.0123)
    assert traj.latency_s == 2.0  # no run-level latency: sum of per-message latencies
    assert traj.tool_cost_usd == 0.5  # the refund's fee
    assert traj.messages[-1]["content"] == "Refunded."


def test_recorded_run_latency_and_summed_tokens() -> None:
    traj = replay(
        [USER, assistant(content="hi", usage={"prompt_tokens": 3, "completion_tokens": 4}, latency_s=9.0)],
        latency_s=3.4,
    )
    assert (traj.latency_s, traj.prompt_tokens, traj.completion_tokens, traj.inference_cost_usd) == (3.4, 3, 4, 0.0)


def test_escalation_tool_makes_the_run_escalated() -> None:
    traj = replay([USER, assistant(call("e", "escalate_to_human", {"reason": "fraud"}))])
    assert traj.status == "escalated"
    assert traj.tool_steps[0].effect == "escalation" and traj.writes == []


def test_recording_without_final_message_is_incomplete() -> None:
    ends_with_tool = [USER, assistant(call("c", "get_ticket", {"ticket_id": 7})), tool_msg("c", "{}")]
    ends_with_user = [USER, assistant(content="Which order?"), {"role": "user", "content": "5521"}]
    unanswered_call = [USER, assistant(call("c", "get_ticket", {"ticket_id": 7}), content="Looking")]
    for messages in (ends_with_tool, ends_with_user, unanswered_call):
        traj = replay(messages)
        assert (traj.status, traj.failure_reason) == ("failed", "incomplete")
    assert replay(ends_with_user).texts == ["Which order?"]


def test_repeated_tool_call_ids_are_paired_by_position() -> None:
    traj = replay([
        USER,
        assistant(call("call_1", "get_ticket", {"ticket_id": 1}), call("call_1", "get_ticket", {"ticket_id": 2})),
        tool_msg("call_1", "one"),
        tool_msg("call_1", "two"),
        assistant(call("call_1", "get_ticket", {"ticket_id": 3})),
        tool_msg("call_1", "three"),
        assistant(content="done"),
    ])
    assert [(s.args, s.output) for s in traj.tool_steps] == [
        ({"ticket_id": 1}, "one"), ({"ticket_id": 2}, "two"), ({"ticket_id": 3}, "three"),
    ]


def test_invalid_recorded_arguments_are_not_carried_out() -> None:
    traj = replay([
        USER,
        assistant(call("a", "issue_refund", '{"charge_id": "ch_1", amount_cents: 5}'), call("b", "get_ticket", {"ticket_id": "7"})),
        tool_msg("a", "ok"),
        tool_msg("b", "Error: ticket_id must be an integer"),
        assistant(content="done"),
    ])
    bad_json, bad_schema = traj.tool_steps
    assert bad_json.invalid is not None and bad_json.invalid.startswith("invalid arguments:")
    assert bad_json.args is None and bad_json.raw_args == '{"charge_id": "ch_1", amount_cents: 5}'
    assert bad_schema.invalid == "invalid arguments for get_ticket: ticket_id: '7' is not of type 'integer'"
    assert not bad_json.carried_out and not bad_schema.carried_out
    assert traj.writes == [] and traj.tool_cost_usd == 0.0
    assert traj.model_steps[0].tool_calls[0].parse_error == (
        "arguments are not valid JSON (Expecting property name enclosed in double quotes at char 22)")


def test_a_recorded_call_production_carried_out_counts_even_off_schema() -> None:
    # The tool accepted it (no error answer): the call happened and must be judged (a write
    # as an unexpected or wrong write), not silently dropped for breaking the schema.
    traj = replay([
        USER,
        assistant(call("a", "get_ticket", {"ticket_id": "7"})),
        tool_msg("a", '{"status": "open"}'),
        assistant(content="It is open."),
    ])
    [step] = traj.tool_steps
    assert step.invalid is None and step.carried_out and step.args == {"ticket_id": "7"}


def test_error_outputs_make_failed_writes_not_side_effects() -> None:
    traj = replay([
        USER,
        assistant(call("a", "issue_refund", {"charge_id": "ch_1"}), call("b", "issue_refund", {"charge_id": "ch_2"}),
                  call("c", "issue_refund", {"charge_id": "ch_3"})),
        tool_msg("a", '{"error": "card declined"}'),
        tool_msg("b", "Error: service unavailable"),
        tool_msg("c", '{"refund_id": "re_3"}'),
        assistant(content="One refund went through."),
    ])
    assert [s.error for s in traj.tool_steps] == [True, True, False]
    assert [s.args for s in traj.failed_writes] == [{"charge_id": "ch_1"}, {"charge_id": "ch_2"}]
    assert [s.args for s in traj.writes] == [{"charge_id": "ch_3"}]


def test_policy_flags_recorded_calls_in_order() -> None:
    traj = replay(
        [
            USER,
            assistant(call("a", "issue_refund", {"amount_cents": 15000}), call("b", "issue_refund", {"amount_cents": 50}),
                      call("c", "get_ticket", {"ticket_id": 1})),
            tool_msg("a", "{}"), tool_msg("b", "{}"), tool_msg("c", "{}"),
            assistant(content="done"),
        ],
        policy={"require_approval": [{"tool": "issue_refund", "when": {"arg": "amount_cents", "gt": 10000}}],
                "max_tool_calls": 2},
    )
    assert [s.policy for s in traj.tool_steps] == [
        "require_approval: issue_refund amount_cents=15000 > 10000", None, "max_tool_calls: call 3 > 2",
    ]
    assert len(traj.policy_violations) == 2
    assert [s.args for s in traj.writes] == [{"amount_cents": 50}]
    assert traj.status == "completed"  # production did finish; the verdict judges the violations


def test_unknown_tool_has_unknown_effect_and_counts_as_a_write() -> None:
    # Deliberate change (issue 10): a tool nobody declared is a write side effect everywhere,
    # as outcome scoring always treated it; the trajectory used to leave it out.
    traj = replay([USER, assistant(call("a", "delete_everything", {})), tool_msg("a", "done"), assistant(content="ok")])
    assert traj.tool_steps[0].effect == "unknown" and traj.writes == [traj.tool_steps[0]]


def test_repeat_i_replays_the_ith_recording_with_the_label() -> None:
    def rec(run_id: str, label: str, text: str, case_id: str = "c1") -> RecordedRun:
        return RecordedRun(run_id=run_id, case_id=case_id, label=label, messages=[USER, assistant(content=text)])

    runs = [rec("a", "prod", "first"), rec("b", "canary", "other"), rec("x", "prod", "other case", "c2"),
            rec("c", "prod", "second"), rec("d", "prod", "third")]
    case, lonely = Case(id="c1", input="x"), Case(id="c3", input="y")
    ds = Dataset(path=Path("."), cases=[case, lonely], runs=runs, tools=CATALOG)
    provider = ReplayProvider("prod", suite(), ds)
    assert len(provider.recordings("c1")) == 3
    got = [asyncio.run(provider.run(case, i)) for i in (1, 2, 3)]
    assert [(t.source_run_id, t.final_text, t.repeat) for t in got] == [("a", "first", 1), ("c", "second", 2), ("d", "third", 3)]
    beyond = asyncio.run(provider.run(case, 4))
    missing = asyncio.run(provider.run(lonely, 1))
    for traj in (beyond, missing):
        assert (traj.status, traj.failure_reason, traj.steps) == ("failed", "no_recording", [])


def test_make_provider_replays_without_importing_litellm(tmp_path: Path) -> None:
    script = """
import asyncio, sys
from pathlib import Path
from agentctl.config.models import Suite
from agentctl.datasets.models import Case, Dataset, RecordedRun
from agentctl.providers import ProviderSettings, make_provider
s = Suite.model_validate({"name": "t", "dataset": ".", "candidates": [{"name": "prod", "model": "replay:prod"}]})
run = RecordedRun(run_id="r", case_id="c", label="prod", messages=[{"role": "assistant", "content": "hi"}])
ds = Dataset(path=Path("."), cases=[Case(id="c", input="x")], runs=[run])
p = make_provider(s.candidates[0], s, ds, settings=ProviderSettings())
t = asyncio.run(p.run(ds.cases[0], 1))
print(type(p).__name__, t.status, "litellm" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert out.stdout.split() == ["ReplayProvider", "completed", "False"], out.stderr


def test_make_provider_chooses_litellm_for_model_strings() -> None:
    s = Suite.model_validate({"name": "t", "dataset": ".", "candidates": [{"name": "m", "model": "ollama/llama3:8b"}]})
    ds = Dataset(path=Path("."), cases=[], tools=CATALOG)
    provider = make_provider(s.candidates[0], s, ds, settings=ProviderSettings())
    assert type(provider).__name__ == "LiteLLMProvider"
