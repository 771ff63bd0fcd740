"""What kind of fault a failed model call was, when no HTTP answer came at all."""

from __future__ import annotations

import socket


def connection_problem(exc: BaseException) -> str | None:
    """What went wrong when no HTTP answer came at all (litellm reports these as HTTP 500):
    ``connection refused``, ``DNS lookup failed``, ``connection timed out`` or ``connection failed``."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cur, socket.gaierror):
            return "DNS lookup failed"
        name = type(cur).__name__
        if name == "ConnectTimeout":  # no connection within the timeout (a slow answer is a "timeout")
            return "connection timed out"
        cur = cur.__cause__ or cur.__context__ or getattr(cur, "original_exception", None)
    text = str(exc).lower()
    for needle, label in (("connection refused", "connection refused"), ("name or service not known", "DNS lookup failed"),
                          ("nodename nor servname", "DNS lookup failed"), ("temporary failure in name resolution",
                          "DNS lookup failed"), ("connect timeout", "connection timed out"),
                          ("connection error", "connection failed"), ("apiconnectionerror", "connection failed")):
        if needle in text or needle in type(exc).__name__.lower():
            return label
    return None
