"""What agentctl's own helper processes (``python -m agentctl....``) are started with, and the
frames they and their parent exchange on pipes (a length, then a pickle)."""

from __future__ import annotations

import os
import pickle
import select
import struct
import subprocess
from pathlib import Path
from typing import IO, Any


def child_env() -> dict[str, str]:
    """This process's environment, with the folder holding this ``agentctl`` first on
    ``PYTHONPATH``: the child imports the same code as its parent, installed or not."""
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parents[2])  # the folder holding agentctl/
    env["PYTHONPATH"] = os.pathsep.join([package_root, *filter(None, [env.get("PYTHONPATH")])])
    return env


def wait_exit(proc: subprocess.Popen[bytes], timeout_s: float) -> int:
    """``proc.wait(timeout_s)`` (raises ``subprocess.TimeoutExpired`` the same way), returning
    as soon as the child has exited. ``Popen.wait`` with a timeout polls, sleeping up to 50 ms
    at a time: a helper that exits 5 ms after its input ends was waited for 30 ms and more.
    Where the system has process descriptors (Linux), this sleeps on the child's."""
    pidfd = None
    if proc.returncode is None and hasattr(os, "pidfd_open"):
        try:
            pidfd = os.pidfd_open(proc.pid)
        except OSError:  # an old kernel, or the child is reaped already
            pidfd = None
    if pidfd is None:
        return proc.wait(timeout_s)
    try:
        poller = select.poll()  # not select(): a busy run holds descriptors past FD_SETSIZE
        poller.register(pidfd, select.POLLIN)
        ready = poller.poll(max(0, int(timeout_s * 1000)))
    finally:
        os.close(pidfd)
    if not ready:
        raise subprocess.TimeoutExpired(proc.args, timeout_s)
    return proc.wait()  # exited: reaped at once


FRAME_HEADER = struct.Struct("!Q")
"""A frame's length, before its pickle."""


def _read_exactly(stream: IO[bytes], size: int) -> bytes | None:
    """``size`` bytes (an unbuffered stream may return fewer per read); None at the end."""
    parts, left = [], size
    while left:
        part = stream.read(left)
        if not part:
            return None
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def read_frame(stream: IO[bytes]) -> Any | None:
    """The next message on ``stream``; None at its end (the other side is gone)."""
    header = _read_exactly(stream, FRAME_HEADER.size)
    if header is None:
        return None
    data = _read_exactly(stream, FRAME_HEADER.unpack(header)[0])
    return None if data is None else pickle.loads(data)  # noqa: S301  (our own child's or parent's frames)


def write_frame(stream: IO[bytes], message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(FRAME_HEADER.pack(len(data)) + data)
    stream.flush()
