"""While a run holds the store released, its commits are made by a process of their own
(agentctl.store.committer): the same rows as a commit in this process, its errors raised
here, its death a clear error, and never outliving the run."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from agentctl.core.results import RunResult, ScoreResult
from agentctl.core.trajectory import Step, ToolCall, Trajectory
from agentctl.store.committer import CommitterGone
from agentctl.store.rows import RunRows, run_rows
from agentctl.store.store import Store


def _runs(n: int, run_id: str = "ev-commit") -> list[tuple[RunResult, Trajectory]]:
    out = []
    for i in range(n):
        r = RunResult(run_id=run_id, case_id=f"C-{i:05d}", candidate="cand", repeat=1, status="completed",
                      correct=i % 3 != 0, escaped_error=i % 3 == 0, critical_error=False, infra_error=False,
                      policy_violations=0, cost_usd=0.001 * i, latency_s=float("inf") if i == 7 else 0.5,
                      steps=2, tool_calls=1, reasons=["update_ticket: wrong"] if i % 3 == 0 else [],
                      failure_reason=None, tags=["t", "é"] if i % 2 else [], state_diff={"k": [i, None]},
                      scores={"s": ScoreResult("s", 0.25 * (i % 4), i % 4 > 1, reason=None if i % 5 else "why")})
        t = Trajectory(r.case_id, r.candidate, 1, model="replay:x")
        t.steps.append(Step(index=0, kind="model", content="calling", prompt_tokens=3, completion_tokens=4,
                            cost_usd=0.0001, latency_s=0.01, tool_calls=[ToolCall("c1", "get_ticket", f'{{"id": {i}}}', {"id": i})]))
        t.steps.append(Step(index=1, kind="tool", tool="get_ticket", args={"id": i}, output='{"ok": true}',
                            policy_notes=["cedar: note"] if i == 11 else []))
        out.append((r, t))
    return out


def _rows(n: int, run_id: str = "ev-commit") -> list[RunRows]:
    return [run_rows(r, t) for r, t in _runs(n, run_id)]


def _tables(path: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {t: con.execute(f"SELECT * EXCLUDE (finished_at) FROM {t} ORDER BY ALL").fetchall()
                if t == "results" else con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
                for t in ("results", "steps", "scores")}
    finally:
        con.close()


def _offloaded(store: Store) -> None:
    """Assert that a committing process serves ``store`` (inside ``released(offload=True)``)."""
    committer = store._committer
    assert committer is not None and committer.proc.poll() is None
    assert committer.proc.pid != os.getpid()


def test_commits_by_the_committing_process_equal_commits_made_here(tmp_path: Path) -> None:
    here, there = tmp_path / "here.duckdb", tmp_path / "there.duckdb"
    rows = _rows(300)  # columnar (>= 64 rows) and bound parameters (the last, small batch)
    with Store(here) as store:
        store.begin_run({"run_id": "ev-commit", "suite": "s", "planned_runs": 300})
        store.write_rows(rows[:250])
        store.write_rows(rows[250:])

    async def offloaded(store: Store) -> None:
        await store.write_rows_async(rows[:250])
        await store.write_rows_async(rows[250:])
        await store.write_rows_async(rows[250:])  # again: replaced, not duplicated

    with Store(there) as store:
        store.begin_run({"run_id": "ev-commit", "suite": "s", "planned_runs": 300})
        store.start_committer()
        with store.released(offload=True):
            _offloaded(store)
            asyncio.run(offloaded(store))
            store.write_rows(rows[:5])  # the blocking path too
        assert store._committer is None
        assert len(store.load_results("ev-commit")) == 300
    got, want = _tables(there), _tables(here)
    assert len(want["steps"]) == 600 and len(want["scores"]) == 300
    assert got == want


def test_a_failed_commit_is_raised_here_and_the_next_one_still_commits(tmp_path: Path) -> None:
    rows = _rows(100)
    bad = [RunRows(r.key, {**r.result, "no_such_column": 1}, r.steps, r.scores) for r in rows[:70]]
    with Store(tmp_path / "r.duckdb") as store:
        store.begin_run({"run_id": "ev-commit", "suite": "s", "planned_runs": 100})
        with store.released(offload=True):
            with pytest.raises(duckdb.Error, match="no_such_column"):
                store.write_rows(bad)
            store.write_rows(rows)
        # The failed batch was rolled back whole: no steps or scores of it were left behind.
        assert store.con.execute("SELECT count(*) FROM steps").fetchone() == (200,)
        assert len(store.load_results("ev-commit")) == 100


def test_a_dead_committer_is_a_clear_error(tmp_path: Path) -> None:
    with Store(tmp_path / "r.duckdb") as store:
        store.begin_run({"run_id": "ev-commit", "suite": "s", "planned_runs": 10})
        with store.released(offload=True):
            assert store._committer is not None
            store._committer.proc.kill()
            store._committer.proc.wait()
            with pytest.raises(CommitterGone, match="process committing results to .*r.duckdb exited"):
                asyncio.run(store.write_rows_async(_rows(10)))
        assert isinstance(CommitterGone("x"), OSError)  # so eval run says: store could not be written, exit 3


def test_a_run_whose_committer_dies_exits_3_and_says_why(tmp_path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).parent / "bench"))
    from gen_data import write_replay  # the bench's synthetic replay

    suite = write_replay(tmp_path / "data", 40_000)
    db = tmp_path / "r.duckdb"
    env = {**os.environ, "NO_COLOR": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "agentctl", "eval", "run", str(suite), "--db", str(db),
                             "--no-report"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        committer = _wait_for_committer(proc.pid)
        _wait_for_rows(db)  # a commit landed: the runs are under way
        os.kill(committer, signal.SIGKILL)
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 3, (out, err)
    assert "could not be written" in err and "exited" in err, err
    assert "Traceback" not in err


def test_the_committer_does_not_outlive_a_killed_run(tmp_path: Path) -> None:
    script = (
        "import sys, time\n"
        "from agentctl.store.store import Store\n"
        "s = Store(sys.argv[1]); s.start_committer()\n"
        "print(s._spare.proc.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "r.duckdb")], stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout is not None
        child = int(proc.stdout.readline())
        assert _alive(child)
    finally:
        proc.kill()
        proc.wait()
    deadline = time.monotonic() + 60  # bounded wait, not a timing assertion
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child), "the committing process outlived the run that started it"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def _wait_for_committer(pid: int) -> int:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for c in _children(pid):
            try:
                if b"agentctl.store.committer" in Path(f"/proc/{c}/cmdline").read_bytes():
                    return c
            except FileNotFoundError:
                pass
        time.sleep(0.01)
    raise AssertionError("no committing process started")


def _wait_for_rows(db: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            con = duckdb.connect(str(db), read_only=True)
        except duckdb.Error:  # being written: try again
            time.sleep(0.01)
            continue
        try:
            if con.execute("SELECT count(*) FROM results").fetchone()[0]:  # type: ignore[index]
                return
        except duckdb.Error:
            pass
        finally:
            con.close()
        time.sleep(0.01)
    raise AssertionError("no results were committed")


pytestmark = pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
