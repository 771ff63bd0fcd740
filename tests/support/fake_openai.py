"""A local OpenAI-compatible chat-completions server for tests (real HTTP on 127.0.0.1).

litellm reaches it with model ``openai/<name>``, ``api_base=fake.base_url`` and any api_key.
Replies are scripted per request by a handler that gets the parsed JSON body::

    fake.script(lambda body: tool_calls(("get_ticket", {"ticket_id": 1})))
    fake.script(turns(tool_calls(("get_ticket", {"ticket_id": 1})), text("done")))
    fake.script(per_case({"charged twice": turns(...), "password": text("reset")}))

``turns`` picks the reply by how many assistant messages the conversation already has, so it
is stateless and safe when runs of several cases hit the server concurrently.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """What the server answers to one request."""

    status: int = 200
    body: dict[str, Any] | None = None
    """JSON body; for 200 replies the ``choices``/``usage`` part of a chat completion."""
    raw: bytes | None = None
    """Sent as is instead of ``body`` (malformed replies)."""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    """Sleep this long before answering (latency, timeouts, concurrency tests)."""
    drop: bool = False
    """Close the connection without answering."""


Handler = Callable[[dict[str, Any]], Reply]


def _completion(message: dict[str, Any], finish_reason: str, prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    return {
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason, "logprobs": None}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def text(content: str, *, prompt_tokens: int = 10, completion_tokens: int = 5, delay_s: float = 0.0) -> Reply:
    """A final assistant message."""
    message = {"role": "assistant", "content": content}
    return Reply(body=_completion(message, "stop", prompt_tokens, completion_tokens), delay_s=delay_s)


def tool_calls(
    *calls: tuple[str, dict[str, Any] | str],
    content: str | None = None,
    ids: list[str] | None = None,
    prompt_tokens: int = 10,
    completion_tokens: int = 5,
    delay_s: float = 0.0,
) -> Reply:
    """An assistant turn calling tools. Dict arguments are JSON-encoded, strings sent raw."""
    if ids is not None and len(ids) != len(calls):
        raise ValueError("ids must have one id per call")
    tcs = []
    for i, (name, args) in enumerate(calls):
        tcs.append(
            {
                "id": ids[i] if ids is not None else f"call_{uuid.uuid4().hex[:12]}",
                "type": "function",
                "function": {"name": name, "arguments": args if isinstance(args, str) else json.dumps(args)},
            }
        )
    message = {"role": "assistant", "content": content, "tool_calls": tcs}
    return Reply(body=_completion(message, "tool_calls", prompt_tokens, completion_tokens), delay_s=delay_s)


def error(
    status: int,
    *,
    retry_after: float | None = None,
    body: dict[str, Any] | None = None,
    delay_s: float = 0.0,
) -> Reply:
    """An HTTP error in OpenAI's error shape (429 with ``retry_after`` sets Retry-After)."""
    headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
    if body is None:
        body = {"error": {"message": f"fake error {status}", "type": "server_error", "code": str(status)}}
    return Reply(status=status, body=body, headers=headers, delay_s=delay_s)


def malformed(body: bytes = b"{not json", *, delay_s: float = 0.0) -> Reply:
    """A 200 reply whose body is not a valid completion (bad JSON, empty choices, ...)."""
    return Reply(raw=body, delay_s=delay_s)


def drop(*, delay_s: float = 0.0) -> Reply:
    """Close the connection without answering."""
    return Reply(drop=True, delay_s=delay_s)


# ---- scripting helpers ---------------------------------------------------------------------


def last_user_text(body: dict[str, Any]) -> str:
    """Text of the last user message of a request."""
    for m in reversed(body.get("messages") or []):
        if m.get("role") == "user":
            return _content_text(m.get("content"))
    return ""


def user_text(body: dict[str, Any]) -> str:
    """All user messages of a request, joined: what a case's input looks like on the wire."""
    return "\n".join(_content_text(m.get("content")) for m in body.get("messages") or [] if m.get("role") == "user")


def assistant_turns(body: dict[str, Any]) -> int:
    """How many assistant messages the conversation already has (0 on the first model call)."""
    return sum(1 for m in body.get("messages") or [] if m.get("role") == "assistant")


