"""The parent-worker protocol: pickled messages, each a tuple whose first item names it,
framed by a 4-byte length, over a socket pair (asyncio streams on both ends, so neither
side ever blocks on a full socket buffer).

Worker to parent:
    ``("ready",)`` | ``("unready", message)``            providers and scorers built, or not
    ``("call", id, model, cache_key)``                   may a model call start? answered
        ``("call", id, "go" | "hit" | "budget" | "breaker", payload)``
    ``("called", model, cache_key, repeat, reply)``      a call succeeded (spend, breaker, cache)
    ``("failed", model, fault)``                          a call failed after retries (breaker)
    ``("spend", usd)``                                    spend outside model calls (embeddings)
    ``("limit", id, model)``                              a rate-limit permit; answered ``("limit", id)``
    ``("unlimit", model, tokens)``                        the attempt holding it is over
    ``("result", result, trajectory)`` | ``("not_run", why)``   a handed-out run is done
    ``("crash", text)``                                   a run raised (a bug): the evaluation stops
    ``("bye", stats)``                                    after ``done``: its call counts

Parent to worker: ``("init", payload)``, ``("run", index)``, ``("done",)``; end of stream
(the parent closed its end, or died) means stop now.
"""

from __future__ import annotations

import asyncio
import pickle
import struct
from typing import Any

_HEADER = struct.Struct("!I")


class Channel:
    """One end of the socket pair between the parent and a worker.

    Messages sent in one pass of the event loop go out together, in one write, at the end of
    the pass (in order): a socket write per message was 7% of a busy worker's CPU (a model
    call sends two, a run one more), and the parent answers many at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.loop = asyncio.get_running_loop()
        self._pending: list[bytes] = []
        self.writes = 0
        """Writes to the socket so far (each carries every message queued since the last)."""

    def send(self, *message: Any) -> None:
        """Queue ``message`` for sending (never blocks; :meth:`drain` to wait for a big backlog).
        From another thread (a scorer library's own thread or loop, charging a judge's cost)
        the message is handed to this channel's loop, which alone touches the socket."""
        if self.writer.is_closing():
            return
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        framed = _HEADER.pack(len(data)) + data
        try:
            here = asyncio.get_running_loop() is self.loop
        except RuntimeError:  # no loop runs in this thread
            here = False
        if here:
            self._queue(framed)
        else:
            self.loop.call_soon_threadsafe(self._queue, framed)

    def _queue(self, framed: bytes) -> None:
        if not self._pending:
            self.loop.call_soon(self._flush)
        self._pending.append(framed)

    def _flush(self) -> None:
        if self._pending:
            data, self._pending = b"".join(self._pending), []
            if not self.writer.is_closing():
                self.writer.write(data)
                self.writes += 1

    async def drain(self) -> None:
        self._flush()
        if not self.writer.is_closing():
            await self.writer.drain()

    async def recv(self) -> tuple[Any, ...] | None:
        """The next message; None at the end of the stream."""
        try:
            header = await self.reader.readexactly(_HEADER.size)
            (size,) = _HEADER.unpack(header)
            data = await self.reader.readexactly(size)
        except (asyncio.IncompleteReadError, ConnectionError):
            return None
        message: tuple[Any, ...] = pickle.loads(data)
        return message

    def close(self) -> None:
        self._flush()  # what was sent still goes (the transport writes its buffer, then closes)
        if not self.writer.is_closing():
            self.writer.close()


async def open_channel(sock: Any) -> Channel:
    """A channel over a connected socket."""
    reader, writer = await asyncio.open_connection(sock=sock, limit=2**20)
    return Channel(reader, writer)
