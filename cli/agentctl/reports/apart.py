"""A big run's JSON and JUnit reports, written by a second process while this one writes the page.

Rendering a report is Python work over every result, on one core: at 10,000 runs the HTML
page takes 0.55 s and the JSON and JUnit files 0.55 s more; at 100,000 runs, 2.5 s and 3 s.
By the time the reports are written the other core has nothing to do. ``eval run`` starts
``python -m agentctl.reports.apart`` once the plan says the run is big (it imports the report
code while the runs go). When the run is stored, :func:`agentctl.reports.write_reports` tells
it which run, which formats and where: it reads the run from the store itself (read-only, as
``eval report`` does), writes each file whole or not at all, and answers.

If it cannot (it exited, failed, or did not answer in time), this process writes those
formats itself: the files, and any error the user sees, are what one process would give.
It ignores Ctrl-C and exits when its input ends, so it never outlives ``eval run``.

    python -m agentctl.reports.apart    (one order on stdin, one JSON line; one answer on stdout)
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from agentctl.core.children import child_env, wait_exit

MIN_RUNS = 5_000
"""Runs from which ``eval run`` starts the helper: below, the reports take a few tenths of a
second and the helper's start-up (a quarter of a second of the other core) buys little."""

APART = ("json", "junit")
"""The formats the helper writes; this process writes the others (the HTML page, Markdown)."""


class ReportHelper:
    """The parent's end: :meth:`order` hands the helper its reports, :meth:`finish` waits for them."""

    def __init__(self) -> None:
        # Its own process group: Ctrl-C in a terminal reaches eval run only, which decides.
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "agentctl.reports.apart"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, env=child_env(), process_group=0,
        )
        self.taken: list[str] | None = None
        """The formats of its order, once ordered."""

    def order(self, db: Path, run_id: str, formats: list[str], report_dir: Path, junit_path: Path | None) -> list[str]:
        """Have it write ``formats`` (of :data:`APART`; ``junit`` to ``junit_path``, the others
        into ``report_dir``) of ``run_id`` in ``db``. Returns the formats it took: none when it
        is gone; those of the first order when ordered again (it takes one order)."""
        if self.taken is not None:
            return self.taken
        assert self.proc.stdin is not None
        self.taken = []
        order = {"db": str(db), "run_id": run_id, "formats": formats, "report_dir": str(report_dir),
                 "junit": None if junit_path is None else str(junit_path)}
        try:
            self.proc.stdin.write(json.dumps(order).encode("utf-8") + b"\n")
            self.proc.stdin.close()
        except OSError:
            return self.taken
        self.taken = list(formats)
        return self.taken

    def finish(self, timeout_s: float) -> bool:
        """True once it has written every file it was given; False if it failed, exited or took
        longer than ``timeout_s`` (it is stopped then)."""
        assert self.proc.stdout is not None
        try:
            wait_exit(self.proc, timeout_s)  # its answer is one short line: it never fills the pipe
            answer = json.loads(self.proc.stdout.read() or b"{}")
        except subprocess.TimeoutExpired:
            self.close()
            return False
        except (OSError, ValueError):
            return False
        return self.proc.returncode == 0 and isinstance(answer, dict) and answer.get("ok") is True

    def close(self) -> None:
        """Stop it, whatever it is doing (a no-op once it has exited)."""
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        if self.proc.poll() is None:
            with contextlib.suppress(OSError):
                self.proc.kill()
            self.proc.wait()


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    from agentctl.core.collector import collector_paused
    from agentctl.reports import DETAILED_FORMATS, load_report_data, render, report_filename, write_text
    from agentctl.store.store import Store

    line = sys.stdin.buffer.readline()
    if not line.strip():
        return  # no order: eval run stopped before its reports
    started = time.perf_counter()
    try:
        order = json.loads(line)
        with collector_paused():  # as in eval run: objects that reference counting frees
            with Store(Path(order["db"]), read_only=True) as store:
                store.con.execute("SET threads TO 1")
                data = load_report_data(store, order["run_id"],
                                        details=bool(DETAILED_FORMATS & set(order["formats"])))
            for fmt in order["formats"]:
                folder = Path(order["report_dir"])
                path = Path(order["junit"]) if fmt == "junit" else folder / report_filename(data, fmt)
                write_text(path, render(data, fmt))
        answer: dict[str, object] = {"ok": True, "seconds": round(time.perf_counter() - started, 3)}
    except Exception as exc:  # this process writes them then, and says what went wrong
        answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()
    os._exit(0 if answer["ok"] else 1)


if __name__ == "__main__":
    main()
