"""One environment per run: :class:`EnvironmentFactory` (one per evaluation) makes an
:class:`EnvironmentRun` for each run, over a fresh copy-on-access view of the case's
initial state, so runs, repeats and candidates never share state.

An environment's exception is caught here and returned as an :class:`EnvAnswer` with the
traceback; ``NotImplementedError`` means "not mine" and gives ``None`` (the caller falls
back to fixtures and recordings). Whether an output is an *error* is the engine's rule
(``agentctl.engine.tools.is_error_output``), not decided here.
"""

from __future__ import annotations

import threading
import traceback
from dataclasses import dataclass
from typing import Any

from agentctl.core.normalize import is_matcher
from agentctl.environments.state import (
    LazyRecords,
    content_hash,
    copy_json,
    final_state_hash,
    merge_patch,
    state_diff,
    view_of,
)

_TRACEBACK_LIMIT = 8000


@dataclass(frozen=True)
class EnvAnswer:
    """What the environment answered one call with."""

    output: Any
    """The tool's output (str or JSON value); for an exception, its message."""
    traceback: str | None = None
    """Set when the environment raised: the formatted traceback."""

    @property
    def raised(self) -> bool:
        return self.traceback is not None


@dataclass(frozen=True)
class StateOutcome:
    """What a run left behind."""

    initial: Any
    final: Any
    diff: list[dict[str, Any]]
    """``[{"path", "old", "new"}]`` from the initial to the final snapshot."""
    hash: str
    error: str | None = None
    """Why the final snapshot could not be taken (an exception in ``snapshot()``)."""


class EnvironmentFactory:
    """An imported ``Environment`` class and its base state; shared by every run."""

    def __init__(self, cls: type, base_state: Any, origin: str) -> None:
        self.cls = cls
        self.base_state = base_state
        self.origin = origin
        self._lock = threading.Lock()
        self._initial: dict[str, tuple[Any, str, dict[str, Any]]] = {}
        self._expected: dict[str, tuple[Any, str | None]] = {}
        self._base_hash: str | None = None

    def initial_state(self, case: Any) -> Any:
        """The case's initial state (shared, never changed): state.json with ``initial_state`` merged in."""
        return self._initial_for(case)[0]

    def _initial_for(self, case: Any) -> tuple[Any, str, dict[str, Any]]:
        with self._lock:
            hit = self._initial.get(case.id)
            if hit is None:
                patch = getattr(case, "initial_state", None)
                state = merge_patch(self.base_state, patch) if patch else self.base_state
                if self._base_hash is None:
                    self._base_hash = content_hash(self.base_state)
                case_dict = case.model_dump(mode="json", exclude_none=True)
                hit = (state, content_hash({"base": self._base_hash, "patch": patch or {}}), case_dict)
                self._initial[case.id] = hit
            return hit

    def start(self, case: Any) -> EnvironmentRun:
        """A new environment for one run of ``case``, on its own copy of the initial state."""
        state, initial_hash, case_dict = self._initial_for(case)
        # The case as a copy-on-access view too: its fixtures can be large, and few environments read them.
        instance = self.cls(LazyRecords(case_dict), view_of(state))
        return EnvironmentRun(self, case, instance, initial_hash)

    def expected_state(self, case: Any, escalation_tool: str | None) -> tuple[Any, str | None]:
        """The snapshot ``expected.actions`` produce, run in order on a fresh environment
        (``from_actions``), or ``(None, why not)``. Computed once per case."""
        with self._lock:
            hit = self._expected.get(case.id)
        if hit is not None:
            return hit
        hit = self._run_expected(case, escalation_tool)
        with self._lock:
            self._expected[case.id] = hit
        return hit

    def _run_expected(self, case: Any, escalation_tool: str | None) -> tuple[Any, str | None]:
        from agentctl.datasets.recorded_calls import is_error_output, output_text

        try:
            run = self.start(case)
        except Exception as exc:
            return None, f"the environment could not be created: {type(exc).__name__}: {exc}"
        for i, action in enumerate(case.expected.actions):
            if action.tool == escalation_tool:
                continue
            where = f"expected.actions[{i}] {action.tool}"
            if action.args is None or _has_matcher(action.args):
                return None, f"{where}: from_actions needs literal arguments (no matchers)"
            answer = run.call(action.tool, action.args)
            if answer is None:
                return None, f"{where}: the environment does not implement this tool"
            if answer.raised:
                return None, f"{where} raised {answer.output}"
            if is_error_output(output_text(answer.output)):
                return None, f"{where} was answered with an error: {output_text(answer.output)[:200]}"
        outcome = run.finish()
        if outcome.error:
            return None, outcome.error
        return outcome.final, None


class EnvironmentRun:
    """The environment of one run."""

    def __init__(self, factory: EnvironmentFactory, case: Any, instance: Any, initial_hash: str) -> None:
        self.factory = factory
        self.case = case
        self.instance = instance
        self.initial_hash = initial_hash
        self.initial_snapshot = copy_json(instance.snapshot())
        self._outcome: StateOutcome | None = None

    def call(self, tool: str, args: dict[str, Any]) -> EnvAnswer | None:
        """Execute a call; ``None`` when the environment declines the tool (NotImplementedError)."""
        try:
            return EnvAnswer(self.instance.call(tool, dict(args)))
        except NotImplementedError:
            return None
        except Exception as exc:  # a bug in environment.py: shown on the step, never hidden
            from agentctl.core.secrets import redact_text

            text = redact_text(traceback.format_exc())  # a traceback may quote a key from the environment
            if len(text) > _TRACEBACK_LIMIT:
                text = text[:1000] + "\n...\n" + text[-(_TRACEBACK_LIMIT - 1005):]
            message = redact_text(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
            return EnvAnswer(message, traceback=text)

    def finish(self) -> StateOutcome:
        """The final snapshot, its difference from the initial one and its hash (once)."""
        if self._outcome is None:
            try:
                final = self.instance.snapshot()
            except Exception as exc:
                error = f"snapshot() raised {type(exc).__name__}: {exc}"
                self._outcome = StateOutcome(self.initial_snapshot, None, [], "", error)
                return self._outcome
            diff = state_diff(self.initial_snapshot, final)
            self._outcome = StateOutcome(self.initial_snapshot, final, diff, final_state_hash(self.initial_hash, diff))
        return self._outcome


def _has_matcher(value: Any) -> bool:
    if is_matcher(value):
        return True
    if isinstance(value, dict):
        return any(_has_matcher(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_matcher(v) for v in value)
    return False


__all__ = ["EnvAnswer", "EnvironmentFactory", "EnvironmentRun", "StateOutcome"]
