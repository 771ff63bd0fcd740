"""``--workers N``: worker processes carry out the runs; the parent holds the global limits.

Live suites against the fake OpenAI server (its own threads in this process: the workers
reach it over HTTP on 127.0.0.1). No timing is asserted.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from agentctl.core.errors import EXIT_CANNOT_RUN, InputError
from agentctl.plan import make_plan
from agentctl.runner import RunOptions, run_suite
from agentctl.workers import AUTO_MIN_LIVE_RUNS, choose_workers, cores, parse_workers
from support.fake_openai import FakeOpenAI
from support.faults import CALL_USD, FaultSchedule, result_rows, write_suite

WORKERS_NOTE = "runs carried out by 2 worker processes (--workers)"


def _metrics(outcome) -> list[tuple]:  # type: ignore[no-untyped-def]
    return sorted(((m.candidate, m.metric, m.tag, m.value, m.n) for m in outcome.metrics if "latency" not in m.metric),
                  key=repr)


def test_two_workers_give_the_results_of_one_process(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    # case 3 fails its first call for good (a permanent 400): an infra error, the same either way
    fake_openai.script(FaultSchedule(lambda c, t, a: _bad_request() if c == 3 else None, delay_s=0.01))
    suite = write_suite(tmp_path, fake_openai.base_url, n_cases=16, repeats=2)
    one = run_suite(suite, db=tmp_path / "one.duckdb", options=RunOptions(concurrency=4, workers=1, no_cache=True))
    two = run_suite(suite, db=tmp_path / "two.duckdb", options=RunOptions(concurrency=4, workers=2, no_cache=True))
    assert WORKERS_NOTE in two.notes and WORKERS_NOTE not in one.notes
    assert len(one.results) == 32 and one.status == "finished"
    assert result_rows(tmp_path / "two.duckdb") == result_rows(tmp_path / "one.duckdb")
    assert _metrics(two) == _metrics(one)
    assert [(g.gate, g.passed, g.value, g.detail) for g in two.gates] == [(g.gate, g.passed, g.value, g.detail) for g in one.gates]
    assert (two.exit_code, two.status) == (one.exit_code, one.status)
    assert sum(r.cost_usd for r in two.results) == pytest.approx(sum(r.cost_usd for r in one.results))
    # the workers' call counts reach the parent's summary
    assert (two.call_stats.calls, two.call_stats.failed) == (one.call_stats.calls, one.call_stats.failed) == (62, 2)


def _bad_request():  # type: ignore[no-untyped-def]
    from support.fake_openai import error

    return error(400)


def test_the_concurrency_limit_is_global(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(FaultSchedule(lambda c, t, a: None, delay_s=0.05))
    suite = write_suite(tmp_path, fake_openai.base_url, n_cases=16)
    outcome = run_suite(suite, db=tmp_path / "x.duckdb", options=RunOptions(concurrency=3, workers=2, no_cache=True))
    assert WORKERS_NOTE in outcome.notes and len(outcome.results) == 16
    assert 2 <= fake_openai.peak_concurrency <= 3  # one run calls one model at a time: at most 3 in flight


def test_rate_limits_are_global(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(FaultSchedule(lambda c, t, a: None, delay_s=0.02))
    suite = write_suite(tmp_path, fake_openai.base_url, n_cases=8,
                        execution={"limits": {"openai/*": {"concurrency": 1}}})
    outcome = run_suite(suite, db=tmp_path / "x.duckdb", options=RunOptions(concurrency=4, workers=2, no_cache=True))
    assert WORKERS_NOTE in outcome.notes and outcome.status == "finished" and len(outcome.results) == 8
    assert fake_openai.peak_concurrency == 1  # 4 runs in flight in 2 processes, one request at a time


def test_the_budget_stops_every_workers_calls(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(FaultSchedule(lambda c, t, a: None, delay_s=0.02))
    suite = write_suite(tmp_path, fake_openai.base_url, n_cases=12, budget={"max_usd_total": 5 * CALL_USD})
    db = tmp_path / "x.duckdb"
    outcome = run_suite(suite, db=db, options=RunOptions(concurrency=2, workers=2, no_cache=True))
    assert WORKERS_NOTE in outcome.notes
    # 5 calls reach the limit; the call in flight in the other worker may still finish
    assert 5 <= len(fake_openai.requests) <= 6
    assert outcome.exit_code == EXIT_CANNOT_RUN and len(outcome.results) + outcome.not_run == 12
    assert outcome.not_run >= 12 - 3 and "total budget of $0.10 reached" in (outcome.message or "")


def test_the_cache_is_shared_by_the_workers(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(FaultSchedule(lambda c, t, a: None))
    suite = write_suite(tmp_path, fake_openai.base_url, n_cases=8)
    db = tmp_path / "x.duckdb"
    first = run_suite(suite, db=db, options=RunOptions(concurrency=4, workers=2))
    sent = len(fake_openai.requests)
    again = run_suite(suite, db=db, options=RunOptions(concurrency=4, workers=2))
    assert sent == 16 and len(fake_openai.requests) == sent  # every reply came from the parent's cache
    assert again.call_stats.cache_hits == 16
    assert result_rows(db, again.run_id) == result_rows(db, first.run_id)


def _start(suite: Path, db: Path, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "COLUMNS": "200"}
    return subprocess.Popen(
        [sys.executable, "-m", "agentctl", "eval", "run", str(suite), "--db", str(db), "--no-report",
         "--concurrency", "4", "--workers", "2", "--no-cache", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=suite.parent)


def _wait_for_requests(fake: FakeOpenAI, n: int, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while len(fake.requests) < n:
        assert time.monotonic() < deadline, "the subprocess made too few model calls"
        time.sleep(0.02)


def _children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def _workers(pid: int) -> list[int]:
    """The worker processes of ``agentctl eval run`` (pid): forked by the one process it started
    for them (its other child commits the results: agentctl.store.committer)."""
    (zygote,) = [c for c in _children(pid) if "agentctl.workers.child" in _cmdline(c)]
    return _children(zygote)


def _stored(db: Path) -> tuple[tuple, list[tuple]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        status = con.execute("SELECT status, exit_code FROM eval_runs").fetchone()
    finally:
        con.close()
    return status, result_rows(db)


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_sigint_with_workers_keeps_finished_runs(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(FaultSchedule(lambda c, t, a: None, delay_s=0.1))
    suite = write_suite(tmp_path, fake_openai.base_url, n_cases=20)
    db = tmp_path / "x.duckdb"
    proc = _start(suite, db)
    _wait_for_requests(fake_openai, 12)
    workers = _workers(proc.pid)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    status, kept = _stored(db)
    assert status == ("interrupted", 130)
    assert 0 < len(kept) < 20 and all(r[4] for r in kept)  # finished runs kept, all correct
    assert workers and not any(Path(f"/proc/{w}").exists() and _alive(w) for w in workers)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_a_worker_crash_is_a_clear_error(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(FaultSchedule(lambda c, t, a: None, delay_s=0.1))
    suite = write_suite(tmp_path, fake_openai.base_url, n_cases=30)
    db = tmp_path / "x.duckdb"
    proc = _start(suite, db)
    _wait_for_requests(fake_openai, 10)
    workers = _workers(proc.pid)
    assert len(workers) == 2
    os.kill(workers[0], signal.SIGKILL)  # as the OOM killer would
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == EXIT_CANNOT_RUN, err
    assert "stopped in the middle of the run (killed by SIGKILL)" in err.replace("\n", " ")
    assert "Traceback" not in err
    status, kept = _stored(db)
    assert status == ("aborted", 3) and 0 < len(kept) < 30


def test_choose_workers(tmp_path: Path) -> None:
    from agentctl.config.loader import load_suite_and_dataset

    live_suite = write_suite(tmp_path / "live", "http://127.0.0.1:9/v1", n_cases=AUTO_MIN_LIVE_RUNS)
    suite, dataset, _ = load_suite_and_dataset(live_suite)
    plan = make_plan(suite, dataset, suite.candidates).runs
    from agentctl.workers.pool import WorkerPool

    both = min(cores(), 8)
    many = both if both >= 2 else 0
    started = WorkerPool(2, 8)  # as the command's head start hands it over (no process needed here)
    # 0: this process carries out the runs
    assert choose_workers(RunOptions(concurrency=8), plan[:-1]) == 0  # too few live runs to pay for workers
    assert choose_workers(RunOptions(concurrency=8), plan) == many
    # ... unless the workers were started first thing: then any live run goes to them, even one
    assert choose_workers(RunOptions(concurrency=8), plan[:5], started) == min(cores(), 5)
    assert choose_workers(RunOptions(concurrency=8), plan[:1], started) == 1
    assert choose_workers(RunOptions(concurrency=1), plan) == 0
    assert choose_workers(RunOptions(concurrency=1), plan, started) == 1
    assert choose_workers(RunOptions(concurrency=8, workers=3), plan) == 3
    assert choose_workers(RunOptions(concurrency=2, workers=3), plan) == 2  # each needs a run in flight
    assert choose_workers(RunOptions(workers=4), plan[:1]) == 0
    assert choose_workers(RunOptions(workers=4), plan[:1], started) == 1
    assert choose_workers(RunOptions(workers=1), plan, started) == 0  # --workers 1: this process, always
    replay = load_suite_and_dataset(Path("evalsuites/support-triage.yaml"))
    replay_plan = make_plan(replay[0], replay[1], replay[0].candidates).runs
    replay_plan *= -(-AUTO_MIN_LIVE_RUNS // len(replay_plan))  # as many runs as a big live plan
    assert len(replay_plan) >= AUTO_MIN_LIVE_RUNS and choose_workers(RunOptions(), replay_plan) == 0
    assert choose_workers(RunOptions(), replay_plan, started) == 0  # a replay-only plan stays here
    assert parse_workers("auto") == "auto" and parse_workers("2") == 2
    with pytest.raises(InputError, match="expected a number of worker processes or auto"):
        parse_workers("two")
    with pytest.raises(InputError, match="must be at least 1"):
        parse_workers("0")


def test_workers_started_early_are_stopped_when_the_plan_needs_fewer(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(FaultSchedule(lambda c, t, a: None))
    suite = write_suite(tmp_path, fake_openai.base_url, n_cases=1)
    one = run_suite(suite, db=tmp_path / "x.duckdb", options=RunOptions(concurrency=4, workers=4))
    # started (and importing litellm) before the plan was known: the one run goes to one of them
    assert one.status == "finished" and len(one.results) == 1
    assert "runs carried out by 1 worker process (--workers)" in one.notes
    suite = write_suite(tmp_path / "b", fake_openai.base_url, n_cases=4)
    three = run_suite(suite, db=tmp_path / "y.duckdb", options=RunOptions(concurrency=2, workers=3))
    assert WORKERS_NOTE in three.notes and len(three.results) == 4  # one run in flight per worker at most


def test_bad_input_with_workers_is_exit_2_and_records_nothing(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        run_suite(tmp_path / "missing.yaml", db=tmp_path / "x.duckdb", options=RunOptions(workers=2))
    assert not (tmp_path / "x.duckdb").exists()


def test_the_live_runs_a_suite_promises_are_estimated_before_its_dataset_is_read(tmp_path: Path) -> None:
    from agentctl.config.loader import load_suite_and_dataset, validate_suite
    from agentctl.workers import estimated_live_runs

    path = write_suite(tmp_path, "http://127.0.0.1:9/v1", n_cases=7)
    suite, dataset, _ = load_suite_and_dataset(path)
    folder = dataset.path
    assert estimated_live_runs(suite, folder, RunOptions()) == 7 * len(suite.candidates)
    assert estimated_live_runs(suite, folder, RunOptions(repeats=3, limit=5)) == 5 * 3 * len(suite.candidates)
    assert estimated_live_runs(suite, folder, RunOptions(shard="1/2")) == 4 * len(suite.candidates)
    replay = load_suite_and_dataset(Path("evalsuites/support-triage.yaml"))
    assert estimated_live_runs(replay[0], replay[1].path, RunOptions()) == 0  # replay only: no workers

    seen: list[tuple[str, Path]] = []

    def on_suite(parsed: object, dataset_dir: Path) -> None:
        seen.append((type(parsed).__name__, dataset_dir))
        with open(dataset_dir / "cases.jsonl", "a") as f:  # read after this call: its problem is reported
            f.write("{not json\n")

    check = validate_suite(path, on_suite)
    assert seen == [("Suite", folder)]
    assert any(p.line == 8 and "cases.jsonl" in str(p.path) for p in check.problems), check.problems


def test_auto_starts_the_workers_while_the_dataset_loads_and_kills_them_unused(tmp_path: Path) -> None:
    """``--workers auto`` and a dataset promising enough live runs: the worker processes are
    started as soon as the suite has parsed (importing litellm while the dataset loads); a
    pool the plan then does not use is killed, not waited for."""
    import asyncio

    from agentctl.config.loader import load_suite_and_dataset
    from agentctl.workers import EarlyWorkers

    big = write_suite(tmp_path / "big", "http://127.0.0.1:9/v1", n_cases=AUTO_MIN_LIVE_RUNS)
    small = write_suite(tmp_path / "small", "http://127.0.0.1:9/v1", n_cases=3)
    suites = {name: load_suite_and_dataset(p) for name, p in (("big", big), ("small", small))}

    async def started(name: str, options: RunOptions) -> tuple[object, int | None]:
        early = EarlyWorkers(options)
        suite, dataset, _ = suites[name]
        await asyncio.to_thread(early.consider, suite, dataset.path)  # the loader's thread
        pool = await early.pool()
        await early.aclose()
        zygote = getattr(pool, "_zygote", None)
        return pool, zygote.returncode if zygote is not None else None

    pool, code = asyncio.run(started("big", RunOptions(concurrency=8)))
    if cores() >= 2:
        assert pool is not None and pool.n == min(cores(), 8)  # type: ignore[attr-defined]
        assert code == -signal.SIGKILL  # still importing litellm: killed at once
    assert asyncio.run(started("small", RunOptions(concurrency=8))) == (None, None)
    assert asyncio.run(started("big", RunOptions(concurrency=1))) == (None, None)  # one run in flight: no workers


def test_auto_with_a_big_live_plan_runs_on_the_workers_started_early(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    if cores() < 2:
        pytest.skip("one core: auto keeps the runs in this process")
    from agentctl.outcome import SilentProgress

    def forking_children() -> list[int]:
        """This process's children running the workers' forking process."""
        found = []
        for entry in Path("/proc").iterdir():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                if ppid == os.getpid() and b"agentctl.workers.child" in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue
        return found

    class Phases(SilentProgress):
        at_planning: list[int] | None = None

        def phase(self, name: str | None) -> None:
            if name == "planning":
                self.at_planning = forking_children()

    fake_openai.script(FaultSchedule(lambda c, t, a: None))
    suite = write_suite(tmp_path, fake_openai.base_url, n_cases=AUTO_MIN_LIVE_RUNS)
    progress = Phases()
    outcome = run_suite(suite, db=tmp_path / "x.duckdb", options=RunOptions(concurrency=16), progress=progress)
    assert progress.at_planning is not None and len(progress.at_planning) == 1  # started before the plan
    assert outcome.status == "finished" and WORKERS_NOTE in outcome.notes
    assert len(outcome.results) == AUTO_MIN_LIVE_RUNS * len(outcome.suite.candidates)


GC_PROBE_ENVIRONMENT = '''\
import gc, os


class Environment:
    def __init__(self, case, state):
        self.state = state

    def snapshot(self):
        return self.state

    def call(self, tool, args):
        # what the worker process carrying out this run sees of its garbage collector
        return {"pid": os.getpid(), "thresholds": list(gc.get_threshold()), "frozen": gc.get_freeze_count()}
'''


def test_workers_scan_only_their_own_objects(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    """The forking process freezes what it imported (litellm's heap) and sets the command's
    collector thresholds before it forks: each worker's collector passes are over its own
    objects, not over litellm's modules again and again (a tenth of a worker's CPU)."""
    import json

    from agentctl.core.collector import GC_THRESHOLDS
    from env_support import live, rows, write_env_suite
    from support.fake_openai import text, tool_calls, turns

    fake_openai.script(turns(tool_calls(("get_account", {"account_id": "acc_1"})), text("Done.")))
    cases = [{"id": f"c{i}", "input": f"Look at acc_1 ({i}).", "expected": {"status": "completed"}} for i in range(8)]
    suite = write_env_suite(tmp_path, cases, [live("live", fake_openai.base_url)], environment_py=GC_PROBE_ENVIRONMENT)
    db = tmp_path / "store.duckdb"
    outcome = run_suite(suite, db=db, options=RunOptions(concurrency=4, workers=2, no_cache=True))
    assert outcome.status == "finished" and WORKERS_NOTE in outcome.notes
    seen = [json.loads(r["output"]) for r in rows(db, "SELECT output FROM steps WHERE kind='tool'")]
    assert len(seen) == 8
    assert len({s["pid"] for s in seen}) == 2 and os.getpid() not in {s["pid"] for s in seen}
    assert all(s["thresholds"] == list(GC_THRESHOLDS) for s in seen)
    assert all(s["frozen"] > 100_000 for s in seen)  # litellm and the SDK's types: several hundred thousand
