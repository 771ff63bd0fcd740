"""The multi-turn demo (datasets/airline-bookings, evalsuites/airline-bookings.yaml) through the CLI.

What a release manager sees: ``prod`` passes; ``candidate`` takes other paths on many cases and
still leaves the right state (correct), and writes the wrong state on three (incorrect; two
critical, with the differing paths named).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from agentctl.main import app

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "evalsuites" / "airline-bookings.yaml"
DATA = ROOT / "datasets" / "airline-bookings"
DIVERGED_AND_RIGHT = ["AIR-001", "AIR-003", "AIR-005", "AIR-007", "AIR-009", "AIR-014", "AIR-017"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, duckdb.DuckDBPyConnection, str]:
    tmp = tmp_path_factory.mktemp("airline")
    db = tmp / "demo.duckdb"
    result = CliRunner().invoke(app, ["eval", "run", str(SUITE), "--db", str(db), "--report-dir", str(tmp / "rep")])
    con = duckdb.connect(str(db), read_only=True)
    run_id = con.execute("SELECT run_id FROM eval_runs").fetchone()[0]
    return result.exit_code, result.output, con, run_id


def _results(con: duckdb.DuckDBPyConnection, candidate: str) -> dict[str, tuple]:
    rows = con.execute("SELECT case_id, status, correct, critical_error, escaped_error, reasons FROM results "
                       "WHERE candidate = ? ORDER BY case_id", [candidate]).fetchall()
    return {r[0]: r[1:] for r in rows}


def _tools(con: duckdb.DuckDBPyConnection, candidate: str, case_id: str) -> list[str]:
    return [r[0] for r in con.execute("SELECT tool FROM steps WHERE candidate = ? AND case_id = ? AND kind = 'tool' "
                                      "ORDER BY step", [candidate, case_id]).fetchall()]


def test_the_demo_fails_its_gates_on_the_candidate_only(demo: tuple) -> None:
    code, output, con, _ = demo
    assert code == 1, output
    gates = con.execute("SELECT candidate, gate, passed FROM gates ORDER BY gate").fetchall()
    assert gates == [("candidate", "critical_error_rate <= 0.05", False),
                     ("candidate", "regression(success_rate)", False),
                     ("candidate", "success_rate >= 0.9", False)]
    assert "regressed: AIR-002, AIR-012, AIR-016" in " ".join(output.split())


def test_the_baseline_does_it_right_and_every_conversation_ends_with_the_user(demo: tuple) -> None:
    _, _, con, _ = demo
    prod = _results(con, "prod")
    assert len(prod) == 18
    assert {v[:4] for v in prod.values()} == {("completed", True, False, False)}
    # Every recording ends with the customer's stop message: completed, not incomplete.
    last = con.execute("SELECT DISTINCT kind, content LIKE '%###STOP###' FROM steps s WHERE step = "
                       "(SELECT max(step) FROM steps t WHERE t.candidate = s.candidate AND t.case_id = s.case_id)"
                       ).fetchall()
    assert last == [("user", True)]


def test_a_candidate_that_takes_another_path_and_leaves_the_right_state_is_correct(demo: tuple) -> None:
    _, _, con, _ = demo
    cand = _results(con, "candidate")
    for case_id in DIVERGED_AND_RIGHT:
        assert cand[case_id][:4] == ("completed", True, False, False), case_id
        assert _tools(con, "candidate", case_id) != _tools(con, "prod", case_id), case_id
    assert "find_user_id_by_email" in _tools(con, "candidate", "AIR-001")
    # The recorded calls were re-executed against the environment (every run has a state diff),
    # and it agreed with every recorded output (nothing flagged).
    assert con.execute("SELECT count(*) FROM results WHERE state_diff IS NULL").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM steps WHERE env_output IS NOT NULL").fetchone()[0] == 0


def test_a_candidate_that_writes_the_wrong_state_is_caught_with_the_paths_that_differ(demo: tuple) -> None:
    _, _, con, _ = demo
    cand = _results(con, "candidate")
    status, correct, critical, escaped, reasons = cand["AIR-002"]
    assert (status, correct, critical, escaped) == ("completed", False, True, True)
    assert reasons == ["state: users.mateo_garcia_5282.payment_methods.gift_card_5369428.amount: expected 786, got 750",
                       "state: reservations.2NMTDZ.payment_history.1.payment_id: expected 'gift_card_5369428', "
                       "got 'credit_card_8382938'"]
    status, correct, critical, escaped, reasons = cand["AIR-012"]
    assert (correct, critical) == (False, True)
    assert reasons == ["state: reservations.76Z4J8.status: expected 'confirmed', got 'cancelled'",
                       "forbidden call: cancel_reservation(reservation_id='76Z4J8')"]
    # Bags added without charging the fee: the fee is a missing write (incorrect, not critical).
    status, correct, critical, escaped, reasons = cand["AIR-016"]
    assert (correct, critical, escaped) == (False, False, True)
    assert reasons[0] == "state: reservations.PJLDL8.nonfree_baggages: expected 1, got 0"
    wrong = sorted(k for k, v in cand.items() if not v[1])
    assert wrong == ["AIR-002", "AIR-012", "AIR-016"]


def test_the_html_report_shows_the_conversation_turns(demo: tuple, tmp_path: Path) -> None:
    import base64
    import gzip
    import re

    _, _, con, run_id = demo
    from agentctl.reports import load_report_data, render_html

    html = render_html(load_report_data(con, run_id))
    blob = re.search(r'<script[^>]*id="report-details"[^>]*>([^<]+)</script>', html)
    assert blob is not None
    details = json.loads(gzip.decompress(base64.b64decode(blob.group(1))))
    kinds = {s["kind"] for d in details for r in d["runs"] for s in r["steps"]}
    assert kinds == {"user", "model", "tool"}
    assert all(r["user_turns"] >= 3 for d in details for r in d["runs"])


def test_the_generator_is_deterministic(tmp_path: Path) -> None:
    copy = tmp_path / "airline-bookings"
    shutil.copytree(DATA, copy)
    for name in ("cases.jsonl", "runs.jsonl", "state.json"):
        (copy / name).unlink()
    subprocess.run([sys.executable, str(copy / "generate.py")], check=True, capture_output=True)
    for name in ("cases.jsonl", "runs.jsonl", "state.json"):
        assert (copy / name).read_bytes() == (DATA / name).read_bytes(), name


def test_a_live_candidate_with_the_recorded_customer_is_judged_by_state(tmp_path: Path) -> None:
    """A model (the fake server) talks to prod's recorded customer of AIR-001 on a path of its own:
    no get_user_details, the environment answers every call, and the final state is right."""
    import yaml

    from agentctl.runner import RunOptions, run_suite
    from support.fake_openai import FakeOpenAI, assistant_turns, text, tool_calls

    case = json.loads((DATA / "cases.jsonl").read_text().splitlines()[0])
    write = case["expected"]["actions"][0]
    args = write["args"]
    state = json.loads((DATA / "state.json").read_text())
    r = state["reservations"][args["reservation_id"]]
    script = [
        text("Happy to help. What is your user id and the reservation code?"),
        tool_calls(("get_reservation_details", {"reservation_id": args["reservation_id"]})),
        tool_calls(("search_direct_flight", {"origin": r["origin"], "destination": r["destination"],
                                             "date": args["flights"][0]["date"]})),
        text("The same flight a day later has seats. Gift card or credit card?"),
        text(f"Confirm: move {args['reservation_id']} to {args['flights'][0]['date']}, settled on the gift card?"),
        tool_calls((write["tool"], args)),
        text("Done."),
    ]
    with FakeOpenAI() as fake:
        fake.script(lambda body: script[min(assistant_turns(body), len(script) - 1)])
        suite = yaml.safe_load(SUITE.read_text())
        suite["dataset"] = str(DATA)
        suite["agent"]["system_prompt"] = str(DATA / "prompts" / "agent.md")
        suite["candidates"] = [{"name": "live", "model": "openai/fake-agent",
                                "params": {"api_base": fake.base_url, "api_key": "sk-test-dummy-1234567890"},
                                "user_simulator": {"model": "replay", "label": "prod-2026-06"}}]
        suite.pop("baseline")
        suite["gates"] = []
        path = tmp_path / "live.yaml"
        path.write_text(yaml.safe_dump(suite))
        db = tmp_path / "live.duckdb"
        run_suite(path, db=db, options=RunOptions(limit=1))
        assert len(fake.requests) == 7
    con = duckdb.connect(str(db), read_only=True)
    row = con.execute("SELECT case_id, status, correct, critical_error, reasons FROM results").fetchone()
    assert row == ("AIR-001", "completed", True, False, [])
    steps = con.execute("SELECT kind, content, answered_by FROM steps ORDER BY step").fetchall()
    recorded = json.loads((DATA / "runs.jsonl").read_text().splitlines()[0])
    assert recorded["run_id"] == "prod-2026-06-AIR-001-1"
    assert [c for k, c, _ in steps if k == "user"] == [m["content"] for m in recorded["messages"] if m["role"] == "user"]
    assert [a for k, _, a in steps if k == "tool"] == ["environment"] * 3


def test_user_turns_render_in_their_own_style_in_chromium(demo: tuple, tmp_path: Path) -> None:
    import os

    if not Path(os.environ.get("AGENTCTL_CHROMIUM", "/usr/bin/chromium")).exists() and not os.environ.get("CI"):
        pytest.skip("headless Chromium not installed (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from agentctl.reports import load_report_data, render_html

    _, _, con, run_id = demo
    page = tmp_path / "report.html"
    page.write_text(render_html(load_report_data(con, run_id)), encoding="utf-8")
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("AGENTCTL_CHROMIUM", "/usr/bin/chromium")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(os.environ.get("AGENTCTL_CHROMEDRIVER", "/usr/bin/chromedriver")),
                              options=options)
    try:
        driver.get(page.as_uri())
        driver.find_element(By.ID, "f-search").send_keys("AIR-012")
        row = driver.find_elements(By.CSS_SELECTOR, "#case-rows tr.row")[0]
        row.click()
        detail = WebDriverWait(driver, 10).until(
            lambda d: d.find_element(By.CSS_SELECTOR, "#case-rows tr.detail[data-loaded]"))
        users = detail.find_elements(By.CSS_SELECTOR, "li.step-user")
        assert [u.find_element(By.TAG_NAME, "b").text for u in users][:1] == ["user"]
        assert users[-1].find_element(By.TAG_NAME, "pre").text.endswith("###STOP###")
        assert users[0].value_of_css_property("border-left-color") != \
            detail.find_elements(By.CSS_SELECTOR, "li.step-model")[0].value_of_css_property("border-left-color")
        assert "user turns" in detail.find_element(By.TAG_NAME, "summary").text
    finally:
        driver.quit()
