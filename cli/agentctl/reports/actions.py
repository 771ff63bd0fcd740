"""Expected write actions against the actual ones, as a diff a person can read.

Display only: the verdict's reasons (from outcome scoring) are what decides a run. The
pairing here is by tool name and the number of agreeing arguments, which is what a reader
wants to see side by side.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from agentctl.core.normalize import canonical, is_matcher, normalize


@dataclass
class ArgLine:
    key: str
    expected: str | None
    """JSON text of the expected value (or matcher); ``None`` when the key is not expected."""
    actual: str | None
    """JSON text of the actual value; ``None`` when the call left it out."""
    same: bool


@dataclass
class ActionLine:
    op: str
    """``same`` | ``changed`` | ``missing`` (expected, not done) | ``extra`` (done, not expected)."""
    tool: str
    args: list[ArgLine] = field(default_factory=list)


@dataclass
class ActionDiff:
    lines: list[ActionLine]

    @property
    def clean(self) -> bool:
        return all(line.op == "same" for line in self.lines)

    def to_dict(self) -> list[dict[str, Any]]:
        return [
            {"op": a.op, "tool": a.tool,
             "args": [{"key": x.key, "expected": x.expected, "actual": x.actual, "same": x.same} for x in a.args]}
            for a in self.lines
        ]


def _text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _matches(expected: Any, actual: Any, present: bool = True) -> bool:
    """A reader's approximation of the matchers of DESIGN.md (display only)."""
    if is_matcher(expected):
        op, arg = next(iter(expected.items()))
        if op == "$optional":
            return not present or _matches(arg, actual)
        if not present:
            return False
        if op == "$any":
            return True
        if op == "$in" and isinstance(arg, list):
            return any(_matches(a, actual) for a in arg)
        if op == "$regex" and isinstance(actual, str):
            try:
                return re.search(str(arg), actual) is not None
            except re.error:
                return False
        if op == "$contains":
            return isinstance(actual, str) and str(arg).lower() in actual.lower()
        if op == "$text" and isinstance(actual, str):
            def squash(s: str) -> str:
                return re.sub(r"[\W_]+", "", s).lower()
            return squash(str(arg)) == squash(actual)
        if op == "$approx" and isinstance(arg, list) and len(arg) == 2 and isinstance(actual, (int, float)):
            return math.isclose(float(actual), float(arg[0]), abs_tol=float(arg[1]))
        return False
    if not present:
        return False
    if isinstance(expected, dict) and isinstance(actual, dict):
        keys = set(expected) | set(actual)
        return all(_matches(expected.get(k), actual.get(k), k in actual) for k in keys if k in expected) and \
            all(k in expected for k in actual)
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(_matches(e, a) for e, a in zip(expected, actual, strict=True))
    return canonical(expected) == canonical(actual)


def _arg_lines(expected: dict[str, Any], actual: dict[str, Any]) -> list[ArgLine]:
    lines = []
    for key in list(expected) + [k for k in actual if k not in expected]:
        present = key in actual
        if key in expected:
            same = _matches(expected[key], actual.get(key), present)
            lines.append(ArgLine(key, _text(expected[key]), _text(actual[key]) if present else None, same))
        else:
            lines.append(ArgLine(key, None, _text(actual[key]), False))
    return lines


def actual_writes(timeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Write side effects of a run: carried out (no policy refusal, valid) and not answered with an error."""
    return [
        s for s in timeline
        if s.get("kind") == "tool" and s.get("effect") == "write" and not s.get("policy")
        and not s.get("invalid") and not s.get("error")
    ]


def _args_of(item: dict[str, Any]) -> dict[str, Any]:
    args = item.get("args")
    return args if isinstance(args, dict) else {}


def diff_actions(expected: list[Any], timeline: list[dict[str, Any]]) -> ActionDiff:
    """Pair expected actions with the run's writes (same tool, most agreeing arguments)."""
    writes = [(str(s.get("tool")), _args_of(s)) for s in actual_writes(timeline)]
    used = [False] * len(writes)
    lines: list[ActionLine] = []
    for exp in expected:
        if not isinstance(exp, dict):
            continue
        tool = str(exp.get("tool"))
        exp_args = _args_of(exp)
        best, best_score = -1, -1
        for i, (name, args) in enumerate(writes):
            if used[i] or name != tool:
                continue
            score = sum(line.same for line in _arg_lines(exp_args, args))
            if score > best_score:
                best, best_score = i, score
        if best < 0:
            lines.append(ActionLine("missing", tool, _arg_lines(exp_args, {})))
            continue
        used[best] = True
        paired = _arg_lines(exp_args, writes[best][1])
        lines.append(ActionLine("same" if all(a.same for a in paired) else "changed", tool, paired))
    for i, (name, extra) in enumerate(writes):
        if not used[i]:
            lines.append(ActionLine("extra", name, _arg_lines({}, normalize(extra))))
    return ActionDiff(lines)
