"""Comparing expected tool-call arguments with what the agent actually sent.

Comparison is strict after normalisation (``agentctl.core.normalize``): the same keys both ways,
key order ignored, numbers by value (``5 == 5.0``, but ``true`` is not ``1``), lists in
order. An object with a single ``$`` key is a matcher, at any depth:

- ``{"$any": true}``: any value (the key must still be present).
- ``{"$regex": "^pay"}``: a string in which the pattern is found (``re.search``, so anchor
  with ``^``/``$`` to match the whole string; case-sensitive unless the pattern says ``(?i)``).
- ``{"$in": [A, B]}``: equal to (or matched by) one of the alternatives.
- ``{"$approx": [value, tolerance]}``: a number within the absolute tolerance.
- ``{"$contains": X}``: a string containing the substring X (case-sensitive), or a list with
  an element equal to (or matched by) X.
- ``{"$text": "San Francisco, CA"}``: a string equal when case, white space and punctuation
  are ignored.
- ``{"$optional": X}``: as an object's value, the key may be absent; when present it must match X.

Every function returns ``None`` for a match and otherwise a short reason a person can read,
e.g. ``amount_cents: expected 7500, got 75000``.
"""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Any

from agentctl.core.normalize import MATCHER_OPERATORS, is_matcher, normalize

MAX_REASONS = 3
"""Differences listed in one reason before the rest is summarised as "(and N more)"."""


def match_value(expected: Any, actual: Any) -> str | None:
    """``None`` when ``actual`` matches ``expected`` (a value or matcher); else why not."""
    problems = _diff(normalize(expected), normalize(actual), "")
    return _join(problems)


def match_args(expected_args: dict[str, Any] | None, actual_args: dict[str, Any] | None) -> str | None:
    """Strict comparison of a call's arguments; ``expected_args=None`` accepts any arguments."""
    return _join(arg_differences(expected_args, actual_args))


def arg_differences(expected_args: dict[str, Any] | None, actual_args: dict[str, Any] | None) -> list[str]:
    """Every difference :func:`match_args` finds, one reason each (empty when they match)."""
    if expected_args is None:
        return []
    if actual_args is None:
        return ["arguments are not a JSON object"]
    if is_matcher(expected_args) or not isinstance(actual_args, dict):
        return _diff(normalize(expected_args), normalize(actual_args), "")
    return [reason for _, reasons in key_differences(expected_args, actual_args) for reason in reasons]


