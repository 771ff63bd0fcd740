"""The suite's policy, applied to each tool call before it is carried out.

A refused call is not carried out; the reason is recorded on the step (``Step.policy``),
prefixed by the kind of rule that refused it so reports and verdicts can tell a forbidden
bulk close (critical) from a call beyond ``max_tool_calls``.
"""

from __future__ import annotations

import json
import math
from typing import Any

from agentctl.config.models import Condition, Policy, PolicyRule
from agentctl.core.normalize import canonical
from agentctl.datasets.models import ToolCatalog

_MISSING = object()

_SYMBOLS = {"eq": "==", "ne": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


class PolicyChecker:
    """Decides whether a tool call is allowed; one per suite (it holds no per-run state)."""

    def __init__(self, policy: Policy, catalog: ToolCatalog, escalation_tool: str | None) -> None:
        self.policy = policy
        self.catalog = catalog
        self.escalation_tool = escalation_tool
        self._allowed: set[str] | None = set(policy.allow_tools) if policy.allow_tools is not None else None

    def offered_tools(self) -> list[str]:
        """Names of catalog tools the agent is offered: ``allow_tools`` (default all) plus the hand-off."""
        return [
            name
            for name in self.catalog.names
            if self._allowed is None or name in self._allowed or name == self.escalation_tool
        ]

    def check(self, tool: str, args: dict[str, Any] | None, calls_so_far: int) -> str | None:
        """``None`` when the call is allowed, else why not (``forbid: ...``, ``require_approval: ...``,
        ``not_allowed: ...``, ``max_tool_calls: ...``).

        ``calls_so_far`` counts the tool calls the run made before this one. ``args`` is ``None``
        when the arguments could not be parsed: then only rules without conditions can match.
        """
        # forbid and require_approval first: they make a run critical, a count overflow does not.
        for kind, rules in (("forbid", self.policy.forbid), ("require_approval", self.policy.require_approval)):
            for rule in rules:
                held = _rule_holds(rule, tool, args)
                if held is not None:
                    return f"{kind}: {tool}{held}"
        # Handing off to a person is always possible, whatever the allow-list and the count.
        if tool == self.escalation_tool:
            return None
        if self._allowed is not None and tool not in self._allowed:
            return f"not_allowed: {tool} is not in allow_tools"
        limit = self.policy.max_tool_calls
        if limit is not None and calls_so_far + 1 > limit:
            return f"max_tool_calls: call {calls_so_far + 1} > {limit}"
        return None


def _rule_holds(rule: PolicyRule, tool: str, args: dict[str, Any] | None) -> str | None:
    """The description of why ``rule`` catches the call (`` a=1 > 0``), ``None`` if it does not."""
    if rule.tool != tool:
        return None
    conditions = rule.conditions
    if not conditions:
        return ""
    parts = []
    for cond in conditions:
        described = condition_holds(cond, args)
        if described is None:
            return None
        parts.append(described)
    return " " + " and ".join(parts)


def condition_holds(cond: Condition, args: dict[str, Any] | None) -> str | None:
    """A readable form of the condition with the actual value when it holds, else ``None``.

    A missing argument never satisfies a condition (not even ``ne``).
    """
    value = _lookup(args, cond.arg)
    if value is _MISSING:
        return None
    op, bound = cond.op, cond.value
    if op in ("eq", "ne"):
        # Canonical JSON keeps true and 1 apart (Python's == does not) and 5 == 5.0 together.
        equal = canonical(value) == canonical(bound)
        if equal != (op == "eq"):
            return None
        return f"{cond.arg}={_show(value)} {_SYMBOLS[op]} {_show(bound)}"
    if op in ("gt", "gte", "lt", "lte"):
        if not _is_number(value):
            return None
        ok = {"gt": value > bound, "gte": value >= bound, "lt": value < bound, "lte": value <= bound}[op]
        return f"{cond.arg}={_show(value)} {_SYMBOLS[op]} {_show(bound)}" if ok else None
    if op == "in":
        options = {canonical(v) for v in bound or []}
        if canonical(value) not in options:
            return None
        return f"{cond.arg}={_show(value)} in {_show(bound)}"
    if op == "len_gt":
        if not isinstance(value, list):
            return None
        return f"len({cond.arg})={len(value)} > {bound}" if len(value) > bound else None
    raise AssertionError(f"unknown condition operator {op}")


def _lookup(args: dict[str, Any] | None, path: str) -> Any:
    """The argument at a dotted path (``address.country``), or ``_MISSING``."""
    if args is None:
        return _MISSING
    current: Any = args
    if path in args:  # an argument whose own name contains a dot
        return args[path]
    for part in path.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return _MISSING
    return current


def _is_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return not (isinstance(value, float) and math.isnan(value))


def _show(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return json.dumps(value, ensure_ascii=False)
