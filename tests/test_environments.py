"""Stateful environments through the real code path: run_suite, litellm over HTTP to the local
fake OpenAI server as the agent, environment.py + state.json on disk, a real DuckDB store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agentctl.runner import RunOptions, run_suite
from env_support import ENVIRONMENT, PRICING, live, rows, write_env_suite
from support.fake_openai import FakeOpenAI, Reply, per_case, text, tool_calls, turns


def _case(cid: str, words: str, **expected: Any) -> dict[str, Any]:
    return {"id": cid, "input": words, "expected": {"status": "completed", **expected}}


def _run(tmp_path: Path, fake: FakeOpenAI, cases: list[dict[str, Any]], candidates: list[dict[str, Any]] | None = None,
         concurrency: int = 4, **extra: Any) -> tuple[Path, str]:
    suite = write_env_suite(tmp_path, cases, candidates or [live("live", fake.base_url)], **extra)
    db = tmp_path / "store.duckdb"
    outcome = run_suite(suite, db=db, options=RunOptions(concurrency=concurrency, no_cache=True))
    assert outcome.status == "finished", outcome.message
    return db, outcome.run_id


def _tool_steps(db: Path, case_id: str, candidate: str = "live", repeat: int = 1) -> list[dict[str, Any]]:
    return rows(db, "SELECT * FROM steps WHERE case_id=? AND candidate=? AND repeat=? AND kind='tool' ORDER BY step",
                [case_id, candidate, repeat])


def _result(db: Path, case_id: str, candidate: str = "live") -> dict[str, Any]:
    return rows(db, "SELECT * FROM results WHERE case_id=? AND candidate=?", [case_id, candidate])[0]


def test_a_read_with_new_arguments_gets_the_true_answer(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(turns(tool_calls(("get_account", {"account_id": "acc_2"})), text("Bob is on pro.")))
    db, _ = _run(tmp_path, fake_openai, [_case("read", "Which plan is Bob (acc_2) on?")])
    (step,) = _tool_steps(db, "read")
    assert json.loads(step["output"]) == {"name": "Bob", "plan": "pro", "email": "bob@example.com", "credit_cents": 250}
    assert (step["answered_by"], step["error"], step["divergence"]) == ("environment", False, False)
    # the model saw it: the second request carries the environment's answer
    second = fake_openai.requests[1]["messages"]
    assert json.loads(second[-1]["content"])["plan"] == "pro"
    result = _result(db, "read")
    assert (result["correct"], result["unverifiable"], json.loads(result["state_diff"])) == (True, False, [])


def test_a_read_after_a_write_sees_the_write(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(turns(
        tool_calls(("set_plan", {"account_id": "acc_1", "plan": "pro"})),
        tool_calls(("get_account", {"account_id": "acc_1"})),
        text("Ada is on pro now."),
    ))
    expected = {"state": {"accounts.acc_1.plan": "pro"}}
    db, _ = _run(tmp_path, fake_openai, [_case("rw", "Move Ada (acc_1) to pro.", **expected)])
    write, read = _tool_steps(db, "rw")
    assert (write["tool"], write["answered_by"], json.loads(write["output"])) == ("set_plan", "environment", {"ok": True})
    assert json.loads(read["output"])["plan"] == "pro"
    result = _result(db, "rw")
    assert result["correct"] is True
    assert json.loads(result["state_diff"]) == [{"path": "accounts.acc_1.plan", "old": "free", "new": "pro"}]
    assert len(result["state_hash"]) == 64


def test_two_action_orders_reaching_the_same_state_are_both_correct(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    plan = ("set_plan", {"account_id": "acc_1", "plan": "pro"})
    email = ("set_email", {"account_id": "acc_1", "email": "ada@lovelace.org"})

    def by_model(body: dict[str, Any]) -> Reply:
        first, second = (plan, email) if body["model"] == "fake-a" else (email, plan)
        return turns(tool_calls(first), tool_calls(second), text("Done."))(body)

    fake_openai.script(by_model)
    case = _case("both", "Put Ada on pro and change her email.", state="from_actions",
                 actions=[{"tool": "set_plan", "args": plan[1]}, {"tool": "set_email", "args": email[1]}])
    candidates = [live("a", fake_openai.base_url, "openai/fake-a"), live("b", fake_openai.base_url, "openai/fake-b")]
    db, _ = _run(tmp_path, fake_openai, [case], candidates)
    a, b = _result(db, "both", "a"), _result(db, "both", "b")
    assert [s["tool"] for s in _tool_steps(db, "both", "a")] == ["set_plan", "set_email"]
    assert [s["tool"] for s in _tool_steps(db, "both", "b")] == ["set_email", "set_plan"]
    assert (a["correct"], a["critical_error"], list(a["reasons"])) == (True, False, [])
    assert (b["correct"], b["critical_error"], list(b["reasons"])) == (True, False, [])
    assert a["state_hash"] == b["state_hash"]


def test_a_wrong_write_is_critical_and_names_the_differing_path(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(turns(tool_calls(("set_plan", {"account_id": "acc_1", "plan": "business"})), text("Done.")))
    case = _case("wrong", "Put Ada on pro.", state="from_actions",
                 actions=[{"tool": "set_plan", "args": {"account_id": "acc_1", "plan": "pro"}}])
    db, _ = _run(tmp_path, fake_openai, [case])
    result = _result(db, "wrong")
    assert (result["correct"], result["critical_error"], result["escaped_error"]) == (False, True, True)
    assert list(result["reasons"]) == ["state: accounts.acc_1.plan: expected 'pro', got 'business'"]


def test_a_missing_write_is_incorrect_but_not_critical(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(turns(text("I have moved you to pro.")))
    case = _case("missing", "Put Ada on pro.", state={"accounts.acc_1.plan": "pro", "accounts.acc_1.credit_cents": 0})
    db, _ = _run(tmp_path, fake_openai, [case])
    result = _result(db, "missing")
    assert (result["correct"], result["critical_error"]) == (False, False)
    assert list(result["reasons"]) == ["state: accounts.acc_1.plan: expected 'pro', got 'free'"]


def test_state_checks_use_the_argument_matchers_and_json_equality(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(turns(tool_calls(("add_credit", {"account_id": "acc_2", "cents": 250})), text("Added.")))
    case = _case("credit", "Give Bob 250 cents.", state={
        "accounts.acc_2.credit_cents": 500.0,                 # numbers by value
        "accounts.acc_2.plan": {"$in": ["pro", "business"]},
        "log": {"$contains": "acc_2"},
    })
    db, _ = _run(tmp_path, fake_openai, [case])
    assert _result(db, "credit")["correct"] is True


def test_initial_state_is_merged_into_state_json_per_case(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(turns(tool_calls(("get_account", {"account_id": "acc_1"})), text("ok")))
    patched = {**_case("patched", "Ada?"), "initial_state": {"accounts": {"acc_1": {"plan": "gold", "email": None}}}}
    db, _ = _run(tmp_path, fake_openai, [patched, _case("plain", "Ada, plain?")])
    assert json.loads(_tool_steps(db, "patched")[0]["output"]) == {"name": "Ada", "plan": "gold", "credit_cents": 0}
    assert json.loads(_tool_steps(db, "plain")[0]["output"])["plan"] == "free"  # the patch stays with its case


def test_concurrent_runs_and_repeats_never_see_each_others_state(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    # 32 cases x 4 repeats, 32 at once: each run adds 100 cents and reads the account back.
    fake_openai.script(turns(
        tool_calls(("add_credit", {"account_id": "acc_1", "cents": 100}), delay_s=0.02),
        tool_calls(("get_account", {"account_id": "acc_1"}), delay_s=0.02),
        text("done"),
    ))
    cases = [_case(f"c{i:02d}", f"Add credit, run {i}.", state={"accounts.acc_1.credit_cents": 100})
             for i in range(32)]
    db, _ = _run(tmp_path, fake_openai, cases, concurrency=32, repeats=4)
    assert fake_openai.peak_concurrency > 1
    reads = rows(db, "SELECT output FROM steps WHERE tool='get_account'")
    writes = rows(db, "SELECT output FROM steps WHERE tool='add_credit'")
    assert len(reads) == len(writes) == 128
    assert {json.loads(r["output"])["credit_cents"] for r in reads} == {100}
    assert {json.loads(w["output"])["credit_cents"] for w in writes} == {100}
    results = rows(db, "SELECT correct, state_diff, state_hash FROM results")
    assert len(results) == 128 and all(r["correct"] for r in results)
    assert len({r["state_hash"] for r in results}) == 1  # same case world, same change


def test_an_environment_that_raises_gives_a_tool_error_and_the_traceback(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(turns(tool_calls(("audit", {"account_id": "acc_1"})), text("The audit failed.")))
    db, _ = _run(tmp_path, fake_openai, [_case("boom", "Audit Ada.")])
    (step,) = _tool_steps(db, "boom")
    assert step["output"] == "Error: ValueError: audit log unavailable for acc_1"
    assert (step["error"], step["answered_by"]) == (True, "environment")
    line = ENVIRONMENT.splitlines().index('        raise ValueError("audit log unavailable for " + account_id)') + 1
    assert f'environment.py", line {line}, in _audit' in step["traceback"]
    assert step["traceback"].rstrip().endswith("ValueError: audit log unavailable for acc_1")
    assert fake_openai.requests[1]["messages"][-1]["content"] == step["output"]  # what the model saw


def test_not_implemented_falls_back_to_fixtures_and_escalation_is_never_executed(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(turns(tool_calls(("get_weather", {"city": "Oslo"})),
                             tool_calls(("escalate_to_human", {"reason": "weather"}))))
    case = {**_case("fallback", "Weather?"), "expected": {"status": "escalated"},
            "fixtures": [{"tool": "get_weather", "args": {"city": "Oslo"}, "output": {"sky": "grey"}}]}
    db, _ = _run(tmp_path, fake_openai, [case])
    weather, handoff = _tool_steps(db, "fallback")
    assert (weather["answered_by"], json.loads(weather["output"])) == ("fixture", {"sky": "grey"})
    assert (handoff["tool"], handoff["answered_by"], handoff["output"]) == ("escalate_to_human", None, None)
    assert _result(db, "fallback")["correct"] is True


def test_a_refused_call_never_reaches_the_environment(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(turns(tool_calls(("set_plan", {"account_id": "acc_1", "plan": "pro"})), text("Done.")))
    policy = {"forbid": [{"tool": "set_plan"}]}
    db, _ = _run(tmp_path, fake_openai, [_case("refused", "Put Ada on pro.")], policy=policy)
    (step,) = _tool_steps(db, "refused")
    assert step["policy"] is not None and step["answered_by"] is None
    assert json.loads(_result(db, "refused")["state_diff"]) == []  # nothing changed


def test_an_unanswerable_call_makes_the_run_unverifiable(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(per_case({"Lima": [tool_calls(("get_weather", {"city": "Lima"})), text("Sunny.")],
                                 "Hello": text("Hi!")}))
    db, run_id = _run(tmp_path, fake_openai, [_case("diverged", "Weather in Lima?"), _case("fine", "Hello")])
    (step,) = _tool_steps(db, "diverged")
    assert (step["answered_by"], step["divergence"]) == ("none", True)
    assert _result(db, "diverged")["unverifiable"] is True and _result(db, "fine")["unverifiable"] is False
    (metric,) = rows(db, "SELECT value, ci_low, ci_high FROM metrics WHERE metric='divergence_rate' AND tag IS NULL")
    assert metric["value"] == 0.5 and 0 < metric["ci_low"] < 0.5 < metric["ci_high"] < 1


def test_a_write_the_environment_declines_and_nothing_answers_is_a_divergence(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(turns(tool_calls(("notify", {"text": "hi"})), text("Sent.")))
    db, _ = _run(tmp_path, fake_openai, [_case("declined", "Notify Ada.")])
    (step,) = _tool_steps(db, "declined")
    assert (step["output"], step["answered_by"], step["divergence"]) == ('{"ok": true}', "none", True)
    assert _result(db, "declined")["unverifiable"] is True


def test_replay_re_executes_and_flags_a_recorded_output_the_environment_contradicts(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    def recording(case_id: str, plan_seen: str) -> dict[str, Any]:
        return {"run_id": f"r-{case_id}", "case_id": case_id, "label": "prod", "messages": [
            {"role": "user", "content": "Put Ada on pro."},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "a", "type": "function", "function": {"name": "get_account", "arguments": '{"account_id": "acc_1"}'}},
            ]},
            {"role": "tool", "tool_call_id": "a", "content": json.dumps(
                {"name": "Ada", "plan": plan_seen, "email": "ada@example.com", "credit_cents": 0})},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "b", "type": "function",
                 "function": {"name": "set_plan", "arguments": '{"account_id": "acc_1", "plan": "pro"}'}},
            ]},
            {"role": "tool", "tool_call_id": "b", "content": '{"ok": true}'},
            {"role": "assistant", "content": "Done."},
        ]}

    expected = {"state": {"accounts.acc_1.plan": "pro"}}
    cases = [_case("agrees", "Put Ada on pro.", **expected), _case("contradicts", "Put Ada on pro.", **expected)]
    runs = [recording("agrees", "free"), recording("contradicts", "gold")]
    db, _ = _run(tmp_path, fake_openai, cases, [{"name": "prod", "model": "replay:prod"}], runs=runs)
    agree_read, agree_write = _tool_steps(db, "agrees", "prod")
    read, write = _tool_steps(db, "contradicts", "prod")
    assert agree_read["env_output"] is None and agree_write["env_output"] is None
    assert json.loads(read["output"])["plan"] == "gold"  # what the recorded model saw stays
    assert json.loads(read["env_output"])["plan"] == "free"  # flagged: the environment says otherwise
    assert read["answered_by"] == "recording" and write["env_output"] is None
    for case_id in ("agrees", "contradicts"):  # the baseline is judged by its final state
        result = _result(db, case_id, "prod")
        assert result["correct"] is True
        assert json.loads(result["state_diff"]) == [{"path": "accounts.acc_1.plan", "old": "free", "new": "pro"}]
    assert fake_openai.requests == []


def test_the_demo_replays_agree_with_its_environment(tmp_path: Path) -> None:
    """support-triage ships environment.py + state.json: every recorded output is what the
    environment answers, and refund cases are judged by state."""
    from agentctl.config.loader import load_suite_and_dataset
    from agentctl.providers.replay import ReplayProvider
    from agentctl.scorers.outcome import score_outcome

    root = Path(__file__).resolve().parent.parent
    suite, dataset, _ = load_suite_and_dataset(root / "evalsuites" / "support-triage.yaml")
    stateful = [c for c in dataset.cases if c.expected.state is not None]
    assert len(stateful) == 61
    provider = ReplayProvider("candidate", suite, dataset)
    flagged, verdicts = 0, {}
    for case in dataset.cases:
        traj = provider.replay(case, 1)
        flagged += sum(s.env_output is not None for s in traj.tool_steps)
        verdicts[case.id] = score_outcome(case, traj, suite, dataset.tools)
    assert flagged == 0
    wrong_charge = verdicts["T-812230"]  # refunded the original charge instead of the duplicate
    assert (wrong_charge.correct, wrong_charge.critical_error) == (False, True)
    assert wrong_charge.reasons[:2] == [
        "state: charges.ch_3PIWrd3Odlffq6zOZs6Bd.amount_refunded_cents: expected 0, got 3598",
        "state: charges.ch_3PStZFTMa9vqLiJS4jvLo.amount_refunded_cents: expected 3598, got 0",
    ]
    claimed = verdicts["T-813785"]  # said it refunded, never did: a missing write
    assert (claimed.correct, claimed.critical_error, claimed.escaped_error) == (False, False, True)


def test_reports_show_unverifiable_runs_and_the_state_diff(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    import base64
    import gzip
    import re
    import xml.etree.ElementTree as ET

    import duckdb

    from agentctl.reports import load_report_data, render_html, render_json, render_junit, render_markdown

    fake_openai.script(per_case({
        "Lima": [tool_calls(("get_weather", {"city": "Lima"})), text("Sunny.")],
        "pro": [tool_calls(("set_plan", {"account_id": "acc_1", "plan": "pro"})), text("Done.")],
    }))
    cases = [_case("diverged", "Weather in Lima?"),
             _case("write", "Put Ada on pro.", state={"accounts.acc_1.plan": "pro"})]
    db, run_id = _run(tmp_path, fake_openai, cases)
    with duckdb.connect(str(db), read_only=True) as con:
        data = load_report_data(con, run_id)

    page = render_html(data)
    blob = json.loads(re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S)[1])
    rows = {row[0]: row for row in blob["cases"]}
    assert (rows["diverged"][10], rows["write"][10]) == (1, 0)  # the page marks it beside the verdict
    packed = re.search(r'id="report-details" data-encoding="gzip\+base64">(.*?)</script>', page, re.S)[1]
    details = json.loads(gzip.decompress(base64.b64decode(packed)))
    by_case = {row[0]: details[i] for i, row in enumerate(blob["cases"])}
    assert by_case["write"]["diff"] is None  # judged by state: no write-action diff to contradict it
    (run,) = by_case["write"]["runs"]
    assert run["state_diff"] == [{"path": "accounts.acc_1.plan", "old": '"free"', "new": '"pro"'}]
    assert [s.get("answered_by") for s in run["steps"] if s["kind"] == "tool"] == ["environment"]

    report = json.loads(render_json(data))
    by_result = {r["case_id"]: r for r in report["results"]}
    assert (by_result["diverged"]["unverifiable"], by_result["write"]["unverifiable"]) == (True, False)
    assert by_result["write"]["state_diff"] == [{"path": "accounts.acc_1.plan", "old": "free", "new": "pro"}]
    assert {c["case_id"]: c["unverifiable"] for c in report["cases"]} == {"diverged": 1, "write": 0}

    markdown = render_markdown(data)
    assert "### Unverifiable: 1 runs made a tool call nothing could answer" in markdown
    assert "| diverged | live | pass · unverifiable | 1/1 (1 unverifiable) |" in markdown

    suites = ET.fromstring(render_junit(data))
    out = {tc.get("name"): tc.find("system-out").text for tc in suites.iter("testcase")}
    assert "1 unverifiable (a tool call nothing could answer)" in out["diverged"]
    assert "unverifiable" not in out["write"]


def test_eval_run_output_marks_unverifiable_runs(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    from typer.testing import CliRunner

    from agentctl.main import app

    fake_openai.script(per_case({"Lima": [tool_calls(("get_weather", {"city": "Lima"})), text("Sunny.")]}))
    suite = write_env_suite(tmp_path, [_case("diverged", "Weather in Lima?", answer={"contains": ["rain"]})],
                            [live("live", fake_openai.base_url)])
    result = CliRunner().invoke(app, ["eval", "run", str(suite), "--db", str(tmp_path / "s.duckdb"),
                                      "--report-dir", str(tmp_path / "reports")], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert ("unverifiable: 1 run(s) made a tool call nothing could answer; their verdicts are not verified: "
            "diverged (live, incorrect)") in result.output


def _demo_case_suite(tmp_path: Path, case_id: str, base_url: str) -> Path:
    """A suite over one case of the support-triage demo, with its environment, and a live candidate."""
    import shutil

    import yaml

    demo = Path(__file__).resolve().parent.parent / "datasets" / "support-triage"
    data = tmp_path / "data"
    data.mkdir(parents=True)
    for name in ("tools.yaml", "environment.py", "state.json"):
        shutil.copy(demo / name, data / name)
    line = next(x for x in (demo / "cases.jsonl").read_text(encoding="utf-8").splitlines() if f'"{case_id}"' in x)
    (data / "cases.jsonl").write_text(line + "\n", encoding="utf-8")
    spec = yaml.safe_load((demo.parent.parent / "evalsuites" / "support-triage.yaml").read_text(encoding="utf-8"))
    spec.update(dataset="data", candidates=[live("live", base_url)], scorers=[], gates=[], baseline=None,
                agent={**spec["agent"], "system_prompt": "You are Lumen Home's support agent."},
                pricing={"openai/fake-agent": PRICING}, execution={"retry": {"max_attempts": 1}, "cache": False})
    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


def test_a_candidate_that_leaves_the_recorded_path_and_does_the_right_thing_is_correct(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    """On the demo: re-routes the ticket, refunds the duplicate in two halves, checks the charge
    afterwards (a read no recording has) and replies. The writes do not pair with the expected
    actions one to one, but the shop ends up as it should."""
    dup = "ch_3PStZFTMa9vqLiJS4jvLo"
    fake_openai.script(turns(
        tool_calls(("update_ticket", {"ticket_id": 812230, "priority": "low", "group": "technical"})),
        tool_calls(("update_ticket", {"ticket_id": 812230, "priority": "high", "group": "billing"})),
        tool_calls(("issue_refund", {"charge_id": dup, "amount_cents": 1799, "reason": "duplicate"}),
                   ("issue_refund", {"charge_id": dup, "amount_cents": 1799, "reason": "duplicate"})),
        tool_calls(("get_charge", {"charge_id": dup})),
        tool_calls(("send_reply", {"ticket_id": 812230, "body": "We refunded the duplicate $35.98 charge."})),
        text("Refunded the duplicate charge of $35.98 and replied."),
    ))
    suite = _demo_case_suite(tmp_path, "T-812230", fake_openai.base_url)
    db = tmp_path / "s.duckdb"
    outcome = run_suite(suite, db=db, options=RunOptions(no_cache=True))
    (result,) = outcome.results
    assert (result.correct, result.critical_error, result.reasons) == (True, False, [])
    read = next(s for s in _tool_steps(db, "T-812230") if s["tool"] == "get_charge")
    assert (read["answered_by"], json.loads(read["output"])["amount_refunded_cents"]) == ("environment", 3598)
    changed = {d["path"]: d["new"] for d in result.state_diff or []}
    assert changed[f"charges.{dup}.amount_refunded_cents"] == 3598 and changed["tickets.812230.priority"] == "high"
