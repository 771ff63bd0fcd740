"""A big run's JSON and JUnit reports are written by a second process (agentctl.reports.apart)
while eval run writes the page: the same files one process writes, and when that process
cannot, this one writes them."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import agentctl.reports as reports
from agentctl import _console
from agentctl.main import app
from agentctl.reports import apart
from agentctl.reports.apart import ReportHelper

sys.path.insert(0, str(Path(__file__).resolve().parent / "bench"))
from gen_data import write_replay  # noqa: E402

FILES = ("html", "md", "json", "junit")


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A stored 60-run replay (a gate fails: exit 1), written by eval run without a helper."""
    tmp = tmp_path_factory.mktemp("apart")
    suite = write_replay(tmp / "replay", 60)
    db = tmp / "store.duckdb"
    result = CliRunner().invoke(app, ["eval", "run", str(suite), "--db", str(db), "--no-report"])
    assert result.exit_code == 1, result.output
    return db, _run_id(db)


def _run_id(db: Path) -> str:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        return str(con.execute("SELECT run_id FROM eval_runs").fetchone()[0])
    finally:
        con.close()


def _files(folder: Path, junit: Path) -> dict[str, str]:
    found = {p.suffix.lstrip("."): p.read_text(encoding="utf-8") for p in folder.iterdir() if p.is_file()}
    found["junit"] = junit.read_text(encoding="utf-8")
    return found


def _rendered_here(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The formats this process renders from now on."""
    seen: list[str] = []
    for fmt, (ext, fn) in list(reports.FORMATS.items()):
        def spy(data: Any, _fn: Callable[[Any], str] = fn, _fmt: str = fmt) -> str:
            seen.append(_fmt)
            return _fn(data)
        monkeypatch.setitem(reports.FORMATS, fmt, (ext, spy))
    return seen


def test_the_helper_writes_json_and_junit_and_the_files_are_those_of_one_process(
        stored: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db, run_id = stored
    alone = reports.write_reports(db, run_id, report_dir=tmp_path / "alone", junit_path=tmp_path / "alone.xml")
    assert sorted(alone) == sorted(FILES)
    here = _rendered_here(monkeypatch)
    helper = ReportHelper()
    try:
        paths = reports.write_reports(db, run_id, report_dir=tmp_path / "two", junit_path=tmp_path / "two.xml",
                                      helper=helper)
    finally:
        helper.close()
    assert helper.proc.returncode == 0
    assert sorted(here) == ["html", "md"]  # the JSON and JUnit files came from the helper
    assert list(paths) == ["html", "md", "json", "junit"] and all(p.is_file() for p in paths.values())
    assert _files(tmp_path / "two", tmp_path / "two.xml") == _files(tmp_path / "alone", tmp_path / "alone.xml")


def test_a_helper_that_is_gone_leaves_its_share_to_this_process(
        stored: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db, run_id = stored
    helper = ReportHelper()
    helper.proc.kill()
    helper.proc.wait()
    here = _rendered_here(monkeypatch)
    reports.write_reports(db, run_id, report_dir=tmp_path / "r", junit_path=tmp_path / "j.xml", helper=helper)
    helper.close()
    assert sorted(here) == sorted(FILES)
    assert json.loads(next((tmp_path / "r").glob("*.json")).read_text())["run"]["run_id"] == run_id


def test_a_failed_order_is_answered_as_failed_and_written_here(
        stored: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db, run_id = stored
    helper = ReportHelper()
    assert helper.order(db, "ev-no-such-run", ["json"], tmp_path, None) == ["json"]
    assert helper.order(db, run_id, ["junit"], tmp_path, tmp_path / "j.xml") == ["json"]  # one order only
    assert helper.finish(timeout_s=60) is False  # it answered, with the error
    assert helper.proc.returncode == 1 and not list(tmp_path.iterdir())
    # write_reports gives its own helper's failure to this process: here, a helper that hangs
    slow = ReportHelper()
    # told nothing, it waits for an order that never comes
    monkeypatch.setattr(slow, "order", lambda db, run_id, formats, *rest: formats)
    here = _rendered_here(monkeypatch)
    started = time.perf_counter()
    monkeypatch.setattr(reports, "_HELPER_GRACE_S", 0.5)
    reports.write_reports(db, run_id, report_dir=tmp_path / "r", helper=slow)
    assert time.perf_counter() - started < 30
    assert slow.proc.poll() is not None  # stopped, not left behind
    assert sorted(here) == ["html", "json", "md"]


def test_the_helper_exits_when_its_input_ends_without_an_order() -> None:
    helper = ReportHelper()
    assert helper.proc.stdin is not None
    helper.proc.stdin.close()
    assert helper.proc.wait(60) == 0


def test_eval_run_of_a_big_plan_hands_its_json_and_junit_to_the_helper(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    suite = write_replay(tmp_path / "replay", 40)
    monkeypatch.setattr(apart, "MIN_RUNS", 40)
    started: list[ReportHelper] = []
    finished: list[bool] = []
    real_init, real_finish = ReportHelper.__init__, ReportHelper.finish

    def init(self: ReportHelper) -> None:
        real_init(self)
        started.append(self)

    def finish(self: ReportHelper, timeout_s: float) -> bool:
        finished.append(real_finish(self, timeout_s))
        return finished[-1]

    monkeypatch.setattr(ReportHelper, "__init__", init)
    monkeypatch.setattr(ReportHelper, "finish", finish)
    here = _rendered_here(monkeypatch)
    ordered_first: list[Any] = []  # the helper's order as the outcome is printed: it reads the run meanwhile
    real_print = _console.print_outcome

    def print_outcome(outcome: Any) -> None:
        ordered_first.append(started[0].taken)
        real_print(outcome)

    monkeypatch.setattr(_console, "print_outcome", print_outcome)
    result = CliRunner().invoke(app, ["eval", "run", str(suite), "--db", str(tmp_path / "s.duckdb"),
                                      "--report-dir", str(tmp_path / "r"), "--junit", str(tmp_path / "j.xml")])
    assert result.exit_code == 1, result.output
    assert len(started) == 1 and finished == [True] and sorted(here) == ["html", "md"]
    assert ordered_first == [["json", "junit"]]
    assert started[0].proc.poll() is not None
    assert "junit report:" in result.output and (tmp_path / "j.xml").read_text().startswith("<?xml")
    # below the threshold, no helper
    monkeypatch.setattr(apart, "MIN_RUNS", 41)
    result = CliRunner().invoke(app, ["eval", "run", str(suite), "--db", str(tmp_path / "s.duckdb"),
                                      "--report-dir", str(tmp_path / "r")])
    assert result.exit_code == 1 and len(started) == 1
