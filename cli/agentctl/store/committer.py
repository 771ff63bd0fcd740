"""Commits in a process of their own, while a run keeps the store released (``Store.released``).

A commit is mostly DuckDB's work and Python's to hand it the rows (object arrays, typing
every value), all under the GIL it shares with the runs when done on a thread: in a replay,
which never waits for I/O, a commit every second stopped the runs for a third of the run
phase. Here the parent builds the rows (plain tuples and dicts) and pickles them down a
pipe; the child opens the file, commits the batch in one transaction, closes it (readers
read between commits, as before) and answers. The parent's commit returns only once the
batch is committed, so what a caller sees is unchanged: a returned commit is on disk.

The child ignores SIGINT and SIGTERM (the parent decides when a run stops and still commits
what finished) and exits when its input ends, so it never outlives the parent: killed
mid-commit, the parent leaves a child that finishes that commit, then reads the end.

    python -m agentctl.store.committer DB
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import signal
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

from agentctl.core.children import FRAME_HEADER as _HEADER
from agentctl.core.children import child_env, wait_exit
from agentctl.core.children import read_frame as _read_frame
from agentctl.core.children import write_frame as _write_frame


class CommitterGone(OSError):
    """The committing process exited or stopped answering: the store could not be written."""


class Committer:
    """The parent's end: :meth:`commit` sends a batch and waits for it to be committed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._transports: list[asyncio.BaseTransport] = []
        self._loop_files: list[IO[bytes]] = []
        env = child_env()
        # Its own process group: Ctrl-C in a terminal reaches the parent only, which decides.
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "agentctl.store.committer", str(path)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, process_group=0,
        )

    def pack(self, batch: tuple[Any, ...]) -> bytes:
        """``batch`` (the arguments of :func:`agentctl.store.rows.commit_batch` after the
        connection) as :meth:`send` sends it."""
        data = pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL)
        return _HEADER.pack(len(data)) + data

    def send(self, packed: bytes) -> None:
        """Commit a packed batch and wait for it to be committed; raises what the commit raised
        there, or :class:`CommitterGone`."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._detach()
        try:
            self.proc.stdin.write(packed)
            self.proc.stdin.flush()
            answer = _read_frame(self.proc.stdout)
        except OSError:
            answer = None
        self._check(answer)

    def _check(self, answer: tuple[Any, ...] | None) -> None:
        if answer is None:
            raise CommitterGone(f"the process committing results to {self.path} exited "
                                f"(code {self.proc.poll()})")
        if answer[0] == "error":
            raise answer[1]

    async def send_async(self, packed: bytes) -> None:
        """:meth:`send` on the running event loop, which goes on while the batch is committed."""
        if self._streams is None:
            assert self.proc.stdin is not None and self.proc.stdout is not None
            loop = asyncio.get_running_loop()
            # The loop gets pipes of its own (the same pipes, other descriptors), so that a
            # blocking send or close later needs nothing from this loop, even once it is closed.
            wfile = os.fdopen(os.dup(self.proc.stdin.fileno()), "wb", buffering=0)
            rfile = os.fdopen(os.dup(self.proc.stdout.fileno()), "rb", buffering=0)
            self._loop_files = [wfile, rfile]
            reader = asyncio.StreamReader()
            read_transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), rfile)
            transport, protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, wfile)
            self._transports = [read_transport, transport]
            self._streams = reader, asyncio.StreamWriter(transport, protocol, reader, loop)
        reader, writer = self._streams
        try:
            writer.write(packed)
            await writer.drain()
            (size,) = _HEADER.unpack(await reader.readexactly(_HEADER.size))
            answer = pickle.loads(await reader.readexactly(size))
        except (OSError, asyncio.IncompleteReadError):
            answer = None
        self._check(answer)

    def _detach(self) -> None:
        """Take the pipes back from the event loop of :meth:`send_async` (nothing is in flight
        between commits): its descriptors are closed now, the pipes blocking again."""
        if self._streams is None:
            return
        self._streams = None
        for transport in self._transports:
            with contextlib.suppress(RuntimeError):  # that loop is closed: nothing to tell it
                transport.close()
        for f in self._loop_files:
            with contextlib.suppress(OSError):
                f.close()
        self._transports, self._loop_files = [], []
        for pipe in (self.proc.stdin, self.proc.stdout):  # O_NONBLOCK was set on the pipe itself
            if pipe is not None and not pipe.closed:
                os.set_blocking(pipe.fileno(), True)

    def close(self, wait_s: float = 120.0) -> None:
        """End its input and wait for it to exit (it has nothing in flight between commits)."""
        self._detach()
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        try:
            wait_exit(self.proc, wait_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def _picklable(exc: BaseException) -> BaseException:
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return OSError(f"{type(exc).__name__}: {exc}")


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    import numpy  # noqa: F401  (for the first commit's columns: imported while the run is set up)

    from agentctl.store.locks import connect
    from agentctl.store.rows import commit_batch
    from agentctl.store.store import _REOPEN_WAIT_S

    path = Path(sys.argv[1])
    # The pipes are the protocol's alone: whatever prints to stdout here goes to stderr.
    stdin = open(os.dup(0), "rb")  # noqa: SIM115  (buffered, whatever -u says)
    stdout = open(os.dup(1), "wb")  # noqa: SIM115
    os.dup2(2, 1)
    while (batch := _read_frame(stdin)) is not None:
        try:
            con = connect(path, False, _REOPEN_WAIT_S)
            try:
                commit_batch(con, *batch)
            finally:
                con.close()
            answer: tuple[Any, ...] = ("ok",)
        except Exception as exc:
            answer = ("error", _picklable(exc))
        try:
            _write_frame(stdout, answer)
        except OSError:  # the parent is gone
            break
    # Every batch is committed and its connection closed: exit now, not after tearing down
    # DuckDB's and numpy's modules (50 ms the parent waited for at the end of each run).
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