def key_differences(expected_args: dict[str, Any], actual_args: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """Per argument, the differences :func:`match_args` finds (empty when that argument matches):
    the expected keys in order, then keys only the actual call has. The verdict and the diff a
    report shows are both read from this."""
    expected, actual = normalize(expected_args), normalize(actual_args)
    out: list[tuple[str, list[str]]] = []
    for key, want in expected.items():
        if key not in actual:
            out.append((key, [] if _is_op(want, "$optional") else [f"missing argument '{key}'"]))
        else:
            out.append((key, _diff(want, actual[key], key)))
    out += [(key, [f"unexpected argument '{key}'"]) for key in actual if key not in expected]
    return out


def match_subset(expected_args: dict[str, Any] | None, actual_args: dict[str, Any] | None) -> str | None:
    """Compare only the keys of ``expected_args`` (for forbidden calls); extra actual keys are fine.

    The values of the given keys are compared strictly (with matchers), at any depth.
    ``expected_args=None`` matches every call.
    """
    if expected_args is None:
        return None
    if actual_args is None:
        return "arguments are not a JSON object"
    expected, actual = normalize(expected_args), normalize(actual_args)
    problems: list[str] = []
    for key, want in expected.items():
        if key not in actual:
            if not _is_op(want, "$optional"):
                problems.append(f"missing argument '{key}'")
            continue
        problems += _diff(want, actual[key], key)
    return _join(problems)


def matcher_problems(expected: Any, path: str = "") -> list[str]:
    """Malformed matchers in expected arguments (for dataset validation), as ``key.path: message``."""
    problems: list[str] = []
    if is_matcher(expected):
        op, arg = next(iter(expected.items()))
        where = f"{path}: " if path else ""
        if op not in MATCHER_OPERATORS:
            problems.append(f"{where}unknown matcher '{op}' (expected one of {', '.join(MATCHER_OPERATORS)})")
        elif op == "$any" and arg is not True:
            problems.append(f"{where}$any takes true")
        elif op == "$regex":
            if not isinstance(arg, str):
                problems.append(f"{where}$regex takes a pattern string")
            else:
                try:
                    re.compile(arg)
                except re.error as exc:
                    problems.append(f"{where}$regex: invalid pattern ({exc})")
        elif op == "$in":
            if not isinstance(arg, list) or not arg:
                problems.append(f"{where}$in takes a non-empty list of alternatives")
            else:
                for i, alt in enumerate(arg):
                    problems += matcher_problems(alt, f"{path}.$in[{i}]" if path else f"$in[{i}]")
        elif op == "$approx":
            if not (
                isinstance(arg, list) and len(arg) == 2 and all(_is_number(v) for v in arg) and arg[1] >= 0
            ):
                problems.append(f"{where}$approx takes [value, tolerance] with tolerance >= 0")
        elif op == "$text" and not isinstance(arg, str):
            problems.append(f"{where}$text takes a string")
        elif op in ("$contains", "$optional"):
            problems += matcher_problems(arg, f"{path}.{op}" if path else op)
    elif isinstance(expected, dict):
        for key, value in expected.items():
            problems += matcher_problems(value, f"{path}.{key}" if path else str(key))
    elif isinstance(expected, list):
        for i, value in enumerate(expected):
            problems += matcher_problems(value, f"{path}[{i}]")
    return problems


# --- comparison ------------------------------------------------------------------------


def _diff(expected: Any, actual: Any, path: str) -> list[str]:
    """Every difference between normalised ``expected`` and ``actual`` below ``path``."""
    if is_matcher(expected):
        op, arg = next(iter(expected.items()))
        return _match_operator(op, arg, actual, path)
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [_mismatch(expected, actual, path)]
        problems: list[str] = []
        for key, want in expected.items():
            sub = _join_path(path, key)
            if key not in actual:
                if not _is_op(want, "$optional"):
                    problems.append(f"missing argument '{sub}'")
            else:
                problems += _diff(want, actual[key], sub)
        problems += [f"unexpected argument '{_join_path(path, k)}'" for k in actual if k not in expected]
        return problems
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [_mismatch(expected, actual, path)]
        if len(expected) != len(actual):
            return [f"{_where(path)}expected {len(expected)} items, got {len(actual)}"]
        problems = []
        for i, (want, got) in enumerate(zip(expected, actual, strict=True)):
            problems += _diff(want, got, f"{path}[{i}]")
        return problems
    return [] if _scalar_equal(expected, actual) else [_mismatch(expected, actual, path)]


def _match_operator(op: str, arg: Any, actual: Any, path: str) -> list[str]:
    where = _where(path)
    if op == "$any":
        return []
    if op == "$optional":
        # Absence is handled by the enclosing object; a present value must match.
        return _diff(arg, actual, path)
    if op == "$in":
        alternatives = arg if isinstance(arg, list) else [arg]
        if any(not _diff(alt, actual, path) for alt in alternatives):
            return []
        return [f"{where}{render_value(actual)} not in {render_value(alternatives)}"]
    if op == "$regex":
        if not isinstance(actual, str):
            return [f"{where}expected a string matching {render_value(arg)}, got {render_value(actual)}"]
        try:
            found = re.search(str(arg), actual) is not None
        except re.error as exc:
            return [f"{where}invalid $regex {render_value(arg)} ({exc})"]
        return [] if found else [f"{where}{render_value(actual)} does not match {render_value(arg)}"]
    if op == "$approx":
        if not (isinstance(arg, list) and len(arg) == 2 and all(_is_number(v) for v in arg)):
            return [f"{where}$approx takes [value, tolerance], got {render_value(arg)}"]
        value, tolerance = float(arg[0]), float(arg[1])
        if _is_number(actual) and abs(float(actual) - value) <= tolerance + 1e-9 * max(1.0, abs(value)):
            return []
        return [f"{where}expected {arg[0]} ± {arg[1]}, got {render_value(actual)}"]
    if op == "$contains":
        if isinstance(actual, str):
            if isinstance(arg, str) and arg in actual:
                return []
            return [f"{where}{render_value(actual)} does not contain {render_value(arg)}"]
        if isinstance(actual, list):
            if any(not _diff(arg, item, path) for item in actual):
                return []
            return [f"{where}{render_value(actual)} has no element {render_value(arg)}"]
        return [
            f"{where}expected a string or list containing {render_value(arg)}, got {render_value(actual)}"
        ]
    if op == "$text":
        if isinstance(actual, str) and isinstance(arg, str) and _plain_text(actual) == _plain_text(arg):
            return []
        return [f"{where}expected text {render_value(arg)}, got {render_value(actual)}"]
    return [f"{where}unknown matcher '{op}'"]


def _scalar_equal(expected: Any, actual: Any) -> bool:
    # bool is an int subclass in Python; JSON keeps true and 1 apart, and so do we.
    if isinstance(expected, bool) or isinstance(actual, bool):
        return isinstance(expected, bool) and isinstance(actual, bool) and expected == actual
    if _is_number(expected) and _is_number(actual):
        return bool(expected == actual)
    return type(expected) is type(actual) and bool(expected == actual)


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and not (isinstance(value, float) and math.isnan(value))
    )


def _plain_text(text: str) -> str:
    """Letters and digits only, case-folded: what ``$text`` compares."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text).casefold() if ch.isalnum())


def _is_op(value: Any, op: str) -> bool:
    return is_matcher(value) and next(iter(value)) == op


def _mismatch(expected: Any, actual: Any, path: str) -> str:
    return f"{_where(path)}expected {render_value(expected)}, got {render_value(actual)}"


def _where(path: str) -> str:
    return f"{path}: " if path else ""


def _join_path(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _join(problems: list[str]) -> str | None:
    if not problems:
        return None
    shown = "; ".join(problems[:MAX_REASONS])
    more = len(problems) - MAX_REASONS
    return f"{shown} (and {more} more)" if more > 0 else shown


# --- rendering -------------------------------------------------------------------------


def render_value(value: Any, limit: int = 40) -> str:
    """Short readable form of a JSON value or matcher: ``'ch_123'``, ``7500``, ``$regex('^pay')``."""
    text = _render(value, limit)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _render(value: Any, limit: int) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        shown = value if len(value) <= limit else value[: limit - 1] + "…"
        return repr(shown)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if is_matcher(value):
        op, arg = next(iter(value.items()))
        return op if op == "$any" else f"{op}({_render(arg, limit)})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_render(v, limit)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_render(v, limit) for v in value) + "]"
    return str(value)


def render_call(tool: str, args: dict[str, Any] | None, raw_args: str | None = None, limit: int = 120) -> str:
    """``issue_refund(charge_id='ch_123', amount_cents=7500)``, with long values truncated."""
    if args is None:
        inner = "" if raw_args is None else render_value(raw_args, 60)
    else:
        inner = ", ".join(f"{k}={render_value(v)}" for k, v in args.items())
    if len(inner) > limit:
        inner = inner[: limit - 1] + "…"
    return f"{tool}({inner})"
