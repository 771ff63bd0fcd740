"""What agentctl's own helper processes (``python -m agentctl....``) are started with, and the
frames they and their parent exchange on pipes (a length, then a pickle)."""

from __future__ import annotations

import os
import pickle
import struct
from pathlib import Path
from typing import IO, Any


def child_env() -> dict[str, str]:
    """This process's environment, with the folder holding this ``agentctl`` first on
    ``PYTHONPATH``: the child imports the same code as its parent, installed or not."""
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parents[2])  # the folder holding agentctl/
    env["PYTHONPATH"] = os.pathsep.join([package_root, *filter(None, [env.get("PYTHONPATH")])])
    return env


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
