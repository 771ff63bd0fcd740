"""The agent loop through litellm against the local fake OpenAI server (real HTTP)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from agentctl.config.models import Suite
from agentctl.core.trajectory import Trajectory
from agentctl.datasets.models import Case, Dataset, RecordedRun, Tool, ToolCatalog
from agentctl.providers.base import CompleteFn, ModelReply, ModelRequest, ProviderSettings, make_provider
from support.fake_openai import FakeOpenAI, drop, error, malformed, per_case, text, tool_calls, turns

API_KEY = "sk-test-dummy-key-1234567890"
CATALOG = ToolCatalog(
    tools=[
        Tool(
            name="get_ticket",
            effect="read",
            parameters={"type": "object", "properties": {"ticket_id": {"type": "integer"}}, "required": ["ticket_id"]},
        ),
        Tool(name="issue_refund", effect="write", cost_usd=0.25,
             parameters={"type": "object", "properties": {"charge_id": {"type": "string"},
                                                           "amount_cents": {"type": "integer"}}}),
        Tool(name="close_ticket", effect="write",
             parameters={"type": "object", "properties": {"ticket_ids": {"type": "array"}}}),
        Tool(name="escalate_to_human", effect="write",
             parameters={"type": "object", "properties": {"reason": {"type": "string"}}, "required": ["reason"]}),
    ]
)
CASE = Case(id="c1", input="I was charged twice for order 5521")
RECORDING = RecordedRun(
    run_id="r1", case_id="c1", label="prod",
    messages=[
        {"role": "user", "content": "I was charged twice for order 5521"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "x", "type": "function", "function": {"name": "get_ticket", "arguments": '{"ticket_id": 7}'}},
            {"id": "y", "type": "function",
             "function": {"name": "issue_refund", "arguments": '{"charge_id": "ch_1", "amount_cents": 7500}'}}]},
        {"role": "tool", "tool_call_id": "x", "content": '{"status": "open"}'},
        {"role": "tool", "tool_call_id": "y", "content": '{"refund_id": "re_1"}'},
        {"role": "assistant", "content": "Refunded."},
    ],
)


def make_suite(fake: FakeOpenAI, model: str = "openai/fake-agent", **overrides: Any) -> Suite:
    spec: dict[str, Any] = {
        "name": "loop", "dataset": ".",
        "agent": {"system_prompt": "You are a support agent.", "max_steps": 6, "escalation_tool": "escalate_to_human"},
        "candidates": [{"name": "cand", "model": model,
                        "params": {"api_base": fake.base_url, "api_key": API_KEY, "temperature": 0}}],
        # $1000 / $2000 per million tokens: 10 prompt + 5 completion tokens cost $0.02 per call
        "pricing": {"openai/fake-agent": {"input_usd_per_mtok": 1000, "output_usd_per_mtok": 2000}},
    }
    spec.update(overrides)
    return Suite.model_validate(spec)


def run_case(
    fake: FakeOpenAI,
    case: Case = CASE,
    settings: ProviderSettings | None = None,
    **suite_overrides: Any,
) -> Trajectory:
    suite = make_suite(fake, **suite_overrides)
    dataset = Dataset(path=Path("."), cases=[case], runs=[RECORDING], tools=CATALOG)
    provider = make_provider(suite.candidates[0], suite, dataset,
                             settings=settings or ProviderSettings(timeout_s=10, max_attempts=1))
    return asyncio.run(provider.run(case, 1))


def tool_answers(body: dict[str, Any]) -> list[str]:
    return [m["content"] for m in body["messages"] if m["role"] == "tool"]


def test_tool_calling_loop_reaches_a_final_answer(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(turns(
        tool_calls(("get_ticket", {"ticket_id": 7}), ids=["call_a"]),
        tool_calls(("issue_refund", {"amount_cents": 7500, "charge_id": "ch_1"}), ids=["call_b"]),
        text("I refunded the duplicate charge.", prompt_tokens=30, completion_tokens=8),
    ))
    traj = run_case(fake_openai)
    assert (traj.status, traj.failure_reason, traj.infra_error) == ("completed", None, False)
    assert [(s.index, s.kind, s.tool) for s in traj.steps] == [
        (0, "model", None), (1, "tool", "get_ticket"), (2, "model", None), (3, "tool", "issue_refund"), (4, "model", None),
    ]
    get, refund = traj.tool_steps
    assert (get.output, get.divergence, get.effect) == ('{"status": "open"}', False, "read")
    assert (refund.output, refund.cost_usd) == ('{"refund_id": "re_1"}', 0.25)
    assert [w.args for w in traj.writes] == [{"amount_cents": 7500, "charge_id": "ch_1"}]
    assert traj.final_text == "I refunded the duplicate charge."
    # what went over the wire
    first, second, third = fake_openai.requests
    assert first["model"] == "fake-agent" and first["temperature"] == 0
    assert [m["role"] for m in first["messages"]] == ["system", "user"]
    assert first["messages"][0]["content"] == "You are a support agent."
    assert [t["function"]["name"] for t in first["tools"]] == CATALOG.names
    assert tool_answers(third) == ['{"status": "open"}', '{"refund_id": "re_1"}']
    assert [m["role"] for m in traj.messages] == ["system", "user", "assistant", "tool", "assistant", "tool", "assistant"]
    assert traj.messages[3]["tool_call_id"] == "call_a"
    # usage and cost from the suite's pricing (litellm does not know fake-agent)
    assert (traj.prompt_tokens, traj.completion_tokens) == (50, 18)
    assert traj.inference_cost_usd == pytest.approx((50 * 1000 + 18 * 2000) / 1e6)
    assert traj.model_steps[2].cost_usd == pytest.approx((30 * 1000 + 8 * 2000) / 1e6)
    assert all((s.latency_s or 0) > 0 for s in traj.model_steps) and traj.latency_s >= sum(
        s.latency_s or 0 for s in traj.model_steps)


def test_known_model_is_priced_from_litellm_cost_map(fake_openai: FakeOpenAI) -> None:
    traj = run_case(fake_openai, model="openai/gpt-4o-mini")
    assert traj.status == "completed"
    # gpt-4o-mini: $0.15 / $0.60 per million tokens in the cost map shipped with litellm
    assert traj.inference_cost_usd == pytest.approx((10 * 0.15 + 5 * 0.60) / 1e6)


def test_unpriced_unknown_model_costs_nothing(fake_openai: FakeOpenAI) -> None:
    assert run_case(fake_openai, model="openai/no-price").inference_cost_usd == 0.0


def test_schema_violation_is_answered_and_the_agent_recovers(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(turns(tool_calls(("get_ticket", {"ticket_id": "seven"})),
                             tool_calls(("get_ticket", {"ticket_id": 7})), text("Open.")))
    traj = run_case(fake_openai)
    bad, good = traj.tool_steps
    assert bad.invalid == "invalid arguments for get_ticket: ticket_id: 'seven' is not of type 'integer'"
    assert bad.error and not bad.carried_out
    assert tool_answers(fake_openai.requests[1]) == [f"Error: {bad.invalid}"]
    assert (good.invalid, good.output, traj.status) == (None, '{"status": "open"}', "completed")


def test_malformed_arguments_and_unknown_tools_get_error_answers(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(turns(tool_calls(("get_ticket", '{"ticket_id": 7'), ("launch_rocket", {})), text("Sorry.")))
    traj = run_case(fake_openai)
    malformed_step, unknown = traj.tool_steps
    assert malformed_step.invalid is not None and malformed_step.invalid.startswith("invalid arguments: ")
    assert malformed_step.args is None and malformed_step.raw_args == '{"ticket_id": 7'
    assert (unknown.invalid, unknown.effect) == ("unknown tool 'launch_rocket'", "unknown")
    answers = tool_answers(fake_openai.requests[1])
    assert answers[0].startswith("Error: invalid arguments: ") and answers[1].startswith("Error: unknown tool")
    assert traj.status == "completed" and traj.policy_violations == []


def test_require_approval_over_threshold_is_refused(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(turns(tool_calls(("issue_refund", {"charge_id": "ch_1", "amount_cents": 15000})), text("Done.")))
    traj = run_case(fake_openai, policy={
        "require_approval": [{"tool": "issue_refund", "when": {"arg": "amount_cents", "gt": 10000}}]})
    (step,) = traj.tool_steps
    assert step.policy == "require_approval: issue_refund amount_cents=15000 > 10000"
    assert traj.writes == [] and traj.policy_violations == [step] and step.cost_usd == 0.0
    (answer,) = tool_answers(fake_openai.requests[1])
    assert "refused by policy" in answer and "not carried out" in answer


def test_forbidden_bulk_close_is_refused(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(turns(tool_calls(("close_ticket", {"ticket_ids": [1, 2, 3]}), ("close_ticket", {"ticket_ids": [1]})),
                             text("Closed.")))
    traj = run_case(fake_openai, policy={"forbid": [{"tool": "close_ticket", "when": {"arg": "ticket_ids", "len_gt": 1}}]})
    bulk, single = traj.tool_steps
    assert bulk.policy == "forbid: close_ticket len(ticket_ids)=3 > 1"
    assert single.policy is None and single.output == '{"ok": true}'  # unrecorded write
    assert [w.args for w in traj.writes] == [{"ticket_ids": [1]}]


def test_allow_tools_limits_what_is_offered_and_called(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(turns(tool_calls(("close_ticket", {"ticket_ids": [1]})), text("ok")))
    traj = run_case(fake_openai, policy={"allow_tools": ["get_ticket"]})
    offered = [t["function"]["name"] for t in fake_openai.requests[0]["tools"]]
    assert offered == ["get_ticket", "escalate_to_human"]
    assert traj.tool_steps[0].policy == "not_allowed: close_ticket is not in allow_tools"


def test_max_tool_calls_refuses_calls_beyond_it(fake_openai: FakeOpenAI) -> None:
    calls = [("get_ticket", {"ticket_id": 7})] * 3
    fake_openai.script(turns(tool_calls(*calls), text("ok")))
    traj = run_case(fake_openai, policy={"max_tool_calls": 2})
    assert [s.policy for s in traj.tool_steps] == [None, None, "max_tool_calls: call 3 > 2"]


def test_unrecorded_read_is_a_divergence(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(turns(tool_calls(("get_ticket", {"ticket_id": 8})), text("Not found.")))
    traj = run_case(fake_openai)
    (step,) = traj.tool_steps
    assert step.divergence and step.error and step.carried_out
    assert tool_answers(fake_openai.requests[1])[0].startswith("Error: no recorded answer for get_ticket")


def test_fixture_answers_a_read_without_divergence(fake_openai: FakeOpenAI) -> None:
    case = Case.model_validate({"id": "c1", "input": "x",
                                "fixtures": [{"tool": "get_ticket", "args": {"ticket_id": 8}, "output": {"status": "closed"}}]})
    fake_openai.script(turns(tool_calls(("get_ticket", {"ticket_id": 8})), text("Closed.")))
    (step,) = run_case(fake_openai, case=case).tool_steps
    assert (step.output, step.divergence, step.error) == ('{"status": "closed"}', False, False)


def test_escalation_ends_the_run(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(turns(tool_calls(("escalate_to_human", {"reason": "fraud"}), ("issue_refund", {"charge_id": "c"}))))
    traj = run_case(fake_openai)
    assert traj.status == "escalated" and len(fake_openai.requests) == 1
    assert [(s.tool, s.effect) for s in traj.tool_steps] == [("escalate_to_human", "escalation")]
    assert traj.writes == []


def test_escalation_off_schema_is_still_a_hand_off(fake_openai: FakeOpenAI) -> None:
    # As in replay: a hand-off is a hand-off, however its arguments are spelled.
    fake_openai.script(turns(tool_calls(("escalate_to_human", {"why": "fraud"}))))
    traj = run_case(fake_openai)
    assert traj.status == "escalated" and len(fake_openai.requests) == 1


def test_escalation_tool_missing_from_catalog_is_still_offered(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(turns(tool_calls(("hand_off", {"reason": "fraud"}))))
    traj = run_case(fake_openai, agent={"max_steps": 3, "escalation_tool": "hand_off"})
    assert "hand_off" in [t["function"]["name"] for t in fake_openai.requests[0]["tools"]]
    assert traj.status == "escalated"


def test_max_steps_ends_a_run_that_never_answers(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(lambda body: tool_calls(("get_ticket", {"ticket_id": 7})))
    traj = run_case(fake_openai, agent={"max_steps": 3})
    assert (traj.status, traj.failure_reason, traj.infra_error) == ("failed", "max_steps", False)
    assert len(traj.model_steps) == 3 and len(fake_openai.requests) == 3


def test_per_run_budget_stops_the_run(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(lambda body: tool_calls(("get_ticket", {"ticket_id": 7})))  # $0.02 per call
    traj = run_case(fake_openai, budget={"max_usd_per_run": 0.05})
    assert (traj.status, traj.failure_reason) == ("failed", "budget")
    assert len(fake_openai.requests) == 3 and traj.inference_cost_usd == pytest.approx(0.06)
    assert len(traj.tool_steps) == 2  # the calls of the turn that overspent are not carried out


def test_tool_fees_count_towards_the_budget(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(turns(tool_calls(("issue_refund", {"charge_id": "ch_1", "amount_cents": 7500})), text("ok")))
    traj = run_case(fake_openai, budget={"max_usd_per_run": 0.1})  # $0.02 + $0.25 fee
    assert (traj.failure_reason, len(fake_openai.requests)) == ("budget", 1)


def test_provider_500_is_an_infra_error_without_the_key(fake_openai: FakeOpenAI, capfd: pytest.CaptureFixture[str]) -> None:
    fake_openai.script(lambda body: error(500, body={"error": {"message": f"upstream broke, key {API_KEY}"}}))
    traj = run_case(fake_openai, settings=ProviderSettings(timeout_s=10, max_attempts=2))
    assert (traj.status, traj.failure_reason, traj.infra_error) == ("failed", "provider_error", True)
    assert len(fake_openai.requests) == 2  # max_attempts, exactly
    detail = traj.error_detail or ""
    assert "HTTP 500" in detail and "upstream broke" in detail and len(detail) <= 300
    assert API_KEY not in detail and "sk-test" not in detail
    out = capfd.readouterr()
    assert "Give Feedback" not in out.out + out.err and API_KEY not in out.out + out.err


@pytest.mark.parametrize("reply", [malformed(b'{"choices": []}'), malformed(b"{not json"), drop()])
def test_broken_responses_are_provider_errors(fake_openai: FakeOpenAI, reply: Any) -> None:
    fake_openai.script(lambda body: reply)
    traj = run_case(fake_openai)
    assert (traj.status, traj.failure_reason, traj.infra_error) == ("failed", "provider_error", True)
    assert traj.error_detail


def test_complete_wrappers_see_every_model_call(fake_openai: FakeOpenAI) -> None:
    seen: list[ModelRequest] = []

    def recording(inner: CompleteFn) -> CompleteFn:
        async def wrapped(request: ModelRequest) -> ModelReply:
            seen.append(request)
            reply = await inner(request)
            reply.cached = True
            return reply
        return wrapped

    fake_openai.script(turns(tool_calls(("get_ticket", {"ticket_id": 7})), text("ok")))
    traj = run_case(fake_openai, settings=ProviderSettings(timeout_s=10, max_attempts=1, complete_wrappers=[recording]))
    assert [(r.case_id, r.candidate, r.repeat, len(r.messages)) for r in seen] == [("c1", "cand", 1, 2), ("c1", "cand", 1, 4)]
    assert all(s.cached for s in traj.model_steps)


def test_concurrent_runs_are_scripted_per_case(fake_openai: FakeOpenAI) -> None:
    cases = [Case(id=f"c{i}", input=f"ticket number {i}") for i in range(4)]
    fake_openai.script(per_case({f"ticket number {i}": [text(f"answer {i}", delay_s=0.3)] for i in range(4)}))
    suite = make_suite(fake_openai)
    dataset = Dataset(path=Path("."), cases=cases, runs=[], tools=CATALOG)
    provider = make_provider(suite.candidates[0], suite, dataset, settings=ProviderSettings(timeout_s=10, max_attempts=1))

    async def all_runs() -> list[Trajectory]:
        return await asyncio.gather(*(provider.run(c, 1) for c in cases))

    trajs = asyncio.run(all_runs())
    assert [t.final_text for t in trajs] == [f"answer {i}" for i in range(4)]
    assert fake_openai.peak_concurrency == 4
    assert json.loads(json.dumps(fake_openai.request_headers[0]))["authorization"] == f"Bearer {API_KEY}"


def test_network_guard_blocks_the_internet_but_not_loopback_or_unix(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    import socket
    import urllib.request

    with pytest.raises(OSError, match="network guard"):
        socket.create_connection(("93.184.216.34", 80), timeout=1)
    with urllib.request.urlopen(fake_openai.base_url + "/models", timeout=5) as resp:
        assert json.loads(resp.read())["data"][0]["id"] == "fake-model"
    path = str(tmp_path / "s.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.connect(path)
    client.close()
    server.close()


def test_fake_server_reset_forgets_requests_and_script(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(lambda body: text("scripted"))
    assert run_case(fake_openai).final_text == "scripted"
    fake_openai.reset()
    assert (fake_openai.requests, fake_openai.peak_concurrency) == ([], 0)
    assert run_case(fake_openai).final_text == "ok"
