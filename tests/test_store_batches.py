"""Big commits go in column by column: every value of a batch arrives, whatever its neighbours hold."""

from __future__ import annotations

from pathlib import Path

from agentctl.core.results import RunResult, ScoreResult
from agentctl.core.trajectory import Step, Trajectory
from agentctl.store.store import Store


def _result(i: int, reasons: list[str], failure: str | None, scored: bool) -> tuple[RunResult, Trajectory]:
    r = RunResult(run_id="ev-batch", case_id=f"C-{i:05d}", candidate="cand", repeat=1, status="completed",
                  correct=not reasons, escaped_error=bool(reasons), critical_error=False, infra_error=False,
                  policy_violations=0, cost_usd=0.001 * i, latency_s=0.5, steps=1, tool_calls=1,
                  reasons=reasons, failure_reason=failure, tags=["t"] if i % 2 else [],
                  scores={"s": ScoreResult("s", 0.5, True, reason="ok" if scored else None)})
    t = Trajectory(r.case_id, r.candidate, 1, model="replay:x")
    t.steps.append(Step(index=0, kind="tool", tool="get_ticket", args={"id": i}, output="{}",
                        policy_notes=["cedar: note"] if i == 2345 else []))
    return r, t


def test_a_lone_value_among_empty_ones_is_stored(tmp_path: Path) -> None:
    """DuckDB types a registered column from a sample: one reason (or note) among thousands of
    empty lists, away from the first rows, must still be written, not fail the whole commit."""
    n, odd = 3000, 2345
    store = Store(tmp_path / "r.duckdb")
    store.begin_run({"run_id": "ev-batch", "suite": "s", "planned_runs": n})
    store.write_results([_result(i, ["update_ticket: wrong"] if i == odd else [], "x" if i == odd else None,
                                 i == odd) for i in range(n)])
    results = {r.case_id: r for r in store.load_results("ev-batch")}
    assert len(results) == n
    assert results[f"C-{odd:05d}"].reasons == ["update_ticket: wrong"]
    assert results[f"C-{odd:05d}"].failure_reason == "x"
    assert results["C-00001"].reasons == [] and results["C-00001"].tags == ["t"]
    assert results[f"C-{odd:05d}"].scores["s"].reason == "ok"
    notes = store.con.execute("SELECT case_id, policy_notes FROM steps WHERE policy_notes IS NOT NULL "
                              "AND len(policy_notes) > 0").fetchall()
    assert notes == [(f"C-{odd:05d}", ["cedar: note"])]
    store.close()


def test_a_failing_store_mid_replay_ends_the_run_instead_of_hanging(tmp_path: Path) -> None:
    """Finished runs wait in a bounded queue for the writer: when a commit fails, the runs
    still finishing must not wait forever on the full queue; the run ends with the store error."""
    import sys
    import threading

    from agentctl.core.errors import RunError
    from agentctl.outcome import RunOptions
    from agentctl.runner import run_suite

    sys.path.insert(0, str(Path(__file__).parent / "bench"))
    from gen_data import write_replay  # the bench's synthetic replay: many runs, quickly

    suite = write_replay(tmp_path / "data", 12_000)

    class FullDisk(Store):
        def write_rows(self, batch):  # type: ignore[no-untyped-def]
            raise OSError(28, "No space left on device")

    store = FullDisk(tmp_path / "r.duckdb")
    outcome: list[BaseException | object] = []

    def go() -> None:
        try:
            outcome.append(run_suite(suite, db=store, options=RunOptions(concurrency=64)))
        except BaseException as exc:  # noqa: BLE001 - the test inspects it
            outcome.append(exc)

    worker = threading.Thread(target=go, daemon=True)
    worker.start()
    worker.join(timeout=240)
    assert not worker.is_alive(), "the run hung on a full queue after the store failed"
    (result,) = outcome
    assert isinstance(result, RunError), result
    assert "No space left" in str(result)
    assert store.con.execute("SELECT count(*) FROM results").fetchone() == (0,)


def test_the_end_of_a_run_does_not_wait_out_the_commit_interval(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Finished runs are gathered for up to COMMIT_EVERY_S before a commit; when the last run
    finishes, the writer commits at once (it used to sleep out the interval: up to a second
    at the end of every evaluation). With an interval of an hour, the run must still end."""
    import sys
    import threading
    import time

    from agentctl import dispatch
    from agentctl.outcome import RunOptions
    from agentctl.runner import run_suite

    sys.path.insert(0, str(Path(__file__).parent / "bench"))
    from gen_data import write_replay

    monkeypatch.setattr(dispatch, "COMMIT_EVERY_S", 3600.0)
    suite = write_replay(tmp_path / "data", 400)
    store = Store(tmp_path / "r.duckdb")
    commits: list[int] = []
    write = store.write_rows

    def counted(batch):  # type: ignore[no-untyped-def]
        commits.append(len(batch))
        write(batch)
        if len(commits) == 1:
            # The rest of the runs finish, and the end is signalled, while this commit is busy:
            # the writer must still not sleep on the runs queued ahead of the end marker.
            time.sleep(1.0)

    store.write_rows = counted  # type: ignore[method-assign]
    outcome: list[object] = []
    worker = threading.Thread(target=lambda: outcome.append(run_suite(suite, db=store, options=RunOptions())),
                              daemon=True)
    worker.start()
    worker.join(timeout=120)
    assert not worker.is_alive(), "the writer slept out the commit interval after the last run"
    assert sum(commits) == 400 and len(commits) >= 2, commits  # the first run at once, the rest at the end
    assert store.con.execute("SELECT count(*) FROM results").fetchone() == (400,)
