"""From a run to the test cases of deepeval and ragas: done once, here.

What goes where (the same for both libraries):

- **Agent tool calls**: by default (``calls: effects``) the run's write side effects, the
  very calls outcome scoring compares with ``expected.actions`` (carried-out writes whose
  answer was not an error). ``calls: writes`` takes every write the agent attempted,
  refused or failed ones too; ``calls: all`` every tool call, reads included (for cases
  whose ``expected.actions`` list reads). Escalation calls count only under ``all``. Each
  becomes a deepeval ``ToolCall(name, input_parameters)`` / ragas ``ToolCall(name, args)``
  with the parsed arguments, normalised (``5.0`` -> ``5``, keys sorted); arguments that
  did not parse become ``{"_unparsed_arguments": "<raw text>"}`` so they match nothing.
- **Expected actions** become the reference tool calls. Matchers are resolved against the
  run: expected actions are paired with the agent's calls exactly as outcome scoring pairs
  them (maximum one-to-one matching); a matcher takes the paired call's value when it
  matches that value (so it compares equal), an ``$optional`` argument the call left out is
  dropped, and a matcher that does not match becomes the text ``<$op arg>`` (equal to
  nothing). An expected action without ``args`` takes its paired call's arguments (any
  arguments are right), or ``{}`` when unpaired. Concrete values are compared as they are.
- **Input**: ``case.input_text()`` (deepeval ``input``, ragas ``user_input``); the ragas
  conversation starts with the case's messages (``HumanMessage``/``AIMessage``).
- **Answer**: the agent's final text message (``actual_output`` / ``response``).
- **Conversation** (ragas multi-turn metrics, deepeval ``tools_called`` of judged metrics):
  every model turn as an ``AIMessage`` carrying its tool calls, every tool answer as a
  ``ToolMessage``.
- **Retrieved context**: the outputs of the run's tool calls whose tool is in
  ``case.context_tools``; without those, ``case.context``. **Reference context** (ragas
  non-LLM context metrics): ``case.context``.
- **Reference answer**: the scorer's ``args.reference``, else ``case.metadata["reference"]``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from agentctl.core.matchers import match_value, render_call
from agentctl.core.normalize import is_matcher, normalize
from agentctl.core.trajectory import is_write
from agentctl.scorers.outcome import pair_writes

if TYPE_CHECKING:
    from agentctl.core.trajectory import Step, Trajectory
    from agentctl.datasets.models import ExpectedAction
    from agentctl.scorers.base import ScoringContext

CallSelection = Literal["effects", "writes", "all"]
CALL_SELECTIONS: tuple[str, ...] = ("effects", "writes", "all")


@dataclass(frozen=True)
class Call:
    """A tool call, library-neutral."""

    name: str
    args: dict[str, Any]
    output: str | None = None


@dataclass
class Turn:
    """One message of the conversation as the libraries see it."""

    role: Literal["user", "assistant", "tool"]
    content: str = ""
    calls: list[Call] = field(default_factory=list)


@dataclass
class RunView:
    """One run, in the terms both libraries use."""

    input: str
    answer: str
    """The agent's final text message ("" when it said nothing)."""
    called: list[Call]
    """The agent's calls selected by ``calls`` (see the module docstring)."""
    expected: list[Call]
    """``expected.actions`` with matchers resolved against ``called``."""
    conversation: list[Turn]
    """The whole run: case input, every model turn and tool answer."""
    tool_conversation: list[Turn]
    """The conversation with only the selected calls (for ragas tool-call metrics)."""
    retrieved_context: list[str]
    reference_context: list[str] | None
    reference: str | None
    ordered: bool
    """``expected.ordered`` of the case."""


def run_view(ctx: ScoringContext, calls: CallSelection = "effects", reference: str | None = None) -> RunView:
    """Map one run (case + trajectory) to what the libraries take."""
    case, traj = ctx.case, ctx.trajectory
    selected = select_calls(traj, calls)
    keep = {id(s) for s in selected}
    ref = reference if reference is not None else case.metadata.get("reference")
    return RunView(
        input=case.input_text(),
        answer=traj.final_text or "",
        called=[step_call(s) for s in selected],
        expected=resolve_expected(case.expected.actions, selected),
        conversation=conversation(ctx, keep=None),
        tool_conversation=conversation(ctx, keep=keep),
        retrieved_context=retrieved_context(ctx),
        reference_context=list(case.context) if case.context else None,
        reference=str(ref) if ref is not None else None,
        ordered=case.expected.ordered,
    )


def select_calls(traj: Trajectory, calls: CallSelection) -> list[Step]:
    """The tool steps a tool-call metric compares (see the module docstring)."""
    if calls == "effects":
        return traj.writes
    if calls == "writes":
        return [s for s in traj.tool_steps if is_write(s.effect)]
    return traj.tool_steps


def step_call(step: Step, with_output: bool = False) -> Call:
    if step.args is not None:
        args = normalize(step.args)
    else:
        args = {"_unparsed_arguments": step.raw_args or ""}
    return Call(step.tool or "", args, step.output if with_output else None)


