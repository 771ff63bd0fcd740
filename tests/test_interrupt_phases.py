"""Ctrl-C (or SIGTERM) in every phase of ``eval run`` ends it with exit 130, saying what is kept.

While the suite and dataset are still being read it is answered at once.

Loading runs off the event loop; in the default executor's thread it was joined as the loop
closed, so an interrupted command waited for the whole dataset to be read (4-7 s into a
100,000-run dataset). Here the dataset's environment.py blocks as it is imported (which the
checks do): the command must still end with exit 130, saying so, and store nothing. After
the runs (metrics, reports), the message says that every run is stored and what to run next.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "bench"))
from gen_data import write_replay  # noqa: E402

_BLOCKING_ENVIRONMENT = """\
import pathlib
import time

pathlib.Path(__file__).with_name("importing").touch()
time.sleep(600)


class Environment:
    def __init__(self, case, state):
        self.state = state

    def call(self, tool, args):
        raise NotImplementedError

    def snapshot(self):
        return dict(self.state)
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupt_while_loading_ends_the_command(tmp_path: Path, sig: signal.Signals) -> None:
    suite = write_replay(tmp_path / "r", 20)
    data = suite.parent / "data"
    (data / "environment.py").write_text(_BLOCKING_ENVIRONMENT)
    db = tmp_path / "r.duckdb"
    env = {**os.environ, "NO_COLOR": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentctl", "eval", "run", str(suite), "--db", str(db), "--no-report"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # a shell may start us ignoring it
    try:
        deadline = time.monotonic() + 120
        while not (data / "importing").exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the environment was never imported"
            time.sleep(0.05)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)  # without the fix: the 600 s import, then the run
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert "interrupted" in err
    assert "Traceback" not in err


def _interrupt(*_args: object, **_kwargs: object) -> None:
    raise KeyboardInterrupt


def test_an_interrupt_while_computing_metrics_says_every_run_is_stored(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from agentctl import runner
    from agentctl.store.store import Store
    from support.cli import invoke

    suite, db = write_replay(tmp_path / "r", 20), tmp_path / "r.duckdb"
    monkeypatch.setattr(runner, "finalize", _interrupt)
    code, out = invoke("eval", "run", str(suite), "--db", str(db), "--no-report")
    assert code == 130, out
    with Store(db, read_only=True) as store:
        (row,) = store.list_runs()
    assert row["status"] == "interrupted" and row["runs"] == 20
    said = " ".join(out.split())
    assert f"every run is stored: agentctl eval gate {row['run_id']} --store --db {db}" in said, out


def test_an_interrupt_while_writing_reports_says_how_to_write_them(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from agentctl.commands import eval as eval_command
    from agentctl.store.store import Store
    from support.cli import invoke

    suite, db = write_replay(tmp_path / "r", 20), tmp_path / "r.duckdb"
    monkeypatch.setattr(eval_command, "_write_reports", _interrupt)
    code, out = invoke("eval", "run", str(suite), "--db", str(db), "--report-dir", str(tmp_path / "rep"))
    assert code == 130, out
    with Store(db, read_only=True) as store:
        (row,) = store.list_runs()
    said = " ".join(out.split())
    assert f"the run is stored: agentctl eval report {row['run_id']} --db {db}" in said, out
