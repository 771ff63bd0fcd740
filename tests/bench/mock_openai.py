"""A lean OpenAI-compatible chat-completions server for the benchmarks (127.0.0.1 only).

    python tests/bench/mock_openai.py PORT_FILE [--latency-ms 0]

asyncio, HTTP/1.1 keep-alive, no framework: so that the mock is never the bottleneck
(tests/fake_openai.py is a ThreadingHTTPServer: a thread per connection, fine for tests).
Model ``bench-N`` makes N-1 tool calls (``get_ticket``) and then answers with text.
Writes its port to PORT_FILE; on SIGTERM writes ``{"requests": n, "first": t, "last": t}``
(wall-clock times) to PORT_FILE + ".stats".
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time

STATS = {"requests": 0, "first": None, "last": None, "peak": 0}
_inflight = 0


def _reply(model: str, assistant_turns: int) -> bytes:
    try:
        calls = int(model.rsplit("-", 1)[1])
    except (IndexError, ValueError):
        calls = 1
    if assistant_turns < calls - 1:
        message = {"role": "assistant", "content": None, "tool_calls": [{
            "id": f"call_{assistant_turns}", "type": "function",
            "function": {"name": "get_ticket", "arguments": "{\"ticket_id\": 1}"}}]}
        finish = "tool_calls"
    else:
        message = {"role": "assistant", "content": "Done: the ticket is routed."}
        finish = "stop"
    body = {"id": "chatcmpl-bench", "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
            "usage": {"prompt_tokens": 50, "completion_tokens": 10, "total_tokens": 60}}
    return json.dumps(body).encode()


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, latency: float) -> None:
    global _inflight
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:].strip())
            raw = await reader.readexactly(length) if length else b"{}"
            now = time.time()
            STATS["requests"] += 1  # type: ignore[operator]
            STATS["first"] = STATS["first"] or now
            STATS["last"] = now
            _inflight += 1
            STATS["peak"] = max(STATS["peak"], _inflight)  # type: ignore[call-overload]
            try:
                req = json.loads(raw)
                turns = sum(1 for m in req.get("messages", []) if m.get("role") == "assistant")
                payload = _reply(str(req.get("model", "")), turns)
                if latency:
                    await asyncio.sleep(latency)
            finally:
                _inflight -= 1
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                         + str(len(payload)).encode() + b"\r\nConnection: keep-alive\r\n\r\n" + payload)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def main(port_file: str, latency: float) -> None:
    server = await asyncio.start_server(lambda r, w: _handle(r, w, latency), "127.0.0.1", 0, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    with open(port_file + ".tmp", "w") as f:
        f.write(str(port))
    import os

    os.replace(port_file + ".tmp", port_file)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()
    with open(port_file + ".stats", "w") as f:
        json.dump(STATS, f)


if __name__ == "__main__":
    latency_ms = float(sys.argv[sys.argv.index("--latency-ms") + 1]) if "--latency-ms" in sys.argv else 0.0
    asyncio.run(main(sys.argv[1], latency_ms / 1000))