def turns(*replies: Reply | Handler) -> Handler:
    """Handler answering the n-th model call of a conversation with ``replies[n]`` (last repeats)."""
    if not replies:
        raise ValueError("turns() needs at least one reply")

    def handler(body: dict[str, Any]) -> Reply:
        r = replies[min(assistant_turns(body), len(replies) - 1)]
        return r if isinstance(r, Reply) else r(body)

    return handler


def per_case(routes: Mapping[str, Reply | Handler | Sequence[Reply]], default: Reply | Handler | None = None) -> Handler:
    """Handler routing by a substring of the user messages (e.g. a case's input text).

    A route value is a Reply, a handler, or a list of replies played as ``turns``.
    """
    compiled: list[tuple[str, Handler]] = []
    for key, value in routes.items():
        if isinstance(value, Reply):
            compiled.append((key, _const(value)))
        elif callable(value):
            compiled.append((key, value))
        else:
            compiled.append((key, turns(*value)))
    fallback: Handler = _const(text("ok")) if default is None else (_const(default) if isinstance(default, Reply) else default)

    def handler(body: dict[str, Any]) -> Reply:
        said = user_text(body)
        for key, h in compiled:
            if key in said:
                return h(body)
        return fallback(body)

    return handler


def _const(reply: Reply) -> Handler:
    return lambda body: reply


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return "" if content is None else str(content)


# ---- the server --------------------------------------------------------------------------


class FakeOpenAI:
    """A running fake server. Use the ``fake_openai`` fixture, or ``with FakeOpenAI() as fake``."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        """Every chat-completion request body received (parsed JSON), in order."""
        self.request_headers: list[dict[str, str]] = []
        """Headers of those requests, same order (to check what a client sent)."""
        self.peak_concurrency = 0
        """Most chat-completion requests in flight at once."""
        self._in_flight = 0
        self._lock = threading.Lock()
        self._handler: Handler = _const(text("ok"))
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_request_handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-openai", daemon=True
        )
        self._thread.start()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def script(self, handler: Handler) -> None:
        """Answer every following request with ``handler(body)``."""
        self._handler = handler

    def reset(self) -> None:
        """Forget requests and counters; back to the default handler (text "ok")."""
        with self._lock:
            self.requests.clear()
            self.request_headers.clear()
            self.peak_concurrency = 0
            self._handler = _const(text("ok"))

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAI:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # called from server threads
    def _answer(self, body: dict[str, Any], headers: dict[str, str]) -> Reply:
        with self._lock:
            self.requests.append(body)
            self.request_headers.append(headers)
            self._in_flight += 1
            self.peak_concurrency = max(self.peak_concurrency, self._in_flight)
            handler = self._handler
        try:
            reply = handler(body)
            if reply.delay_s > 0:
                time.sleep(reply.delay_s)
            return reply
        except Exception as exc:  # a broken test script should show up as a 500, not a hang
            return error(500, body={"error": {"message": f"fake handler raised {exc!r}", "type": "server_error"}})
        finally:
            with self._lock:
                self._in_flight -= 1


def _make_request_handler(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 10  # idle keep-alive connections give their thread back

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

        def _send(self, status: int, payload: bytes, headers: Mapping[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            if self.path.rstrip("/") in ("/v1/models", "/models"):
                data = {"object": "list", "data": [{"id": "fake-model", "object": "model", "owned_by": "fake"}]}
                self._send(200, json.dumps(data).encode())
            else:
                self._send(404, b'{"error": {"message": "not found"}}')

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if self.path.split("?")[0].rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
                self._send(404, b'{"error": {"message": "not found"}}')
                return
            try:
                body = json.loads(raw or b"{}")
            except json.JSONDecodeError:
                self._send(400, b'{"error": {"message": "request body is not JSON"}}')
                return
            reply = fake._answer(body, {k.lower(): v for k, v in self.headers.items()})
            if reply.drop:
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            if reply.raw is not None:
                self._send(reply.status, reply.raw, reply.headers)
                return
            payload = dict(reply.body or {})
            if reply.status == 200:
                payload = {
                    "id": f"chatcmpl-{uuid.uuid4().hex[:16]}",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": str(body.get("model", "fake-model")),
                    **payload,
                }
            self._send(reply.status, json.dumps(payload).encode(), reply.headers)

    return RequestHandler
