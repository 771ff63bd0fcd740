"""The library face: run_suite_async with run_suite as its wrapper, one store handle, a Suite
object checked like a suite file, and nothing written before a run can start (issue 10)."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import duckdb
import pytest

import agentctl
from agentctl import RunOptions, Store, run_suite, run_suite_async
from agentctl.config.loader import load_suite
from agentctl.core import plugins
from agentctl.core.errors import ValidationFailed

ROOT = Path(__file__).parent.parent
DEMO = ROOT / "evalsuites" / "support-triage.yaml"
SMALL = RunOptions(limit=2, candidates=["prod"])


def statuses(db: Path) -> list[str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return [row[0] for row in con.execute("SELECT status FROM eval_runs").fetchall()]
    finally:
        con.close()


def test_run_suite_inside_a_running_event_loop_finishes_the_run(tmp_path: Path) -> None:
    db = tmp_path / "store.duckdb"

    async def notebook_cell() -> agentctl.EvalOutcome:
        return run_suite(DEMO, db=db, options=SMALL)  # a sync call where a loop is running

    outcome = asyncio.run(notebook_cell())
    assert outcome.status == "finished" and len(outcome.results) == 2
    assert statuses(db) == ["finished"]  # never left 'running'


def test_run_suite_async_on_the_callers_loop_with_a_store_handle(tmp_path: Path) -> None:
    db = tmp_path / "store.duckdb"

    async def service() -> agentctl.EvalOutcome:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, lambda: None)  # the service's own shutdown handler
        try:
            with Store(db) as store:
                outcome = await run_suite_async(DEMO, db=store, options=SMALL)
                assert store.get_run(outcome.run_id)["status"] == "finished"  # type: ignore[index]
            # agentctl left the caller's signal handling alone (it used to remove it)
            assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
            return outcome
        finally:
            loop.remove_signal_handler(signal.SIGTERM)

    outcome = asyncio.run(service())
    assert [r.case_id for r in outcome.results] == sorted(r.case_id for r in outcome.results)
    assert agentctl.gate_stored_run(db, outcome.run_id).exit_code == outcome.exit_code


def test_a_suite_object_with_an_unknown_baseline_is_an_error_like_in_a_file(tmp_path: Path) -> None:
    suite = load_suite(DEMO).model_copy(update={"baseline": "prdo"})
    db = tmp_path / "store.duckdb"
    with pytest.raises(ValidationFailed) as raised:
        run_suite(suite, db=db, options=SMALL)
    (problem,) = [p for p in raised.value.problems if p.severity == "error"]
    assert problem.key == "baseline"
    assert problem.message == "unknown candidate 'prdo' (did you mean 'prod'?)"
    assert not db.exists()  # nothing written, not even an empty store


def test_a_provider_that_cannot_start_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site"
    info = site / "brokenprov-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: brokenprov\nVersion: 0.1\n", encoding="utf-8")
    (info / "entry_points.txt").write_text("[agentctl.providers]\nbroken = no_such_provider_mod:factory\n",
                                           encoding="utf-8")
    monkeypatch.syspath_prepend(str(site))
    plugins.refresh()
    try:
        suite = load_suite(DEMO)
        suite.candidates[1].model = "broken:v1"
        db = tmp_path / "store.duckdb"
        with pytest.raises(plugins.PluginError, match="plugin 'broken' \\(agentctl.providers\\) failed to load"):
            run_suite(suite, db=db, options=RunOptions(limit=1))
        assert statuses(db) == []  # the store was opened, but no run was recorded
    finally:
        monkeypatch.undo()
        plugins.refresh()


def test_version_is_written_once() -> None:
    from importlib.metadata import version

    from agentctl.core.version import __version__

    assert agentctl.__version__ is __version__ and version("agentctl") == __version__
    assert set(agentctl.__all__) >= {"run_suite", "run_suite_async", "Store", "Suite", "check_suite"}


def test_library_errors_speak_of_arguments_and_the_cli_maps_them_to_flags() -> None:
    from agentctl.commands._common import as_flag
    from agentctl.core.errors import InputError
    from agentctl.core.results import RunResult
    from agentctl.metrics.compare import compare_candidates

    run = RunResult("r", "c1", "base", 1, "completed", True, False, False, False, 0, 0.0, 1.0, 1, 1)
    with pytest.raises(InputError) as raised:
        compare_candidates([run], "base", "nope")
    assert raised.value.problem.key == "candidate" and "--" not in str(raised.value)
    assert str(as_flag(raised.value.problem)) == "--candidate: no results for candidate 'nope' (candidates: base)"
