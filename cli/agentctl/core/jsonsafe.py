"""JSON read from files people and tools wrote: strict, bounded, and never a traceback.

One rule for every JSON text agentctl reads from a dataset (a line of cases.jsonl or
runs.jsonl, a tool call's ``arguments``): duplicate keys are an error (the YAML loader
rejects them too), ``NaN``/``Infinity`` are not JSON, nesting deeper than
:data:`MAX_DEPTH` and integers longer than Python's digit limit are refused with a
message instead of a ``RecursionError`` or ``ValueError`` deep inside. Imports nothing of
agentctl.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 64
"""Deepest nesting of objects and lists accepted (real agent data stays far below)."""


class JsonInputError(ValueError):
    """The text is not acceptable JSON; the message says why (with the column when known)."""

    decode_error: json.JSONDecodeError | None = None
    """The parser's own error, when the text is not JSON at all."""


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)  # in C; a key seen twice makes the dict shorter than the pairs
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise JsonInputError(f"duplicate key '{key}'")
            seen.add(key)
    return out


def _constant(name: str) -> Any:
    raise JsonInputError(f"{name} is not a JSON number (NaN and Infinity are not allowed)")


_DECODER = json.JSONDecoder(object_pairs_hook=_pairs, parse_constant=_constant)


def depth_of(value: Any, limit: int = MAX_DEPTH) -> int:
    """Nesting depth of ``value`` (0 for a scalar), counting no further than ``limit + 1``."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            depth += 1
            deepest = max(deepest, depth)
            if depth > limit:
                return deepest
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth) for child in children)
    return deepest


def loads_strict(text: str | bytes) -> Any:
    """``json.loads`` with the rules above; raises :class:`JsonInputError` with a readable message."""
    try:
        if isinstance(text, str) and not text.startswith("\ufeff"):
            value = _DECODER.decode(text)  # what json.loads does, without building a decoder per call
        else:
            value = json.loads(text, object_pairs_hook=_pairs, parse_constant=_constant)
    except JsonInputError:
        raise
    except json.JSONDecodeError as exc:
        error = JsonInputError(f"invalid JSON: {exc.msg} (column {exc.colno})")
        error.decode_error = exc
        raise error from None
    except RecursionError:
        raise JsonInputError(f"nested more than {MAX_DEPTH} levels deep") from None
    except ValueError as exc:  # an integer beyond Python's digit limit
        raise JsonInputError(f"invalid JSON: {exc}".split(";")[0]) from None
    brackets = text.count("{") + text.count("[") if isinstance(text, str) else MAX_DEPTH + 1
    if brackets > MAX_DEPTH and depth_of(value) > MAX_DEPTH:
        raise JsonInputError(f"nested more than {MAX_DEPTH} levels deep")
    return value
