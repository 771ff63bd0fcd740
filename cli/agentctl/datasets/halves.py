"""The second half of a big runs.jsonl, read and checked by a second process while this one
reads the first.

Reading a recording is Python work: parsing its line, checking its numbers and tool calls.
At 100,000 runs that was 4 s of a replay's load, on one core, with the other idle.
:func:`agentctl.datasets.loader.read_dataset` starts ``python -m agentctl.datasets.halves``
when runs.jsonl is big (:data:`MIN_BYTES`). The helper imports what it needs while tools.yaml
and cases.jsonl are read. It is then handed the second half's bytes, the case ids and the
tool catalog, and reads those lines with the same code (``read_recordings``). It answers
with each good run's ids and numbers (the lines' bytes stay here), and with the problems
found, in line order.

If it cannot (it exited, failed, or did not answer in time), this process reads the second
half itself: the dataset and its problems are what one process reads. The helper ignores
Ctrl-C and exits when its input ends.

    python -m agentctl.datasets.halves    (one order on stdin, one answer on stdout: frames)
"""

from __future__ import annotations

import contextlib
import select
import signal
import subprocess
import sys
import threading
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentctl.core.children import child_env, read_frame, write_frame

if TYPE_CHECKING:
    from agentctl.core.errors import Problem
    from agentctl.datasets.models import ToolCatalog

MIN_BYTES = 8 << 20
"""runs.jsonl size from which it is read in halves: about 7,000 recordings of two tool calls.
Below, its reading takes under a third of a second and the helper's start-up (a fifth of a
second of the other core) buys little."""

GRACE_S = 30.0
"""Seconds the helper may take beyond three times this process's time for the first half."""


class HalfReader:
    """This process's end: :meth:`order` hands over the second half, :meth:`answer` waits for it."""

    @classmethod
    def start_for(cls, runs_path: Path) -> HalfReader | None:
        """A helper for ``runs_path`` when it is big enough to be worth one, else None."""
        try:
            if not runs_path.is_file() or runs_path.stat().st_size < MIN_BYTES:
                return None
            return cls()
        except OSError:  # no second process, then: all of it is read here
            return None

    def __init__(self) -> None:
        # Its own process group: Ctrl-C in a terminal reaches this process only, which decides.
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "agentctl.datasets.halves"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, env=child_env(), process_group=0,
        )
        self._sender: threading.Thread | None = None

    def order(self, path: Path, first_line: int, chunks: list[bytes], case_ids: Collection[str],
              catalog: ToolCatalog | None) -> None:
        """Have it read ``chunks`` (the lines of ``path`` from ``first_line`` on). Sent by a
        thread: the pipe takes the bytes as fast as the helper reads them, and this process
        reads its own half meanwhile."""
        order = (str(path), first_line, b"\n".join(chunks), list(case_ids), catalog)
        stdin = self.proc.stdin
        assert stdin is not None

        def send() -> None:
            with contextlib.suppress(OSError, ValueError):  # it is gone: answer() says so
                write_frame(stdin, order)
                stdin.close()

        self._sender = threading.Thread(target=send, name="agentctl-halves", daemon=True)
        self._sender.start()

    def answer(self, own_s: float) -> tuple[list[tuple[Any, ...]], list[Problem], list[Problem]] | None:
        """(each good run's :meth:`Recording.fields`, the problems, the checks' problems) of
        the second half; None if it failed or exited, or took :data:`GRACE_S` more than three
        times ``own_s`` (what this process took for the first half)."""
        stdout = self.proc.stdout
        assert stdout is not None
        try:
            ready, _, _ = select.select([stdout], [], [], GRACE_S + 3 * own_s)
            got = read_frame(stdout) if ready else None
        except Exception:  # a broken answer is no answer
            return None
        if not (isinstance(got, tuple) and len(got) == 3):
            return None
        return got

    def close(self) -> None:
        """Stop it, whatever it is doing (a no-op once it has exited)."""
        if self.proc.poll() is None:
            with contextlib.suppress(OSError):
                self.proc.kill()
        self.proc.wait()
        if self._sender is not None:
            self._sender.join()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import gc

    from agentctl.core.collector import GC_THRESHOLDS
    from agentctl.datasets.loader import jsonl_records, read_recordings

    gc.set_threshold(*GC_THRESHOLDS)  # as eval run's
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    order = read_frame(stdin)
    if order is None:
        return  # no order: the dataset's reading stopped before its second half
    path_text, first_line, blob, case_ids, catalog = order
    path = Path(path_text)
    runs: list[Any] = []
    problems: list[Problem] = []
    checks: list[Problem] = []
    read_recordings(jsonl_records(blob.split(b"\n"), first_line, path, problems), path, set(case_ids), catalog,
                    runs, problems, checks)
    with contextlib.suppress(OSError):  # the reader is gone
        write_frame(stdout, ([r.fields() for r in runs], problems, checks))


if __name__ == "__main__":
    main()
