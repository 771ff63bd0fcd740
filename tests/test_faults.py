"""Provider faults over real HTTP: retries, timeouts, Retry-After, infra errors, circuit breaker."""

from __future__ import annotations

import time
from pathlib import Path

import duckdb
import pytest

from agentctl.core.errors import EXIT_CANNOT_RUN
from agentctl.runner import RunOptions, run_suite
from support.fake_openai import FakeOpenAI, Reply, drop, error, malformed, text
from support.faults import API_KEY, FaultSchedule, result_rows, write_suite


def _fault(kind: int) -> Reply:
    return [
        error(429, retry_after=0.05), error(500), error(503), drop(), malformed(b"{not json"),
        malformed(b'{"choices": []}'), text("too late", delay_s=1.0),
    ][kind % 7]


def test_a_fifth_of_calls_failing_transiently_loses_no_run(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    """The issue's acceptance test: >= 20% of requests fail; every run gets exactly one verdict."""
    n_cases, dead = 24, {5, 17}  # two cases whose provider never recovers

    def plan(case: int, turn: int, attempt: int) -> Reply | None:
        if case in dead:
            return error(503)
        call = case * 2 + turn
        if call % 3 == 0 and attempt == 1:
            return _fault(call)
        if call % 9 == 0 and attempt == 2:  # some calls fail twice in a row
            return _fault(call + 1)
        return None

    schedule = FaultSchedule(plan)
    fake_openai.script(schedule)
    suite = write_suite(tmp_path, fake_openai.base_url, n_cases=n_cases,
                        execution={"timeout_s": 0.5, "retry": {"max_attempts": 3, "backoff_s": 0.02}})  # default breaker: 2 dead cases do not trip it
    db = tmp_path / "x.duckdb"
    started = time.monotonic()
    outcome = run_suite(suite, db=db, options=RunOptions(concurrency=6))
    wall = time.monotonic() - started
    requests = len(fake_openai.requests)
    stats = outcome.call_stats
    print(f"\nfault injection: {n_cases} runs, {stats.calls} model calls, {requests} requests, "
          f"{schedule.faults} faults ({schedule.faults / requests:.0%}), {stats.retries} retries, "
          f"wall {wall:.2f} s; {stats.summary()}")

    assert schedule.faults / requests >= 0.20
    rows = result_rows(db, outcome.run_id)
    assert [r[0] for r in rows] == [f"case-{i:02d}" for i in range(n_cases)]  # one verdict each, no duplicate
    for case_id, _, _, status, correct, infra, reason in rows:
        if int(case_id[-2:]) in dead:
            assert (status, correct, infra, reason) == ("failed", False, True, "provider_error")
        else:
            assert (status, correct, infra) == ("completed", True, False), case_id
    # bounded: each dead case's first call took exactly max_attempts requests
    assert all(schedule.attempts[(c, 0, 0)] == 3 for c in dead)
    assert stats.retries == requests - stats.calls and stats.failed == len(dead)
    metrics = {m.metric: m.value for m in outcome.metrics if m.tag is None}
    assert metrics["success_rate"] == 1.0  # infra errors are not the model's failures
    assert metrics["infra_error_rate"] == pytest.approx(len(dead) / n_cases)
    # the attempts of every successful call are stored on its step
    con = duckdb.connect(str(db), read_only=True)
    stored = con.execute("SELECT sum(attempts) FROM steps WHERE kind = 'model'").fetchone()[0]
    con.close()
    assert stored == requests - 3 * len(dead)
    assert outcome.exit_code == 0


def test_retry_after_is_honoured(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    schedule = FaultSchedule(lambda case, turn, attempt: error(429, retry_after=0.4) if attempt == 1 else None)
    fake_openai.script(schedule)
    suite = write_suite(tmp_path, fake_openai.base_url, n_cases=1,
                        execution={"retry": {"max_attempts": 3, "backoff_s": 0.01, "max_backoff_s": 5}})
    outcome = run_suite(suite, db=tmp_path / "x.duckdb", options=RunOptions())
    assert outcome.results[0].correct
    first, second = schedule.times[0], schedule.times[1]
    assert second - first >= 0.4  # backoff_s is 0.01: only Retry-After explains the wait
    assert len(fake_openai.requests) == 4


def test_a_slow_reply_times_out_and_is_retried(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    schedule = FaultSchedule(lambda case, turn, attempt: text("late", delay_s=1.0) if attempt == 1 and turn == 0 else None)
    fake_openai.script(schedule)
    suite = write_suite(tmp_path, fake_openai.base_url, n_cases=1)
    outcome = run_suite(suite, db=tmp_path / "x.duckdb", options=RunOptions(timeout_s=0.3))
    # the late reply was given up on (a timeout fault) and the retry answered instead
    assert outcome.results[0].correct and len(fake_openai.requests) == 3
    assert outcome.call_stats.faults == {"timeout": 1}
    assert outcome.call_stats.retries == 1


def test_attempts_are_bounded_by_the_command_line(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(lambda body: error(500))
    suite = write_suite(tmp_path, fake_openai.base_url, n_cases=1)
    outcome = run_suite(suite, db=tmp_path / "x.duckdb", options=RunOptions(max_attempts=2))
    r = outcome.results[0]
    assert (r.status, r.failure_reason, r.infra_error) == ("failed", "provider_error", True)
    assert len(fake_openai.requests) == 2
    assert r.reasons[0].startswith("provider failed: InternalServerError (HTTP 500) after 2 attempts")
    # every call failing: the provider is unusable, the run could not be carried out
    assert outcome.exit_code == EXIT_CANNOT_RUN


def test_a_client_error_is_not_retried(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(lambda body: error(400))
    suite = write_suite(tmp_path, fake_openai.base_url, n_cases=1)
    outcome = run_suite(suite, db=tmp_path / "x.duckdb", options=RunOptions())
    assert outcome.results[0].infra_error and len(fake_openai.requests) == 1


def test_a_run_whose_every_model_call_failed_is_aborted(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(lambda body: error(400))  # a client error: not retried, no breaker
    suite = write_suite(tmp_path, fake_openai.base_url, n_cases=2)
    outcome = run_suite(suite, db=tmp_path / "x.duckdb", options=RunOptions())
    assert all(r.infra_error for r in outcome.results) and len(outcome.results) == 2
    assert (outcome.status, outcome.exit_code) == ("aborted", EXIT_CANNOT_RUN)
    assert outcome.message == "every model call failed (provider unreachable or unauthorised); see the failure reasons"


def test_authentication_error_opens_the_breaker_at_once(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(lambda body: error(401, body={"error": {"message": f"Incorrect API key {API_KEY}"}}))
    suite = write_suite(tmp_path, fake_openai.base_url, n_cases=6)
    db = tmp_path / "x.duckdb"
    outcome = run_suite(suite, db=db, options=RunOptions(concurrency=1))
    assert len(fake_openai.requests) == 1  # not retried, and nothing more is sent
    assert (len(outcome.results), outcome.not_run, outcome.exit_code) == (1, 5, EXIT_CANNOT_RUN)
    assert outcome.results[0].infra_error
    message = outcome.message or ""
    assert "circuit breaker open for openai/fake-agent" in message and "authentication" in message
    assert "5 run(s) not run" in message and API_KEY not in message
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT status, exit_code, message FROM eval_runs").fetchone() == ("aborted", 3, message)
    con.close()


def test_breaker_opens_when_most_recent_calls_fail(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(lambda body: error(500))
    suite = write_suite(tmp_path, fake_openai.base_url, n_cases=8,
                        execution={"retry": {"max_attempts": 2, "backoff_s": 0.01},
                                   "breaker": {"window": 4, "min_calls": 4, "failure_ratio": 0.75}})
    outcome = run_suite(suite, db=tmp_path / "x.duckdb", options=RunOptions(concurrency=1))
    assert len(fake_openai.requests) == 8  # 4 calls x 2 attempts, then the breaker is open
    assert (len(outcome.results), outcome.not_run, outcome.exit_code) == (4, 4, EXIT_CANNOT_RUN)
    assert "4 of its last 4 calls failed" in (outcome.message or "")


def test_breaker_is_per_model(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    from support.faults import agent_reply

    def handler(body: dict) -> Reply:
        return error(403) if body["model"] == "fake-other" else agent_reply(body)

    fake_openai.script(handler)
    params = {"api_base": fake_openai.base_url, "api_key": API_KEY}
    suite = write_suite(tmp_path, fake_openai.base_url, n_cases=4, candidates=[
        {"name": "good", "model": "openai/fake-agent", "params": params},
        {"name": "bad", "model": "openai/fake-other", "params": params},
    ])
    outcome = run_suite(suite, db=tmp_path / "x.duckdb", options=RunOptions(concurrency=1))
    good = [r for r in outcome.results if r.candidate == "good"]
    bad = [r for r in outcome.results if r.candidate == "bad"]
    assert len(good) == 4 and all(r.correct for r in good)
    assert len(bad) == 1 and bad[0].infra_error and outcome.not_run == 3
    assert outcome.exit_code == EXIT_CANNOT_RUN and "openai/fake-other" in (outcome.message or "")
