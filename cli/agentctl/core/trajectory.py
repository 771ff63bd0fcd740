"""What a run did: its steps (model calls and tool calls), status, usage and cost.

Both ways of producing a run, replaying a recording and driving a model through litellm,
produce a :class:`Trajectory`; scorers only ever look at trajectories.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

StepKind = Literal["model", "tool", "user"]
"""``user``: a message of the (simulated or recorded) user in a multi-turn run."""
Effect = Literal["read", "write", "escalation", "unknown"]
AnsweredBy = Literal["environment", "fixture", "recording", "none"]


def resolve_effect(
    tool: str | None, recorded: str | None = None, *, escalation_tool: str | None = None, declared: str | None = None
) -> Effect:
    """What a call to ``tool`` does: the hand-off is an ``escalation``; else the effect already
    recorded on the step, else the catalog's (``declared``), else ``unknown``."""
    if tool is not None and tool == escalation_tool:
        return "escalation"
    for effect in (recorded, declared):
        if effect in ("read", "write", "escalation"):
            return effect  # type: ignore[return-value]
    return "unknown"


def is_write(effect: str | None) -> bool:
    """A call that changes the world: a write tool, or a tool nobody declared (the safe assumption)."""
    return effect in ("write", "unknown")


def is_write_side_effect(step: Step) -> bool:
    """The one rule of a write side effect: a write call carried out (no policy refusal, valid)
    and not answered with an error. Outcome scoring pairs exactly these with ``expected.actions``;
    the deepeval/ragas mapping and the reports' action diff select the same calls."""
    return step.kind == "tool" and is_write(step.effect) and step.carried_out and not step.error


@dataclass
class ToolCall:
    """A tool call as the model made it."""

    id: str
    name: str
    raw_arguments: str
    """The arguments text exactly as the model produced it."""
    arguments: dict[str, Any] | None
    """Parsed arguments; ``None`` when ``raw_arguments`` is not a JSON object."""
    parse_error: str | None = None


@dataclass
class Step:
    """One model call, tool call or user message of a run (a row of the ``steps`` table)."""

    index: int
    kind: StepKind
    # model steps
    content: str | None = None
    """Text the model (or, for a ``user`` step, the user) said in this turn."""
    tool_calls: list[ToolCall] = field(default_factory=list)
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: float = 0.0
    """Inference cost of a model step; the tool's ``cost_usd`` for a carried-out tool step;
    the simulator's cost for a ``user`` step (the run's ``user_cost_usd``, not the agent's)."""
    latency_s: float | None = None
    cached: bool = False
    """The model's answer came from the response cache."""
    attempts: int = 1
    """Requests the model call took (retries + 1; 0 when cached)."""
    # tool steps
    tool: str | None = None
    call_id: str | None = None
    args: dict[str, Any] | None = None
    raw_args: str | None = None
    output: str | None = None
    """What the tool answered (the text the model saw)."""
    effect: Effect | None = None
    error: bool = False
    """The tool answered with an error: nothing changed."""
    policy: str | None = None
    """``None`` when allowed; otherwise why the call was refused, e.g.
    ``require_approval: issue_refund amount_cents > 10000``, ``forbid: ...``,
    ``not_allowed: ...``, ``max_tool_calls: ...``."""
    policy_notes: list[str] = field(default_factory=list)
    """Cedar evaluation errors of an allowed call (the call went ahead; the run's reasons say so)."""
    invalid: str | None = None
    """Why the call was invalid (arguments not JSON, schema violation, unknown tool)."""
    divergence: bool = False
    """A read call nothing could answer (the candidate left the recorded path)."""
    answered_by: AnsweredBy | None = None
    """Who answered a carried-out tool call: ``environment``, ``fixture``, ``recording``, or
    ``none`` (nothing could: a divergence, or a write acknowledged with ``{"ok": true}``, itself
    a divergence when the run has an environment). ``None`` for calls not carried out
    (refused, invalid) and for the hand-off."""
    traceback: str | None = None
    """The environment raised: its traceback (the model was answered ``Error: <message>``)."""
    env_output: str | None = None
    """Replays: what the environment answered when it differs from the recorded output
    (a sign the environment and production disagree); None when they agree."""

    @property
    def carried_out(self) -> bool:
        return self.kind == "tool" and self.policy is None and self.invalid is None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Step:
        """A step from a row of the ``steps`` table (as stored; unknown columns ignored)."""
        args = row.get("args")
        return cls(
            index=int(row.get("step") or 0), kind=row.get("kind") or "tool", content=row.get("content"),
            tool=row.get("tool"), call_id=row.get("call_id"), args=args if isinstance(args, dict) else None,
            raw_args=args if isinstance(args, str) else None, output=row.get("output"), effect=row.get("effect"),
            error=bool(row.get("error")), policy=row.get("policy") or None, invalid=row.get("invalid") or None,
            divergence=bool(row.get("divergence")), cost_usd=float(row.get("cost_usd") or 0.0),
        )


@dataclass
class Trajectory:
    """Everything a run did."""

    case_id: str
    candidate: str
    repeat: int
    model: str
    steps: list[Step] = field(default_factory=list)
    status: Literal["completed", "escalated", "failed"] = "failed"
    failure_reason: str | None = None
    """For ``failed``: ``max_steps``, ``budget``, ``provider_error``, ``invalid_tool_call``,
    ``incomplete``, ``no_recording``, ..."""
    infra_error: bool = False
    """Failed because the provider failed after retries (not the model's fault)."""
    error_detail: str | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)
    """The full transcript, OpenAI chat format."""
    inference_cost_usd: float = 0.0
    user_cost_usd: float = 0.0
    """What the user simulator's calls cost (apart from the agent's cost)."""
    latency_s: float = 0.0
    """Wall time of the run (recorded for replays)."""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    source_run_id: str | None = None
    """For replays: the recorded run replayed."""
    environment: Any = None
    """The run's :class:`agentctl.environments.runtime.EnvironmentRun` (stateful datasets), whose
    final state is judged and stored; None without an environment. (Typed loosely: the core
    imports nothing above it.)"""

    @property
    def model_steps(self) -> list[Step]:
        return [s for s in self.steps if s.kind == "model"]

    @property
    def user_steps(self) -> list[Step]:
        return [s for s in self.steps if s.kind == "user"]

    @property
    def tool_steps(self) -> list[Step]:
        return [s for s in self.steps if s.kind == "tool"]

    @property
    def writes(self) -> list[Step]:
        """Write side effects: carried-out write calls whose answer was not an error."""
        return [s for s in self.tool_steps if is_write_side_effect(s)]

    @property
    def failed_writes(self) -> list[Step]:
        """Write calls that were carried out but answered with an error (changed nothing)."""
        return [s for s in self.tool_steps if is_write(s.effect) and s.carried_out and s.error]

    @property
    def policy_violations(self) -> list[Step]:
        return [s for s in self.tool_steps if s.policy is not None]

    @property
    def texts(self) -> list[str]:
        """Every text message of the agent, in order."""
        return [s.content for s in self.model_steps if s.content]

    @property
    def final_text(self) -> str | None:
        texts = self.texts
        return texts[-1] if texts else None

    @property
    def unverifiable(self) -> bool:
        """A tool call nothing could answer: the verdict rests on an answer nobody gave."""
        return any(s.divergence for s in self.tool_steps)

    @property
    def tool_cost_usd(self) -> float:
        return sum(s.cost_usd for s in self.tool_steps)
