"""The fake OpenAI server of the tests, taught two more things real clients use: streaming chat
completions (``stream: true``, server-sent events) and the Responses API (``POST /v1/responses``).

Both are answered by the same chat-completions script: a Responses request is read as chat
messages first, and the scripted completion is written back as Responses output items.
"""

from __future__ import annotations

import json
import time
from typing import Any

from scenarios import ScriptedModel, serve

from support.fake_openai import FakeOpenAI


def _chat_messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    """A Responses API request's ``instructions`` + ``input`` items as chat messages."""
    out: list[dict[str, Any]] = []
    if body.get("instructions"):
        out.append({"role": "system", "content": body["instructions"]})
    items = body.get("input")
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    for item in items or []:
        kind = item.get("type", "message")
        if kind == "message":
            content = item.get("content")
            if isinstance(content, list):
                content = "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
            if item.get("role") == "assistant" and out and out[-1].get("role") == "assistant" \
                    and out[-1].get("content") is None:
                out[-1]["content"] = content
            else:
                out.append({"role": item.get("role"), "content": content})
        elif kind == "function_call":
            if not (out and out[-1].get("role") == "assistant" and "tool_calls" in out[-1]):
                out.append({"role": "assistant", "content": None, "tool_calls": []})
            out[-1]["tool_calls"].append({"id": item.get("call_id"), "type": "function", "function": {
                "name": item.get("name"), "arguments": item.get("arguments")}})
        elif kind == "function_call_output":
            out.append({"role": "tool", "tool_call_id": item.get("call_id"), "content": item.get("output")})
    return out


def _response_object(chat: dict[str, Any], model: str, number: int) -> dict[str, Any]:
    message = chat["choices"][0]["message"]
    items: list[dict[str, Any]] = []
    if message.get("content"):
        items.append({"type": "message", "id": f"msg_{number}", "status": "completed", "role": "assistant",
                      "content": [{"type": "output_text", "text": message["content"], "annotations": []}]})
    for call in message.get("tool_calls") or []:
        items.append({"type": "function_call", "id": f"fc_{call['id']}", "call_id": call["id"], "status": "completed",
                      "name": call["function"]["name"], "arguments": call["function"]["arguments"]})
    usage = chat["usage"]
    return {"id": f"resp_{number}", "object": "response", "created_at": int(time.time()), "status": "completed",
            "model": model, "output": items, "parallel_tool_calls": True, "tool_choice": "auto", "tools": [],
            "usage": {"input_tokens": usage["prompt_tokens"], "output_tokens": usage["completion_tokens"],
                      "total_tokens": usage["total_tokens"], "input_tokens_details": {"cached_tokens": 0},
                      "output_tokens_details": {"reasoning_tokens": 0}}}


def _chunks(chat: dict[str, Any], model: str, number: int) -> list[dict[str, Any]]:
    message = chat["choices"][0]["message"]
    base = {"id": f"chatcmpl-{number}", "object": "chat.completion.chunk", "created": int(time.time()),
            "model": model}
    out = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}]
    text = message.get("content") or ""
    for i in range(0, len(text), 24):
        out.append({**base, "choices": [{"index": 0, "delta": {"content": text[i:i + 24]}, "finish_reason": None}]})
    for n, call in enumerate(message.get("tool_calls") or []):
        out.append({**base, "choices": [{"index": 0, "delta": {"tool_calls": [{
            "index": n, "id": call["id"], "type": "function",
            "function": {"name": call["function"]["name"], "arguments": call["function"]["arguments"]}}]},
            "finish_reason": None}]})
    out.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": chat["choices"][0]["finish_reason"]}]})
    out.append({**base, "choices": [], "usage": chat["usage"]})
    return out


def start() -> tuple[FakeOpenAI, ScriptedModel]:
    fake, model = serve()
    base = fake._server.RequestHandlerClass
    counter = iter(range(1, 1_000_000))

    class Handler(base):  # type: ignore[misc, valid-type]
        def _body(self) -> dict[str, Any]:
            length = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(length) or b"{}")

        def do_POST(self) -> None:
            path = self.path.split("?")[0].rstrip("/")
            if path.endswith("/responses"):
                body = self._body()
                chat = model({**body, "messages": _chat_messages(body)}).body or {}
                payload = _response_object({**chat, "usage": {**chat["usage"]}}, str(body.get("model")), next(counter))
                self._send(200, json.dumps(payload).encode())
                return
            if path.endswith("/chat/completions"):
                body = self._body()
                reply = model(body)
                if body.get("stream"):
                    events = "".join(f"data: {json.dumps(c)}\n\n" for c in _chunks(
                        reply.body or {}, str(body.get("model")), next(counter))) + "data: [DONE]\n\n"
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.send_header("Content-Length", str(len(events.encode())))
                    self.end_headers()
                    self.wfile.write(events.encode())
                    return
                payload = {"id": f"chatcmpl-{next(counter)}", "object": "chat.completion", "created": int(time.time()),
                           "model": str(body.get("model")), **(reply.body or {})}
                self._send(200, json.dumps(payload).encode())
                return
            super().do_POST()

    fake._server.RequestHandlerClass = Handler
    return fake, model
