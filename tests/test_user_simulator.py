"""Simulated users: multi-turn runs through the real code path.

The local fake OpenAI server plays both sides: requests for model ``fake-agent`` are the
agent's, requests for ``fake-user`` the simulated user's (litellm sends the model name).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from agentctl.core import plugins
from agentctl.runner import RunOptions, run_suite
from support.fake_openai import FakeOpenAI, Reply, assistant_turns, text, tool_calls

API_KEY = "sk-test-dummy-key-1234567890"
STOP = "###STOP###"
OPENING = "Hi, I need to move my flight."
INSTRUCTIONS = "You are Mia Li. Move reservation ZFA04Y to May 21, economy. Do not cancel."
TOOLS = [
    {"name": "get_reservation", "effect": "read", "description": "Look a reservation up.",
     "parameters": {"type": "object", "properties": {"reservation_id": {"type": "string"}},
                    "required": ["reservation_id"]}},
    {"name": "change_flight", "effect": "write", "description": "Move a reservation to another date.",
     "parameters": {"type": "object", "properties": {"reservation_id": {"type": "string"},
                                                     "date": {"type": "string"}},
                    "required": ["reservation_id", "date"]}},
    {"name": "transfer_to_human", "effect": "write", "description": "Hand over to a person.",
     "parameters": {"type": "object", "properties": {"reason": {"type": "string"}}}},
]
# The recorded conversation the replayed user must reproduce: three user turns, the last one stops.
RECORDED_USER = [OPENING, "It's ZFA04Y, and I want May 21 please.", f"Perfect, thanks! {STOP}"]
RECORDING = {
    "run_id": "rec-1", "case_id": "move-1", "label": "prod",
    "messages": [
        {"role": "system", "content": "You are an airline agent."},
        {"role": "user", "content": RECORDED_USER[0]},
        {"role": "assistant", "content": "Sure, what is your reservation number and the new date?"},
        {"role": "user", "content": RECORDED_USER[1]},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function", "function": {
            "name": "change_flight", "arguments": '{"reservation_id": "ZFA04Y", "date": "2026-05-21"}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": '{"ok": true}'},
        {"role": "assistant", "content": "Done: ZFA04Y now flies on May 21."},
        {"role": "user", "content": RECORDED_USER[2]},
    ],
}
# $1000 / $2000 per million tokens: 10 prompt + 5 completion tokens cost $0.02 per agent call;
# the user model costs a tenth of that ($0.002 per call).
PRICING = {
    "openai/fake-agent": {"input_usd_per_mtok": 1000, "output_usd_per_mtok": 2000},
    "openai/fake-user": {"input_usd_per_mtok": 100, "output_usd_per_mtok": 200},
}


def write_suite(tmp: Path, fake: FakeOpenAI, *, user: dict[str, Any] | None = None, case: dict[str, Any] | None = None,
                candidates: list[dict[str, Any]] | None = None, max_steps: int = 8) -> Path:
    data = tmp / "ds"
    data.mkdir(exist_ok=True)
    the_case = case or {"id": "move-1", "input": OPENING, "user": {"instructions": INSTRUCTIONS},
                        "expected": {"actions": [{"tool": "change_flight",
                                                  "args": {"reservation_id": "ZFA04Y", "date": "2026-05-21"}}]}}
    (data / "cases.jsonl").write_text(json.dumps(the_case) + "\n")
    (data / "tools.yaml").write_text(yaml.safe_dump(TOOLS))
    (data / "runs.jsonl").write_text(json.dumps(RECORDING) + "\n")
    params = {"api_base": fake.base_url, "api_key": API_KEY, "temperature": 0}
    suite = {
        "version": 1, "name": "users", "dataset": "ds",
        "agent": {"system_prompt": "You are an airline agent.", "max_steps": max_steps,
                  "escalation_tool": "transfer_to_human"},
        "candidates": candidates or [{"name": "live", "model": "openai/fake-agent", "params": params}],
        "user_simulator": user or {"model": "openai/fake-user", "params": params},
        "pricing": PRICING,
    }
    path = tmp / "suite.yaml"
    path.write_text(yaml.safe_dump(suite, sort_keys=False))
    return path


def agent_requests(fake: FakeOpenAI) -> list[dict[str, Any]]:
    return [b for b in fake.requests if b.get("model") == "fake-agent"]


def user_requests(fake: FakeOpenAI) -> list[dict[str, Any]]:
    return [b for b in fake.requests if b.get("model") == "fake-user"]


def two_sides(agent: list[Reply], user: list[Reply], *, opened: int = 1) -> Any:
    """The n-th agent call of a conversation gets ``agent[n]``, the n-th simulator call ``user[n]``
    (last ones repeat). Stateless, so concurrent runs do not disturb each other."""

    def handler(body: dict[str, Any]) -> Reply:
        if body.get("model") == "fake-user":
            # In the user's view the user's own messages are the assistant's; ``opened`` of
            # them (the case input) were not written by the simulator.
            return user[min(assistant_turns(body) - opened, len(user) - 1)]
        return agent[min(assistant_turns(body), len(agent) - 1)]

    return handler


WORKERS = "runs carried out by 2 worker processes (--workers)"


def run(path: Path, tmp: Path, **options: Any) -> tuple[Any, list[dict[str, Any]], list[dict[str, Any]]]:
    db = tmp / "r.duckdb"
    outcome = run_suite(path, db=db, options=RunOptions(**options))
    con = duckdb.connect(str(db), read_only=True)
    try:
        cur = con.execute("SELECT * FROM results WHERE run_id = ? ORDER BY case_id, candidate, repeat",
                          [outcome.run_id])
        cols = [d[0] for d in cur.description]
        results = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
        cur = con.execute("SELECT * FROM steps WHERE run_id = ? ORDER BY case_id, candidate, repeat, step",
                          [outcome.run_id])
        cols = [d[0] for d in cur.description]
        steps = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    finally:
        con.close()
    return outcome, results, steps


def test_the_replayed_user_reproduces_the_recorded_conversation_turn_for_turn(tmp_path: Path,
                                                                               fake_openai: FakeOpenAI) -> None:
    fake_openai.script(two_sides(
        agent=[text("Sure, what is your reservation number and the new date?"),
               tool_calls(("change_flight", {"reservation_id": "ZFA04Y", "date": "2026-05-21"})),
               text("Done: ZFA04Y now flies on May 21.")],
        user=[]))
    path = write_suite(tmp_path, fake_openai, user={"model": "replay", "label": "prod"})
    outcome, results, steps = run(path, tmp_path)
    assert user_requests(fake_openai) == []  # replay calls no model for the user
    # The agent saw exactly the recorded user turns, in order, one after each of its replies.
    users_seen = [[m["content"] for m in b["messages"] if m["role"] == "user"] for b in agent_requests(fake_openai)]
    assert users_seen == [RECORDED_USER[:1], RECORDED_USER[:2], RECORDED_USER[:2]]
    assert [(s["kind"], s["content"]) for s in steps if s["kind"] == "user"] == [("user", t) for t in RECORDED_USER]
    assert [s["kind"] for s in steps] == ["user", "model", "user", "model", "tool", "model", "user"]
    assert (results[0]["status"], results[0]["correct"], results[0]["user_cost_usd"]) == ("completed", True, 0.0)


def test_the_simulator_sees_the_conversation_from_the_users_side(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(two_sides(
        agent=[text("Which reservation?"),
               tool_calls(("get_reservation", {"reservation_id": "ZFA04Y"}), content="Let me look that up."),
               tool_calls(("change_flight", {"reservation_id": "ZFA04Y", "date": "2026-05-21"})),
               text("Moved to May 21.")],
        user=[text("ZFA04Y, to May 21."), text(f"Great. {STOP}")]))
    outcome, results, steps = run(write_suite(tmp_path, fake_openai), tmp_path)
    first, second = user_requests(fake_openai)
    # System prompt: the built-in simulator prompt, then the case's instructions.
    assert first["messages"][0]["role"] == "system"
    assert first["messages"][0]["content"].endswith("\n\n" + INSTRUCTIONS)
    assert STOP in first["messages"][0]["content"]  # the default prompt tells the user how to stop
    # Roles flipped: the user's own words are the assistant's, the agent's replies the user's.
    assert first["messages"][1:] == [{"role": "assistant", "content": OPENING},
                                     {"role": "user", "content": "Which reservation?"}]
    # Only the agent's replies: no tool calls, no tool results, no text said beside a tool call.
    assert second["messages"][1:] == [{"role": "assistant", "content": OPENING},
                                      {"role": "user", "content": "Which reservation?"},
                                      {"role": "assistant", "content": "ZFA04Y, to May 21."},
                                      {"role": "user", "content": "Moved to May 21."}]
    assert "tools" not in first and "tools" not in second
    assert (results[0]["status"], results[0]["correct"]) == ("completed", True)
    assert [s["kind"] for s in steps] == ["user", "model", "user", "model", "tool", "model", "tool", "model", "user"]


def test_the_simulators_cost_is_apart_and_its_calls_come_from_the_cache_on_a_second_run(
        tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(two_sides(
        agent=[text("Which reservation?"),
               tool_calls(("change_flight", {"reservation_id": "ZFA04Y", "date": "2026-05-21"})),
               text("Moved.")],
        user=[text("ZFA04Y, May 21."), text(STOP)]))
    path = write_suite(tmp_path, fake_openai)
    outcome, results, _ = run(path, tmp_path)
    assert (len(agent_requests(fake_openai)), len(user_requests(fake_openai))) == (3, 2)
    row = results[0]
    assert row["user_cost_usd"] == pytest.approx(2 * 0.002)
    assert row["cost_usd"] == pytest.approx(3 * 0.02)  # the agent's calls only
    assert row["inference_cost_usd"] == pytest.approx(3 * 0.02)
    metrics = {(m.candidate, m.metric): m.value for m in outcome.metrics if m.tag is None}
    assert metrics[("live", "user_cost_usd")] == pytest.approx(0.004)
    assert metrics[("live", "cost_usd")] == pytest.approx(0.06)

    calls = len(fake_openai.requests)
    again, results2, steps2 = run(path, tmp_path)
    assert len(fake_openai.requests) == calls  # agent and user both answered from the cache
    assert again.call_stats.cache_hits == 5
    assert [(s["kind"], s["cached"]) for s in steps2 if s["kind"] == "user"] == [
        ("user", False), ("user", True), ("user", True)]  # the input was never a call
    assert results2[0]["user_cost_usd"] == pytest.approx(0.004)
    assert (results2[0]["status"], results2[0]["correct"]) == ("completed", True)


def test_the_simulator_shares_the_total_budget(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    # Each agent call costs $0.02, each user call $0.002; a total budget of $0.021 is spent after the
    # first agent call and the first user call: no second agent call is made.
    fake_openai.script(two_sides(agent=[text("Which reservation?")], user=[text("ZFA04Y.")]))
    path = write_suite(tmp_path, fake_openai)
    suite = yaml.safe_load(path.read_text())
    suite["budget"] = {"max_usd_total": 0.021}
    path.write_text(yaml.safe_dump(suite))
    outcome = run_suite(path, db=tmp_path / "b.duckdb", options=RunOptions())
    assert (len(agent_requests(fake_openai)), len(user_requests(fake_openai))) == (1, 1)
    assert (outcome.exit_code, outcome.not_run) == (3, 1)


@pytest.mark.parametrize(("agent", "user", "settings", "expected", "calls"), [
    # The user sends stop: the conversation is completed (the verdict then judges what was done).
    ([text("Which reservation?"), text("Done.")], [text(f"Never mind. {STOP}")], {}, ("completed", None), (1, 1)),
    # The user never stops: after max_turns user messages (the opening included) the run fails.
    ([text("Which reservation?")], [text("ZFA04Y."), text("Hello?")], {"max_turns": 3}, ("failed", "max_turns"),
     (3, 2)),
    # The agent hands over: escalated, the user is not asked again.
    ([text("Which reservation?"), tool_calls(("transfer_to_human", {"reason": "date change"}))],
     [text("ZFA04Y.")], {}, ("escalated", None), (2, 1)),
])
def test_how_a_conversation_ends(tmp_path: Path, fake_openai: FakeOpenAI, agent: list[Reply], user: list[Reply],
                                 settings: dict[str, Any], expected: tuple[str, str | None],
                                 calls: tuple[int, int]) -> None:
    fake_openai.script(two_sides(agent=agent, user=user))
    params = {"api_base": fake_openai.base_url, "api_key": API_KEY}
    path = write_suite(tmp_path, fake_openai, user={"model": "openai/fake-user", "params": params, **settings})
    _, results, _ = run(path, tmp_path)
    assert (results[0]["status"], results[0]["failure_reason"]) == expected
    assert (len(agent_requests(fake_openai)), len(user_requests(fake_openai))) == calls


def test_max_steps_counts_model_calls_over_the_whole_conversation(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    # Every agent reply is final and the user never stops: each turn is one model call, and the
    # third model call of the conversation is the last (max_turns would allow ten user messages).
    fake_openai.script(two_sides(agent=[text("Anything else?")], user=[text("Yes, one more thing.")]))
    _, results, steps = run(write_suite(tmp_path, fake_openai, max_steps=3), tmp_path)
    assert (results[0]["status"], results[0]["failure_reason"]) == ("failed", "max_steps")
    assert len(agent_requests(fake_openai)) == 3 and results[0]["steps"] == 3
    assert [s["kind"] for s in steps] == ["user", "model", "user", "model", "user", "model", "user"]


def test_a_case_without_input_lets_the_simulator_open(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(two_sides(agent=[text("Moved.")], user=[text("Please move ZFA04Y to May 21."), text(STOP)],
                                 opened=0))
    case = {"id": "move-1", "user": {"instructions": INSTRUCTIONS}, "expected": {"status": "completed"}}
    _, results, steps = run(write_suite(tmp_path, fake_openai, case=case), tmp_path)
    opening = user_requests(fake_openai)[0]
    assert opening["messages"][1:] == []  # nothing said yet: the system prompt only
    assert agent_requests(fake_openai)[0]["messages"][1] == {"role": "user", "content": "Please move ZFA04Y to May 21."}
    assert [s["kind"] for s in steps] == ["user", "model", "user"]
    assert results[0]["status"] == "completed"


def test_a_candidate_sets_its_own_simulator(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(two_sides(agent=[text("Which reservation?"), text("Moved.")], user=[text(STOP)]))
    params = {"api_base": fake_openai.base_url, "api_key": API_KEY}
    candidates = [
        {"name": "live", "model": "openai/fake-agent", "params": params},
        {"name": "live-replayed-user", "model": "openai/fake-agent", "params": {**params, "temperature": 0.5},
         "user_simulator": {"model": "replay", "label": "prod"}},
    ]
    _, results, _ = run(write_suite(tmp_path, fake_openai, candidates=candidates), tmp_path)
    assert len(user_requests(fake_openai)) == 1  # only the first candidate asked the model
    by_name = {r["candidate"]: r for r in results}
    assert by_name["live"]["status"] == "completed"
    assert by_name["live-replayed-user"]["steps"] == 2  # the recorded second turn, then the recorded stop


def test_a_replayed_recording_that_ends_with_the_users_stop_is_completed(tmp_path: Path,
                                                                           fake_openai: FakeOpenAI) -> None:
    path = write_suite(tmp_path, fake_openai, user={"model": "replay"},
                       candidates=[{"name": "prod", "model": "replay:prod"}])
    _, results, steps = run(path, tmp_path)
    assert (results[0]["status"], results[0]["failure_reason"], results[0]["correct"]) == ("completed", None, True)
    assert [s["kind"] for s in steps] == ["user", "model", "user", "model", "tool", "model", "user"]
    assert fake_openai.requests == []


def test_a_recording_that_ends_with_a_user_message_without_stop_is_incomplete(tmp_path: Path,
                                                                               fake_openai: FakeOpenAI) -> None:
    path = write_suite(tmp_path, fake_openai, user={"model": "replay", "stop": "[[bye]]"},
                       candidates=[{"name": "prod", "model": "replay:prod"}])
    _, results, _ = run(path, tmp_path)
    assert (results[0]["status"], results[0]["failure_reason"]) == ("failed", "incomplete")


# ---- suite validate ----------------------------------------------------------------------------


def validate(path: Path) -> tuple[int, str]:
    from typer.testing import CliRunner

    from agentctl.main import app

    result = CliRunner().invoke(app, ["suite", "validate", str(path)])
    return result.exit_code, result.output


def test_validate_names_the_case_with_a_user_when_no_simulator_is_configured(tmp_path: Path,
                                                                            fake_openai: FakeOpenAI) -> None:
    path = write_suite(tmp_path, fake_openai)
    suite = yaml.safe_load(path.read_text())
    del suite["user_simulator"]
    path.write_text(yaml.safe_dump(suite))
    cases = tmp_path / "ds" / "cases.jsonl"
    cases.write_text('{"id": "plain", "input": "hi"}\n' + cases.read_text())
    code, out = validate(path)
    assert code == 2
    assert "cases.jsonl:2: user: case 'move-1' has 'user', but no user_simulator is configured for 'live'" in \
        " ".join(out.split())


def test_validate_checks_the_simulators_prompt_file_and_replay_label(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    path = write_suite(tmp_path, fake_openai, user={"model": "replay", "system_prompt": "prompts/user.md"})
    code, out = validate(path)
    flat = " ".join(out.split())
    assert code == 2
    assert "suite.yaml:" in flat and "user_simulator.system_prompt: prompt file not found: prompts/user.md" in flat
    assert "user_simulator: candidate 'live' is a model: user_simulator model 'replay' needs 'label'" in flat

    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "user.md").write_text("Play the customer.")
    path.write_text(path.read_text().replace("model: replay", "model: replay\n  label: prdo"))
    code, out = validate(path)
    assert code == 2
    assert "user_simulator.label: no recorded runs with label 'prdo' to replay the user from" in " ".join(out.split())

    path.write_text(path.read_text().replace("label: prdo", "label: prod"))
    code, out = validate(path)
    assert code == 0, out


# ---- reports -------------------------------------------------------------------------------------


def test_reports_show_whose_turn_each_message_was(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    import base64
    import gzip
    from html.parser import HTMLParser

    from agentctl.reports import load_report_data, render_html
    from agentctl.reports.json_report import report_dict

    fake_openai.script(two_sides(
        agent=[text("Which reservation?"),
               tool_calls(("change_flight", {"reservation_id": "ZFA04Y", "date": "2026-05-21"})),
               text("Moved.")],
        user=[text("ZFA04Y, May 21."), text(STOP)]))
    outcome, _, _ = run(write_suite(tmp_path, fake_openai), tmp_path)
    con = duckdb.connect(str(tmp_path / "r.duckdb"), read_only=True)
    data = load_report_data(con, outcome.run_id)
    html = render_html(data)
    con.close()

    class Scripts(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.scripts: dict[str, str] = {}
            self._id: str | None = None

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            self._id = dict(attrs).get("id") if tag == "script" else None

        def handle_data(self, d: str) -> None:
            if self._id:
                self.scripts[self._id] = self.scripts.get(self._id, "") + d

    page = Scripts()
    page.feed(html)
    details = json.loads(gzip.decompress(base64.b64decode(page.scripts["report-details"])))
    (run_detail,) = details[0]["runs"]
    assert [(s["kind"], s.get("content")) for s in run_detail["steps"] if s["kind"] != "tool"] == [
        ("user", OPENING), ("model", "Which reservation?"), ("user", "ZFA04Y, May 21."), ("model", None),
        ("model", "Moved."), ("user", STOP)]
    assert (run_detail["user_turns"], run_detail["user_cost"]) == (3, pytest.approx(0.004))
    assert 'kind === "user" ? "step-user"' in html  # the timeline gives user turns their own style
    # The side-by-side table has a row of its own for the simulator's cost.
    assert re.search(r'<th scope="row">user_cost_usd</th>\s*<td>\s*<span class="val">\$0\.0040</span>', html)

    (result,) = report_dict(data)["results"]
    assert (result["user_turns"], result["user_cost_usd"], result["cost_usd"]) == (
        3, pytest.approx(0.004), pytest.approx(0.06))
    # Counted in the store, not from the timeline: the same in a report that reads no step timeline
    # (JSON, Markdown, JUnit) and for a run past the timelines a report carries.
    from agentctl.reports import data as report_data

    with duckdb.connect(str(tmp_path / "r.duckdb"), read_only=True) as con:
        lean = load_report_data(con, outcome.run_id, details=False)
    (run_row,) = lean.cases[0].runs
    assert (run_row.timeline, run_row.user_turns) == ([], 3)
    assert report_dict(lean)["results"][0]["user_turns"] == 3
    with pytest.MonkeyPatch.context() as patch, duckdb.connect(str(tmp_path / "r.duckdb"), read_only=True) as con:
        patch.setattr(report_data, "MAX_TIMELINE_RUNS", 0)
        (past,) = load_report_data(con, outcome.run_id).cases[0].runs
    assert (past.timeline, past.user_turns) == ([], 3)


# ---- plugins -------------------------------------------------------------------------------------


def test_a_simulator_shipped_as_a_package_is_found_by_its_entry_point(tmp_path: Path, fake_openai: FakeOpenAI,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site"
    (site / "scripted_user_pkg-1.0.dist-info").mkdir(parents=True)
    (site / "scripted_user_pkg-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: scripted-user-pkg\nVersion: 1.0\n")
    (site / "scripted_user_pkg-1.0.dist-info" / "entry_points.txt").write_text(
        "[agentctl.user_simulators]\nscripted = scripted_user_pkg:factory\n")
    (site / "scripted_user_pkg.py").write_text(
        "from agentctl.engine.users import UserTurn\n"
        "class Scripted:\n"
        "    def __init__(self, lines):\n"
        "        self.lines = lines\n"
        "    async def reply(self, case, repeat, messages):\n"
        "        said = sum(1 for m in messages if m['role'] == 'user')\n"
        "        return UserTurn(self.lines[said - 1], cost_usd=0.5)\n"
        "def factory(spec, candidate, suite, dataset, settings):\n"
        "    return Scripted(['It is ZFA04Y.', 'bye ' + spec.stop])\n")
    monkeypatch.syspath_prepend(str(site))
    plugins.refresh()  # a plugin installed while the process runs
    fake_openai.script(two_sides(agent=[text("Which reservation?"), text("Done.")], user=[]))
    _, results, steps = run(write_suite(tmp_path, fake_openai, user={"model": "scripted:v1"}), tmp_path)
    assert [s["content"] for s in steps if s["kind"] == "user"] == [OPENING, "It is ZFA04Y.", f"bye {STOP}"]
    assert (results[0]["status"], results[0]["user_cost_usd"]) == ("completed", 1.0)
    assert user_requests(fake_openai) == []


def test_an_unauthorised_simulator_opens_its_own_breaker_and_the_message_names_it(tmp_path: Path,
                                                                                 fake_openai: FakeOpenAI) -> None:
    from support.fake_openai import error

    def handler(body: dict[str, Any]) -> Reply:
        return error(401) if body.get("model") == "fake-user" else text("Which reservation?")

    fake_openai.script(handler)
    path = write_suite(tmp_path, fake_openai)
    cases = tmp_path / "ds" / "cases.jsonl"
    first = json.loads(cases.read_text())
    cases.write_text("".join(json.dumps({**first, "id": f"move-{i}"}) + "\n" for i in range(1, 4)))
    outcome = run_suite(path, db=tmp_path / "o.duckdb", options=RunOptions(concurrency=1))
    # The first run fails on the simulator's 401 (an infra error); the breaker of the user's
    # model is then open, so the other runs are not run, and the message says whose breaker it is.
    assert [(r.case_id, r.status, r.failure_reason, r.infra_error) for r in outcome.results] == [
        ("move-1", "failed", "provider_error", True)]
    assert outcome.results[0].reasons[0].startswith("provider failed: user simulator: AuthenticationError (HTTP 401)")
    assert (outcome.exit_code, outcome.not_run) == (3, 2)
    assert outcome.message is not None and outcome.message.startswith("circuit breaker open for openai/fake-user")
    assert len(user_requests(fake_openai)) == 1


def test_a_dry_run_says_the_simulators_calls_are_not_estimated(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    outcome = run_suite(write_suite(tmp_path, fake_openai), db=tmp_path / "d.duckdb", options=RunOptions(dry_run=True))
    assert "1 live run(s) are conversations whose user is played by openai/fake-user: its calls " \
           "(user_cost_usd) are not in this estimate" in outcome.notes
    assert fake_openai.requests == []


@pytest.mark.parametrize("workers", [1, 2])  # 2: the limiter is the parent's, shared by both workers
def test_the_simulator_shares_the_rate_limits(tmp_path: Path, fake_openai: FakeOpenAI, workers: int) -> None:
    # One call in flight at a time for every openai/* model: agent and user calls of four
    # concurrent conversations queue behind one limiter (without it the peak would be 4 or more).
    def slow(reply: Reply) -> Reply:
        reply.delay_s = 0.05
        return reply

    handler = two_sides(agent=[text("Which reservation?"), text("Moved.")], user=[text("ZFA04Y."), text(STOP)])
    fake_openai.script(lambda body: slow(handler(body)))
    path = write_suite(tmp_path, fake_openai)
    suite = yaml.safe_load(path.read_text())
    suite["execution"] = {"limits": {"openai/*": {"concurrency": 1}}}
    path.write_text(yaml.safe_dump(suite))
    cases = tmp_path / "ds" / "cases.jsonl"
    first = json.loads(cases.read_text())
    cases.write_text("".join(json.dumps({**first, "id": f"move-{i}"}) + "\n" for i in range(1, 5)))
    outcome = run_suite(path, db=tmp_path / "l.duckdb", options=RunOptions(concurrency=4, workers=workers))
    assert [r.status for r in outcome.results] == ["completed"] * 4
    assert (WORKERS in outcome.notes) == (workers == 2)
    assert (len(agent_requests(fake_openai)), len(user_requests(fake_openai))) == (8, 8)
    assert fake_openai.peak_concurrency == 1


@pytest.mark.parametrize("workers", [1, 2])
def test_the_simulators_api_key_never_reaches_the_store(tmp_path: Path, fake_openai: FakeOpenAI, workers: int) -> None:
    fake_openai.script(two_sides(agent=[text("Which reservation?")], user=[text(STOP)]))
    params = {"api_base": fake_openai.base_url, "api_key": API_KEY}
    candidates = [{"name": "live", "model": "openai/fake-agent", "params": params,
                   "user_simulator": {"model": "openai/fake-user", "params": params}}]
    outcome, _, _ = run(write_suite(tmp_path, fake_openai, candidates=candidates), tmp_path, workers=workers,
                        repeats=workers)
    assert (WORKERS in outcome.notes) == (workers == 2)
    con = duckdb.connect(str(tmp_path / "r.duckdb"), read_only=True)
    try:
        for table in ("eval_runs", "results", "steps", "cases"):
            rows = con.execute(f"SELECT * FROM {table}").fetchall()
            assert rows and API_KEY not in json.dumps(rows, default=str), table
        config = json.loads(con.execute("SELECT suite_config FROM eval_runs").fetchone()[0])
        assert config["user_simulator"]["params"]["api_key"] != API_KEY
        assert config["candidates"][0]["user_simulator"]["params"]["api_key"] != API_KEY
    finally:
        con.close()


@pytest.mark.parametrize("workers", [1, 2])  # 2: the simulator's key is known in the worker that calls it
def test_a_simulator_error_that_echoes_its_key_is_redacted(tmp_path: Path, fake_openai: FakeOpenAI,
                                                           workers: int) -> None:
    from support.fake_openai import error

    key = "plainvalue1234567"  # nothing key-like about it: only knowing it is the simulator's hides it
    fake_openai.script(lambda body: error(400, body={"error": {"message": f"bad request for key {key}"}})
                       if body.get("model") == "fake-user" else text("Which reservation?"))
    user = {"model": "openai/fake-user", "params": {"api_base": fake_openai.base_url, "api_key": key}}
    outcome, results, _ = run(write_suite(tmp_path, fake_openai, user=user), tmp_path, workers=workers,
                              repeats=workers)
    assert (WORKERS in outcome.notes) == (workers == 2)
    reasons = " ".join(results[0]["reasons"])
    assert results[0]["failure_reason"] == "provider_error" and "user simulator" in reasons
    assert key not in reasons and "***" in reasons