def resolve_expected(actions: list[ExpectedAction], steps: list[Step]) -> list[Call]:
    """Expected actions as concrete calls, matchers resolved against the paired agent calls."""
    pairing = pair_writes(actions, steps)
    partner: dict[int, int] = dict(pairing.pairs)
    used = set(partner.values())
    # An unpaired action still borrows values from an unused call of its tool, so matchers
    # that do match it count as matched in partial-credit metrics.
    for i in pairing.unpaired_actions:
        j = next((j for j, s in enumerate(steps) if j not in used and s.tool == actions[i].tool), None)
        if j is not None:
            partner[i] = j
            used.add(j)
    out: list[Call] = []
    for i, action in enumerate(actions):
        step = steps[partner[i]] if i in partner else None
        actual = normalize(step.args) if step is not None and step.args is not None else None
        if action.args is None:
            out.append(Call(action.tool, actual if actual is not None else {}))
        else:
            out.append(Call(action.tool, _resolve_dict(normalize(action.args), actual)))
    return out


_ABSENT = object()


def _resolve(expected: Any, actual: Any) -> Any:
    if is_matcher(expected):
        if actual is not _ABSENT and match_value(expected, actual) is None:
            return actual
        op, arg = next(iter(expected.items()))
        return f"<{op} {json.dumps(arg, ensure_ascii=False)}>"
    if isinstance(expected, dict):
        return _resolve_dict(expected, actual if isinstance(actual, dict) else None)
    if isinstance(expected, list):
        if isinstance(actual, list) and len(actual) == len(expected):
            return [_resolve(e, a) for e, a in zip(expected, actual, strict=True)]
        return [_resolve(e, _ABSENT) for e in expected]
    return expected


def _resolve_dict(expected: dict[str, Any], actual: dict[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, want in expected.items():
        got = actual.get(key, _ABSENT) if actual is not None else _ABSENT
        if got is _ABSENT and is_matcher(want) and next(iter(want)) == "$optional":
            continue  # left out, as it may be
        out[key] = _resolve(want, got)
    return out


def conversation(ctx: ScoringContext, keep: set[int] | None) -> list[Turn]:
    """Case input, then model turns with their tool calls and tool answers, in order.

    ``keep``: ids of the tool steps to include (``None``: all of them).
    """
    turns: list[Turn] = []
    for m in ctx.case.input_messages():
        role = m.get("role")
        if role in ("user", "assistant"):
            turns.append(Turn("user" if role == "user" else "assistant", _text(m.get("content"))))
    current: Turn | None = None
    answered = False
    for step in ctx.trajectory.steps:
        if step.kind == "model":
            current = Turn("assistant", step.content or "")
            turns.append(current)
            answered = True
        elif step.kind == "user":
            if answered:  # user steps before the agent's first turn are the case input, above
                current = None
                turns.append(Turn("user", step.content or ""))
        elif keep is None or id(step) in keep:
            if current is None:  # a tool answer with no model turn before it (odd recordings)
                current = Turn("assistant")
                turns.append(current)
            current.calls.append(step_call(step))
            turns.append(Turn("tool", step.output or ""))
    return turns


def describe_calls(view: RunView) -> str:
    """A reason for tool-call metrics whose library gives none: what was expected and called."""
    expected = ", ".join(render_call(c.name, c.args) for c in view.expected) or "none"
    called = ", ".join(render_call(c.name, c.args) for c in view.called) or "none"
    return f"expected: {expected}; called: {called}"


def retrieved_context(ctx: ScoringContext) -> list[str]:
    tools = set(ctx.case.context_tools or ())
    if tools:
        found = [
            s.output
            for s in ctx.trajectory.tool_steps
            if s.tool in tools and s.carried_out and not s.error and s.output
        ]
        if found:
            return found
    return list(ctx.case.context or [])


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return "" if content is None else str(content)


# --- library objects (the libraries are imported only here, inside the functions) ----------


def deepeval_tool_calls(calls: list[Call]) -> list[Any]:
    from deepeval.test_case import ToolCall

    return [ToolCall(name=c.name, input_parameters=c.args, output=c.output) for c in calls]


def deepeval_test_case(
    view: RunView, *, tools_called: list[Call] | None = None, expected_output: str | None = None
) -> Any:
    """An ``LLMTestCase``: input, final answer, tool calls, expected tools, retrieval context."""
    from deepeval.test_case import LLMTestCase

    return LLMTestCase(
        input=view.input,
        actual_output=view.answer,
        expected_output=expected_output,
        retrieval_context=list(view.retrieved_context) or None,  # type: ignore[arg-type]
        context=view.reference_context,
        tools_called=deepeval_tool_calls(view.called if tools_called is None else tools_called),
        expected_tools=deepeval_tool_calls(view.expected),
    )


def all_calls_with_output(ctx: ScoringContext) -> list[Call]:
    """Every tool call of the run with its answer (what a judge should see)."""
    return [step_call(s, with_output=True) for s in ctx.trajectory.tool_steps]


def ragas_tool_calls(calls: list[Call]) -> list[Any]:
    from ragas.messages import ToolCall

    return [ToolCall(name=c.name, args=c.args) for c in calls]


def ragas_messages(turns: list[Turn]) -> list[Any]:
    """The conversation as ragas messages (``HumanMessage``, ``AIMessage``, ``ToolMessage``)."""
    from ragas.messages import AIMessage, HumanMessage, ToolMessage

    out: list[Any] = []
    for t in turns:
        if t.role == "user":
            out.append(HumanMessage(content=t.content))
        elif t.role == "tool":
            out.append(ToolMessage(content=t.content))
        else:
            out.append(AIMessage(content=t.content, tool_calls=ragas_tool_calls(t.calls) or None))
    return out
