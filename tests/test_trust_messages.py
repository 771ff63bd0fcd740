"""Issue 11, messages that misled: each says what happened, where, and what to do."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from support.fake_openai import FakeOpenAI, text
from support.trust import case, invoke, recording, run, write_suite


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_id(db: Path) -> str:
    with duckdb.connect(str(db), read_only=True) as con:
        return str(con.execute("SELECT run_id FROM eval_runs ORDER BY started_at DESC LIMIT 1").fetchone()[0])


def test_resume_hint_names_the_store(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(lambda body: text("Refunded.", delay_s=30))
    params = {"api_base": fake_openai.base_url, "api_key": "sk-dummy-0000"}
    suite = write_suite(tmp_path, candidates=[{"name": "live", "model": "openai/m", "params": params}],
                        baseline=None, pricing={"openai/m": {"input_usd_per_mtok": 1, "output_usd_per_mtok": 1}})
    db = tmp_path / "elsewhere" / "store.duckdb"
    proc = subprocess.Popen([sys.executable, "-m", "agentctl", "eval", "run", str(suite), "--db", str(db), "--no-report"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                            env={**os.environ, "COLUMNS": "300"})
    for _ in range(600):  # wait until the first request reached the server
        if fake_openai.requests:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    hint = next(line for line in (out + err).splitlines() if "resume with" in line)
    assert f"--db {db}" in hint
    assert not (tmp_path / "agentctl.duckdb").exists()


def test_refused_connection_is_named_with_host_and_port(tmp_path: Path) -> None:
    port = _closed_port()
    params = {"api_base": f"http://127.0.0.1:{port}/v1", "api_key": "sk-dummy-0000"}
    suite = write_suite(tmp_path, candidates=[{"name": "live", "model": "openai/m", "params": params}], baseline=None,
                        pricing={"openai/m": {"input_usd_per_mtok": 1, "output_usd_per_mtok": 1}},
                        execution={"retry": {"max_attempts": 1}})
    code, out = run(suite, tmp_path, "--no-report")
    assert code == 3, out
    with duckdb.connect(str(tmp_path / "s.duckdb"), read_only=True) as con:
        reasons = [r[0] for r in con.execute("SELECT reasons FROM results").fetchall()]
    # "connection refused" when litellm keeps the cause, else "connection failed (no HTTP answer)"
    assert reasons and all(r[0].startswith("provider failed: connection ") and f"127.0.0.1:{port}" in r[0]
                           for r in reasons), reasons
    assert "HTTP 500" not in out and "HTTP 500" not in repr(reasons)
    # what decided the verdict, not its consequences
    assert not any("missing write" in x or "no answer" in x for r in reasons for x in r), reasons


def test_compare_is_readable_at_80_columns(tmp_path: Path) -> None:
    runs = [recording(i, "prod") for i in (1, 2)] + [recording(1, "cand"), recording(2, "cand")]
    runs[-1]["messages"][1]["tool_calls"][0]["function"]["arguments"] = json.dumps({"order_id": 2, "delivery": "sms"})
    suite = write_suite(tmp_path, dataset={"runs": runs})
    code, out = run(suite, tmp_path, "--no-report")
    proc = subprocess.run([sys.executable, "-m", "agentctl", "eval", "compare", _run_id(tmp_path / "s.duckdb"), "--db",
                           str(tmp_path / "s.duckdb")], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "80"})
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), [line for line in lines if len(line) > 80]
    success = next(line for line in lines if line.startswith("success_rate"))
    assert "[-1.00,+0.00]" in success or "[-1.00,-0.00]" in success or "[" in success and "…" not in success, success


def test_trivial_changes_are_not_flagged(tmp_path: Path) -> None:
    runs = [recording(i, "prod") for i in (1, 2)] + [recording(i, "cand", latency_s=1.02) for i in (1, 2)]
    suite = write_suite(tmp_path, dataset={"runs": runs})
    code, out = run(suite, tmp_path)
    assert code == 0, out
    md = next((tmp_path / "reports").glob("*.md")).read_text()
    latency = next(line for line in md.splitlines() if line.startswith("| p50\\_latency\\_s"))
    assert "0.02s" in latency and "⚠" not in latency


def test_cost_per_success_gate_says_correct_runs(tmp_path: Path) -> None:
    runs = [recording(i, "prod") for i in (1, 2)] + [recording(1, "cand"), recording(2, "cand")]
    runs[-1]["messages"][1]["tool_calls"][0]["function"]["arguments"] = json.dumps({"order_id": 7})
    suite = write_suite(tmp_path, dataset={"runs": runs}, gates=[{"metric": "cost_per_success_usd", "max": 1}])
    code, out = run(suite, tmp_path, "--no-report")
    with duckdb.connect(str(tmp_path / "s.duckdb"), read_only=True) as con:
        detail = con.execute("SELECT detail FROM gates").fetchone()[0]
    assert "(point estimate, 1 correct runs)" in detail, detail


def test_dataset_warnings_are_said_once_as_warnings(tmp_path: Path) -> None:
    bad = recording(2, "cand")
    bad["messages"][1]["tool_calls"][0]["function"]["arguments"] = "{'order_id': 2}"
    runs = [recording(1, "prod"), recording(2, "prod"), recording(1, "cand"), bad]
    code, out = run(write_suite(tmp_path, dataset={"runs": runs}), tmp_path, "--no-report")
    line = next(x for x in out.splitlines() if "runs.jsonl:4" in x)
    assert line.startswith("warning: ") and "note:" not in line and line.count("warning:") == 1, line


def test_eval_report_without_out_writes_a_file(tmp_path: Path) -> None:
    suite = write_suite(tmp_path)
    run(suite, tmp_path, "--no-report")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        code, out = invoke("eval", "report", _run_id(tmp_path / "s.duckdb"), "--db", str(tmp_path / "s.duckdb"))
    finally:
        os.chdir(cwd)
    assert code == 0, out
    assert "<html" not in out.lower() and "html report:" in out
    written = list((tmp_path / "reports").glob("*.html"))
    assert len(written) == 1 and written[0].stat().st_size > 1000


def test_eval_list_without_a_store_is_a_usage_error(tmp_path: Path) -> None:
    code, out = invoke("eval", "list", "--db", str(tmp_path / "none.duckdb"))
    assert code == 2, out
    assert "--db" in out


def test_an_escalation_lists_what_decided_it(tmp_path: Path) -> None:
    esc = recording(2, "cand")
    esc["messages"] = [esc["messages"][0], {"role": "assistant", "content": None, "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "escalate", "arguments": "{}"}}]}]
    runs = [recording(1, "prod"), recording(2, "prod"), recording(1, "cand"), esc]
    cases = [case(1), case(2, expected={"actions": [{"tool": "refund", "args": {"order_id": 2}}],
                                         "answer": {"contains": ["refunded"]}})]
    run(write_suite(tmp_path, dataset={"runs": runs, "cases": cases}), tmp_path, "--no-report")
    with duckdb.connect(str(tmp_path / "s.duckdb"), read_only=True) as con:
        reasons = con.execute("SELECT reasons FROM results WHERE candidate = 'cand' AND case_id = 'c2'").fetchone()[0]
    assert reasons == ["status: expected completed, got escalated"], reasons


def test_connection_faults_are_named_from_their_cause() -> None:
    from agentctl.core.faults import connection_problem

    try:
        with socket.create_connection(("127.0.0.1", _closed_port()), timeout=5):
            pass
    except ConnectionRefusedError as refused:
        try:
            raise RuntimeError("InternalServerError: Connection error.") from refused
        except RuntimeError as wrapped:
            assert connection_problem(wrapped) == "connection refused"
    assert connection_problem(socket.gaierror(-2, "Name or service not known")) == "DNS lookup failed"
    assert connection_problem(ValueError("HTTP 500 from upstream")) is None
