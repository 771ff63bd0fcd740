"""``replay:<label>`` candidates: what production did, rebuilt as a trajectory without any model call.

Repeat *i* of a case replays the *i*-th recording of that case with the label, in file order.
Every recorded call is checked as a live call would be (arguments, JSON Schema, policy), so a
recording that broke policy shows up as a policy violation even though production carried it out.
A recording that ends with a user message holding the user simulator's ``stop`` string ended
with the user: it is ``completed``.

With an environment (a stateful dataset) every carried-out recorded call is executed again
against the run's own copy of the world, so the baseline's final state is judged like a
candidate's. What the recorded model saw stays the recorded output; when the environment
answers differently, the step keeps the environment's answer in ``env_output`` (flagged).
"""

from __future__ import annotations

import json
from typing import Any

from agentctl.config.models import DEFAULT_USER_STOP, CandidateSpec, Suite
from agentctl.core.trajectory import Step, ToolCall, Trajectory, resolve_effect
from agentctl.datasets.models import AnyRecording, Case, Dataset
from agentctl.datasets.recorded_calls import RecordedCall, message_text, output_text, recorded_calls_in
from agentctl.engine.policy import PolicyChecker
from agentctl.engine.tools import ArgumentSchemas, recording_index
from agentctl.environments import environment_for
from agentctl.environments.runtime import EnvironmentRun
from agentctl.environments.state import json_equal
from agentctl.providers.base import ProviderSettings


class ReplayProvider:
    """Replays the recordings with one label."""

    def __init__(self, label: str, suite: Suite, dataset: Dataset, *, candidate_name: str | None = None) -> None:
        self.label = label
        self.suite = suite
        self.dataset = dataset
        self.candidate_name = candidate_name or f"replay:{label}"
        self.escalation_tool = suite.agent.escalation_tool
        self.policy = PolicyChecker.for_candidate(suite.policy, dataset.tools, self.escalation_tool,
                                                   self.candidate_name, suite.base_dir)
        self.schemas = ArgumentSchemas(dataset.tools)
        self.index = recording_index(dataset)
        self.environment = environment_for(suite, dataset)
        own = suite.candidate(self.candidate_name)
        spec = suite.user_simulator_for(own) if own is not None else suite.user_simulator
        self.stop = spec.stop if spec is not None else DEFAULT_USER_STOP
        """A recording ending with a user message holding this ended with the user (completed)."""

    def recordings(self, case_id: str) -> list[AnyRecording]:
        """The recordings of a case with this label, in file order (repeat i is the i-th)."""
        return self.index.runs(case_id, self.label)

    async def run(self, case: Case, repeat: int) -> Trajectory:
        """The trajectory of the ``repeat``-th recording (from 1) of ``case``."""
        return self.replay(case, repeat)

    def replay(self, case: Case, repeat: int) -> Trajectory:
        """Synchronous :meth:`run` (replays do no I/O)."""
        runs = self.recordings(case.id)
        if not 1 <= repeat <= len(runs):
            traj = Trajectory(case.id, self.candidate_name, repeat, model=f"replay:{self.label}")
            traj.failure_reason = "no_recording"
            traj.error_detail = (
                f"no recording of case {case.id!r} with label {self.label!r}"
                if not runs
                else f"case {case.id!r} has {len(runs)} recording(s) with label {self.label!r}, not {repeat}"
            )
            return traj
        return self.trajectory(case, repeat, runs[repeat - 1])

    def trajectory(self, case: Case, repeat: int, run: AnyRecording) -> Trajectory:
        """Build the trajectory of one recorded run."""
        # parsed for this run only (a compact recording parses its line): nothing keeps it beyond the trajectory
        messages, run_usage = run.conversation()
        traj = Trajectory(
            case.id,
            self.candidate_name,
            repeat,
            model=run.model or f"replay:{self.label}",
            messages=list(messages),  # read only: scorers look, nothing appends to a replay
            source_run_id=run.run_id,
        )
        env = None
        if self.environment is not None:
            try:
                env = self.environment.start(case)
            except Exception as exc:  # a bug in environment.py: the run fails, saying why
                traj.failure_reason = "environment_error"
                traj.error_detail = f"Environment() raised {type(exc).__name__}: {exc}"
                return traj
            traj.environment = env
        calls_by_turn: dict[int, list[RecordedCall]] = {}
        for call in recorded_calls_in(messages):
            calls_by_turn.setdefault(call.turn, []).append(call)

        escalated = False
        calls_so_far = 0
        message_latency = 0.0
        steps: list[Step] = traj.steps
        # A conversation (a case with a user, or a recording with several user messages) shows
        # each user message as a step of its own, so the timeline says whose turn it was.
        users = case.user is not None or sum(1 for m in messages if m.get("role") == "user") > 1
        for turn, msg in enumerate(messages):
            if users and msg.get("role") == "user":
                steps.append(Step(index=len(steps), kind="user", content=message_text(msg)))
                continue
            if msg.get("role") != "assistant":
                continue
            calls = calls_by_turn.get(turn, [])
            usage = msg.get("usage") or {}
            latency = _number(msg.get("latency_s"))
            message_latency += latency or 0.0
            steps.append(
                Step(
                    index=len(steps),
                    kind="model",
                    content=message_text(msg) or None,
                    tool_calls=[ToolCall(c.call_id, c.name, c.raw_arguments, c.arguments, c.parse_error) for c in calls],
                    prompt_tokens=_int(usage.get("prompt_tokens")),
                    completion_tokens=_int(usage.get("completion_tokens")),
                    cost_usd=_number(msg.get("cost_usd")) or 0.0,
                    latency_s=latency,
                )
            )
            for call in calls:
                step = self._tool_step(call, len(steps), calls_so_far, env)
                calls_so_far += 1
                steps.append(step)
                escalated = escalated or step.effect == "escalation"

        traj.status, traj.failure_reason = _status(messages, escalated, self.stop)
        model_steps = traj.model_steps
        run_usage = run_usage or {}
        traj.prompt_tokens = _int(run_usage.get("prompt_tokens")) or sum(s.prompt_tokens or 0 for s in model_steps)
        traj.completion_tokens = _int(run_usage.get("completion_tokens")) or sum(
            s.completion_tokens or 0 for s in model_steps
        )
        traj.inference_cost_usd = run.cost_usd if run.cost_usd is not None else sum(s.cost_usd for s in model_steps)
        if run.cost_usd is None and not traj.inference_cost_usd and (traj.prompt_tokens or traj.completion_tokens):
            # tokens but no recorded cost (imported traces): price them (suite pricing, else litellm's map)
            from agentctl.core.pricing import token_price

            price = token_price(self.suite.pricing, run.model)
            if price is not None:
                traj.inference_cost_usd = price.cost(traj.prompt_tokens, traj.completion_tokens)
        traj.latency_s = run.latency_s if run.latency_s is not None else message_latency
        return traj

    def _tool_step(self, call: RecordedCall, index: int, calls_so_far: int, env: EnvironmentRun | None) -> Step:
        tool = self.dataset.tools.get(call.name)
        effect = resolve_effect(call.name, escalation_tool=self.escalation_tool,
                                declared=tool.effect if tool is not None else None)
        invalid = None
        error = call.error  # parses a JSON answer: once
        if call.arguments is None:
            invalid = f"invalid arguments: {call.parse_error}"
        elif tool is not None and error:
            # Production made this call; only when the tool rejected it (an error answer) is a
            # schema violation the reason it changed nothing. A call that production carried
            # out stays a side effect, to be paired (and judged) like any other write.
            problem = self.schemas.problem(call.name, call.arguments)
            if problem is not None:
                invalid = f"invalid arguments for {call.name}: {problem}"
        decision = self.policy.decide(call.name, call.arguments, calls_so_far)
        policy = decision.refusal
        step = Step(
            index=index,
            kind="tool",
            tool=call.name,
            call_id=call.call_id,
            args=call.arguments,
            raw_args=call.raw_arguments,
            output=call.output,
            effect=effect,
            error=error,
            policy=policy,
            invalid=invalid,
            policy_notes=decision.notes,
        )
        if step.carried_out and tool is not None:
            step.cost_usd = tool.cost_usd
        if effect != "escalation" and step.carried_out:
            step.answered_by = "recording" if call.answer is not None else "none"
            if env is not None and call.arguments is not None:
                _reexecute(step, env, call.arguments)
        return step


