"""Expected write actions against the actual ones, as a diff a person can read.

The diff explains the verdict with the scorer's own rules: the run's write side effects
(:func:`~agentctl.core.trajectory.is_write_side_effect`), paired with the expected actions by
outcome scoring's maximum pairing (:func:`~agentctl.scorers.outcome.pair_writes`), a wrong
write shown against the action it differs least from
(:func:`~agentctl.scorers.outcome.closest_unpaired`), and each argument judged by the
matchers' own per-argument differences (:func:`~agentctl.core.matchers.key_differences`).
So the HTML diff can never contradict the verdict it explains.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from agentctl.core.matchers import key_differences, match_args
from agentctl.core.normalize import normalize
from agentctl.core.trajectory import Step, is_write, is_write_side_effect
from agentctl.datasets.models import ExpectedAction
from agentctl.scorers.outcome import closest_unpaired, pair_writes


@dataclass
class ArgLine:
    key: str
    expected: str | None
    """JSON text of the expected value (or matcher); ``None`` when the key is not expected."""
    actual: str | None
    """JSON text of the actual value; ``None`` when the call left it out."""
    same: bool
    reason: str | None = None
    """The matcher's difference for this argument (``None`` when it matches)."""


@dataclass
class ActionLine:
    op: str
    """``same`` | ``changed`` | ``missing`` (expected, not done) | ``extra`` (done, not expected)."""
    tool: str
    args: list[ArgLine] = field(default_factory=list)
    reason: str | None = None
    """For ``changed``: the verdict's own difference text (what :func:`match_args` says)."""


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


def _arg_lines(expected: dict[str, Any] | None, actual: dict[str, Any]) -> list[ArgLine]:
    if expected is None:  # any arguments do
        return [ArgLine(key, None, _text(value), True) for key, value in actual.items()]
    lines = []
    for key, reasons in key_differences(expected, actual):
        want = _text(expected[key]) if key in expected else None
        got = _text(actual[key]) if key in actual else None
        lines.append(ArgLine(key, want, got, not reasons, "; ".join(reasons) or None))
    return lines


def actual_writes(timeline: list[dict[str, Any]]) -> list[Step]:
    """Write side effects of a run, from its stored steps (the rule outcome scoring uses)."""
    # A step keeps its row's effect, and a side effect is a write: the others need no Step.
    steps = [Step.from_row(s) for s in timeline if is_write(s.get("effect"))]
    return [s for s in steps if is_write_side_effect(s)]


def _action(item: Any) -> ExpectedAction | None:
    if not isinstance(item, dict) or not isinstance(item.get("tool"), str):
        return None
    args = item.get("args")
    return ExpectedAction.model_construct(tool=item["tool"], args=args if isinstance(args, dict) else None)


def diff_actions(expected: list[Any], timeline: list[dict[str, Any]]) -> ActionDiff:
    """Expected actions in order (as expected, arguments differ, or missing), then extra writes."""
    actions = [a for a in (_action(item) for item in expected) if a is not None]
    writes = actual_writes(timeline)
    pairing = pair_writes(actions, writes)
    closest = {i: j for j, i in closest_unpaired(actions, writes, pairing).items()}  # action -> write
    lines: list[ActionLine] = []
    for i, action in enumerate(actions):
        if i in pairing.pairs:
            write = writes[pairing.pairs[i]]
            lines.append(ActionLine("same", action.tool, _arg_lines(action.args, write.args or {})))
        elif i in closest:
            write = writes[closest[i]]
            lines.append(ActionLine("changed", action.tool, _arg_lines(action.args, write.args or {}),
                                    match_args(action.args, write.args)))
        else:
            lines.append(ActionLine("missing", action.tool, _arg_lines(action.args or {}, {})))
    shown = set(pairing.pairs.values()) | set(closest.values())
    for j, write in enumerate(writes):
        if j not in shown:
            lines.append(ActionLine("extra", write.tool or "?", _arg_lines({}, normalize(write.args or {}))))
    return ActionDiff(lines)
