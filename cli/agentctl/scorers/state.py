"""Outcome by state: the final snapshot of a run's environment against ``expected.state``.

``"from_actions"`` compares the whole snapshot with the one ``expected.actions`` produce on a
fresh environment for the case, as JSON values. A mapping of dotted paths checks only those
paths, with the argument matchers (:mod:`agentctl.core.matchers`).

A differing path the run changed (its final value is not its initial one) is a wrong write:
critical. A differing path the run left as it was is a missing write: incorrect, not critical.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agentctl.core.matchers import match_value, render_value
from agentctl.core.trajectory import Trajectory
from agentctl.datasets.models import Case
from agentctl.environments.runtime import EnvironmentRun
from agentctl.environments.state import MISSING, get_path, json_equal, state_diff, to_json

MAX_STATE_REASONS = 10


@dataclass(frozen=True)
class StateCheck:
    """How a run's final state compares with the expected one."""

    ok: bool
    critical: bool
    reasons: list[str] = field(default_factory=list)


def check_state(case: Case, trajectory: Trajectory, escalation_tool: str | None) -> StateCheck:
    """Judge the run's final state (``case.expected.state`` must be set)."""
    expected = case.expected.state
    env: EnvironmentRun | None = trajectory.environment
    if env is None:
        if trajectory.status == "failed" and trajectory.failure_reason == "environment_error":
            return StateCheck(False, False, [f"state: {trajectory.error_detail}"])
        return StateCheck(False, False, ["state: expected.state needs an environment (environment.py)"])
    outcome = env.finish()
    if outcome.error or outcome.final is None:
        return StateCheck(False, False, [f"state: {outcome.error}"])
    failures: list[tuple[str, str, bool]] = []  # (path, why, changed by the run)
    if expected == "from_actions":
        want, why = env.factory.expected_state(case, escalation_tool)
        if why is not None:
            return StateCheck(False, False, [f"state: cannot build the expected state: {why}"])
        for d in state_diff(want, outcome.final):
            path = d["path"]
            wanted, got = d.get("old", MISSING), d.get("new", MISSING)
            failures.append((path, f"expected {_show(wanted)}, got {_show(got)}", _changed(outcome.initial, path, got)))
    elif isinstance(expected, dict):
        for path, matcher in expected.items():
            got = get_path(outcome.final, path)
            if got is MISSING:
                if isinstance(matcher, dict) and set(matcher) == {"$optional"}:
                    continue
                problem: str | None = f"expected {render_value(matcher)}, got no value"
            else:
                got = to_json(got)
                problem = match_value(matcher, got)
            if problem is not None:
                failures.append((path, problem, _changed(outcome.initial, path, got)))
    reasons = [f"state: {path}: {why}" for path, why, _ in failures[:MAX_STATE_REASONS]]
    if len(failures) > MAX_STATE_REASONS:
        reasons.append(f"state: (and {len(failures) - MAX_STATE_REASONS} more differing paths)")
    return StateCheck(not failures, any(changed for _, _, changed in failures), reasons)


def _changed(initial: Any, path: str, final_value: Any) -> bool:
    before = get_path(initial, path)
    if before is MISSING or final_value is MISSING:
        return before is not final_value
    return not json_equal(before, final_value)


def _show(value: Any) -> str:
    return "no value" if value is MISSING else render_value(value)
