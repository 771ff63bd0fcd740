"""The response cache: a second run of an unchanged suite calls nothing and reaches the same verdicts."""

from __future__ import annotations

import time
from pathlib import Path

import duckdb

from agentctl.runner import RunOptions, run_suite
from support.fake_openai import FakeOpenAI
from support.faults import FaultSchedule, result_rows, write_suite


def _verdicts(db: Path, run_id: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(
            "SELECT case_id, candidate, repeat, status, correct, cost_usd, steps, tool_calls FROM results "
            "WHERE run_id = ? ORDER BY ALL", [run_id]).fetchall()
    finally:
        con.close()


def test_second_run_is_served_from_the_cache(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(FaultSchedule(lambda c, t, a: None, delay_s=0.1))
    suite = write_suite(tmp_path, fake_openai.base_url, n_cases=8)
    db = tmp_path / "x.duckdb"
    started = time.monotonic()
    first = run_suite(suite, db=db, options=RunOptions(concurrency=4))
    first_wall = time.monotonic() - started
    calls = len(fake_openai.requests)
    assert calls == 16
    started = time.monotonic()
    second = run_suite(suite, db=db, options=RunOptions(concurrency=4))
    second_wall = time.monotonic() - started
    print(f"\ncache: first run {calls} calls {first_wall:.2f} s; second run "
          f"{len(fake_openai.requests) - calls} calls {second_wall:.2f} s")
    assert len(fake_openai.requests) == calls  # no provider call at all
    assert second.call_stats.cache_hits == 16 and second.call_stats.attempts == 0
    assert _verdicts(db, first.run_id) == _verdicts(db, second.run_id)
    assert [r.latency_s >= 0.2 for r in second.results] == [True] * 8  # the cached latency is kept
    con = duckdb.connect(str(db), read_only=True)
    cached = con.execute("SELECT count(*), sum(attempts) FROM steps WHERE run_id = ? AND kind = 'model' AND cached",
                         [second.run_id]).fetchone()
    assert cached == (16, 0)
    assert con.execute("SELECT count(*) FROM response_cache").fetchone()[0] == 16
    con.close()

    started = time.monotonic()
    third = run_suite(suite, db=db, options=RunOptions(concurrency=4, no_cache=True))
    print(f"cache: --no-cache run (litellm warm) {len(fake_openai.requests) - calls} calls "
          f"{time.monotonic() - started:.2f} s")
    assert len(fake_openai.requests) == 2 * calls and third.call_stats.cache_hits == 0


def test_repeats_are_independent_samples(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(FaultSchedule(lambda c, t, a: None))
    suite = write_suite(tmp_path, fake_openai.base_url, n_cases=2, repeats=3)
    db = tmp_path / "x.duckdb"
    run_suite(suite, db=db, options=RunOptions())
    assert len(fake_openai.requests) == 2 * 2 * 3  # identical questions, but one call per repeat
    again = run_suite(suite, db=db, options=RunOptions())
    assert len(fake_openai.requests) == 12 and len(result_rows(db, again.run_id)) == 6


def test_a_changed_candidate_is_not_answered_from_the_cache(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(FaultSchedule(lambda c, t, a: None))
    db = tmp_path / "x.duckdb"
    run_suite(write_suite(tmp_path, fake_openai.base_url, n_cases=2), db=db, options=RunOptions())
    assert len(fake_openai.requests) == 4
    changed = write_suite(tmp_path, fake_openai.base_url, n_cases=2,
                          agent={"system_prompt": "You are a terse support agent.", "max_steps": 4})
    run_suite(changed, db=db, options=RunOptions())
    assert len(fake_openai.requests) == 8


def test_the_api_key_is_not_part_of_the_cache_key() -> None:
    from agentctl.providers.base import ModelRequest
    from agentctl.providers.cache import cache_key

    def request(**params: object) -> ModelRequest:
        return ModelRequest(model="openai/m", messages=[{"role": "user", "content": "hi"}], tools=None,
                            params=dict(params), timeout_s=5, repeat=1)

    assert cache_key(request(api_key="sk-aaaaaaaaaa", temperature=0)) == cache_key(request(api_key="sk-bbbbbbbbbb", temperature=0))
    assert cache_key(request(temperature=0)) != cache_key(request(temperature=1))
