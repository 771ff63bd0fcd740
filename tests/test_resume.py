"""Resume: a run killed with SIGKILL (or interrupted with Ctrl-C) finishes with the same results."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from agentctl.runner import RunOptions, run_suite
from support.fake_openai import FakeOpenAI
from support.faults import FaultSchedule, result_rows, write_suite

N_CASES = 10


def _start(suite: Path, db: Path, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "COLUMNS": "200"}
    return subprocess.Popen(
        [sys.executable, "-m", "agentctl", "eval", "run", str(suite), "--db", str(db), "--no-report",
         "--concurrency", "2", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=suite.parent)


def _wait_for_requests(fake: FakeOpenAI, n: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while len(fake.requests) < n:
        assert time.monotonic() < deadline, "the subprocess made too few model calls"
        time.sleep(0.02)


def _run_id(db: Path) -> str:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT run_id FROM eval_runs").fetchone()[0]
    finally:
        con.close()


def _reference(tmp_path: Path, fake: FakeOpenAI) -> list[tuple]:
    suite = write_suite(tmp_path / "ref", fake.base_url, n_cases=N_CASES)
    outcome = run_suite(suite, db=tmp_path / "ref.duckdb", options=RunOptions(concurrency=2, no_cache=True))
    return [r[:1] + r[2:] for r in result_rows(tmp_path / "ref.duckdb", outcome.run_id)]


def test_sigkill_then_resume_gives_the_uninterrupted_results(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(FaultSchedule(lambda c, t, a: None, delay_s=0.1))
    expected = _reference(tmp_path, fake_openai)
    assert len(expected) == N_CASES

    suite = write_suite(tmp_path / "live", fake_openai.base_url, n_cases=N_CASES)
    db = tmp_path / "live.duckdb"
    before = len(fake_openai.requests)
    proc = _start(suite, db)
    _wait_for_requests(fake_openai, before + 10)  # about half the runs done, two in flight
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL

    run_id = _run_id(db)
    kept = result_rows(db, run_id)
    assert 0 < len(kept) < N_CASES  # committed as runs finished, the rest missing
    proc = _start(suite, db, "--resume", run_id)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    final = result_rows(db, run_id)
    assert [r[:1] + r[2:] for r in final] == expected  # same verdicts, no duplicate, nothing lost
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM eval_runs").fetchone()[0] == 1
    assert con.execute("SELECT status, exit_code FROM eval_runs").fetchone() == ("finished", 0)
    dupes = con.execute("SELECT count(*) FROM (SELECT run_id, case_id, candidate, repeat, step, count(*) c "
                        "FROM steps GROUP BY ALL HAVING c > 1)").fetchone()[0]
    con.close()
    assert dupes == 0


def test_sigint_exits_130_keeping_finished_runs(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(FaultSchedule(lambda c, t, a: None, delay_s=0.1))
    suite = write_suite(tmp_path, fake_openai.base_url, n_cases=N_CASES)
    db = tmp_path / "x.duckdb"
    proc = _start(suite, db)
    _wait_for_requests(fake_openai, 6)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    run_id = _run_id(db)
    kept = result_rows(db, run_id)
    assert 0 < len(kept) < N_CASES and all(r[4] for r in kept)  # finished runs kept, all correct
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT status, exit_code FROM eval_runs").fetchone() == ("interrupted", 130)
    con.close()
    assert f"--resume {run_id}" in err.replace("\n", "")  # and says how to go on (resume: test above)


def test_a_second_writer_waits_then_fails_clearly(tmp_path: Path) -> None:
    from agentctl.core.errors import StoreLocked
    from agentctl.store.store import Store

    db = tmp_path / "x.duckdb"
    holder = subprocess.Popen([sys.executable, "-c", f"import duckdb, time; c = duckdb.connect({str(db)!r}); "
                               "print('ready', flush=True); time.sleep(30)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        started = time.monotonic()
        try:
            Store(db, wait_s=0.5)
        except StoreLocked as exc:
            assert "in use by another agentctl process" in str(exc)
        else:
            raise AssertionError("a second writer opened a locked store")
        assert time.monotonic() - started >= 0.5
    finally:
        holder.kill()
        holder.wait()
