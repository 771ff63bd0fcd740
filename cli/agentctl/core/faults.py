"""What kind of fault a failed model call was, when no HTTP answer came at all."""

from __future__ import annotations

import socket


def connection_problem(exc: BaseException) -> str | None:
    """What went wrong when no HTTP answer came at all (litellm reports these as HTTP 500):
    ``connection refused``, ``DNS lookup failed``, ``connection timed out`` or ``connection failed``."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:  # every exception this one came from: causes, contexts, wrapped originals
        cur = todo.pop(0)
        if id(cur) in seen:
            continue
        seen.add(id(cur))
        if isinstance(cur, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cur, socket.gaierror):
            return "DNS lookup failed"
        if type(cur).__name__ == "ConnectTimeout":  # no connection within the timeout (a slow answer is a "timeout")
            return "connection timed out"
        linked = [cur.__cause__, cur.__context__, getattr(cur, "original_exception", None),
                  *(a for a in getattr(cur, "args", ()) if isinstance(a, BaseException))]
        todo.extend(x for x in linked if isinstance(x, BaseException))
    text = str(exc).lower()
    for needle, label in (("connection refused", "connection refused"), ("name or service not known", "DNS lookup failed"),
                          ("nodename nor servname", "DNS lookup failed"), ("temporary failure in name resolution",
                          "DNS lookup failed"), ("connect timeout", "connection timed out"),
                          ("connection error", "connection failed (no HTTP answer)"),
                          ("apiconnectionerror", "connection failed (no HTTP answer)")):
        if needle in text or needle in type(exc).__name__.lower():
            return label
    return None
