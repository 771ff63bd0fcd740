"""The parent-worker channel (agentctl.workers.protocol) over a real socket pair."""

from __future__ import annotations

import asyncio
import socket

from agentctl.workers.protocol import open_channel


async def _pair():  # type: ignore[no-untyped-def]
    a, b = socket.socketpair()
    return await open_channel(a), await open_channel(b)


def test_messages_of_one_loop_pass_go_out_in_one_write_in_order() -> None:
    async def main() -> tuple[int, list[tuple[object, ...]], int]:
        ours, theirs = await _pair()
        for i in range(50):
            ours.send("call", i, "openai/m", None)
        assert ours.writes == 0  # queued: nothing written yet
        got = [await theirs.recv() for _ in range(50)]
        first = ours.writes
        ours.send("done")  # a later pass: a write of its own
        got.append(await theirs.recv())
        ours.close()
        theirs.close()
        return first, got, ours.writes

    first, got, writes = asyncio.run(main())
    assert first == 1 and writes == 2
    assert got == [("call", i, "openai/m", None) for i in range(50)] + [("done",)]


def test_what_was_sent_before_close_or_drain_still_arrives() -> None:
    async def main() -> list[object]:
        ours, theirs = await _pair()
        async def read_all() -> list[object]:
            return [await theirs.recv(), await theirs.recv(), await theirs.recv()]

        reading = asyncio.ensure_future(read_all())
        ours.send("result", {"big": "x" * 3_000_000})  # more than a socket buffer holds
        await asyncio.wait_for(ours.drain(), 30)  # written, and read by the other end
        ours.send("bye", 1)
        ours.close()  # at once, before the loop's next pass
        got = await asyncio.wait_for(reading, 30)
        theirs.close()
        return list(got)

    big, bye, end = asyncio.run(main())
    assert big == ("result", {"big": "x" * 3_000_000}) and bye == ("bye", 1) and end is None


def test_a_message_sent_from_another_thread_or_loop_is_delivered() -> None:
    """A scorer library may charge a judge's cost from a thread of its own, with or without an
    event loop there: the message reaches the other end, after what was sent before it."""
    import threading

    async def main() -> list[object]:
        ours, theirs = await _pair()
        ours.send("first")

        def plain_thread() -> None:
            ours.send("spend", 0.5)

        def thread_with_a_loop() -> None:
            async def charge() -> None:
                ours.send("spend", 0.25)

            asyncio.run(charge())  # that loop ends at once: the message must not wait for it

        got = [await asyncio.wait_for(theirs.recv(), 10)]  # written: nothing is queued now
        for target in (plain_thread, thread_with_a_loop):
            t = threading.Thread(target=target)
            t.start()
            t.join()
            got.append(await asyncio.wait_for(theirs.recv(), 10))
        ours.close()
        theirs.close()
        return got

    assert asyncio.run(main()) == [("first",), ("spend", 0.5), ("spend", 0.25)]