def _reexecute(step: Step, env: EnvironmentRun, args: dict[str, Any]) -> None:
    """Execute a recorded call against the environment; flag an answer that differs."""
    executed = env.call(step.tool or "", args)
    if executed is None:
        return  # declined: nothing to compare
    if executed.raised:
        step.traceback = executed.traceback
        step.env_output = f"Error: {executed.output}"
        return
    text = output_text(executed.output)
    if not _same_output(step.output, text):
        step.env_output = text


def _same_output(recorded: str | None, executed: str) -> bool:
    if recorded is None:
        return False
    if recorded == executed:
        return True
    try:
        return json_equal(json.loads(recorded), json.loads(executed))
    except (json.JSONDecodeError, TypeError):
        return recorded.strip() == executed.strip()


def _status(messages: list[dict[str, Any]], escalated: bool, stop: str) -> tuple[Any, str | None]:
    if escalated:
        return "escalated", None
    last = messages[-1] if messages else {}
    if last.get("role") == "assistant" and not last.get("tool_calls"):
        return "completed", None
    if last.get("role") == "user" and stop in message_text(last):
        return "completed", None  # the user ended the conversation
    return "failed", "incomplete"


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def replay_provider(candidate: CandidateSpec, suite: Suite, dataset: Dataset, settings: ProviderSettings) -> ReplayProvider:
    """The ``replay`` entry point of ``agentctl.providers``: ``replay:<label>`` candidates."""
    return ReplayProvider(candidate.replay_label or "", suite, dataset, candidate_name=candidate.name)
