"""The agent loop for model candidates: call the model, answer its tool calls, until it is done.

Each tool call is checked (arguments parse, tool exists, JSON Schema, policy) and then, when
the dataset has an environment, executed against the run's own copy of the world; otherwise
(or for a tool the environment declines) answered from the case's fixtures or the
recordings of the case. A refused call never reaches the environment. The loop
ends on a final message, on the escalation tool, at ``agent.max_steps`` model calls, when the
run's budget is spent, or when the provider fails.

A case with ``user`` is a conversation: after each final message the user simulator
(``providers.users``) writes the next user message, and the run ends when that message holds
the simulator's ``stop`` (completed), after ``max_turns`` user messages (failed), on the
escalation tool, or at ``max_steps`` model calls counted over the whole conversation.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from agentctl.config.models import CandidateSpec, Suite
from agentctl.core.errors import AgentctlError, InputError
from agentctl.core.normalize import parse_arguments
from agentctl.core.secrets import redact_text, remember_secrets, secret_values
from agentctl.core.trajectory import Step, ToolCall, Trajectory, resolve_effect
from agentctl.datasets.models import Case, Dataset
from agentctl.datasets.recorded_calls import message_text
from agentctl.engine.model_call import CompleteFn, LoopSettings, ModelReply, ModelRequest
from agentctl.engine.policy import PolicyChecker
from agentctl.engine.tools import ArgumentSchemas, ToolAnswerer, recording_index
from agentctl.engine.users import UserSimulator, UserUnavailable, make_user_simulator
from agentctl.environments import environment_for

OK_ANSWER = json.dumps({"ok": True})
"""What a write call with no recorded output is answered with."""

_DETAIL_LIMIT = 300


@dataclass
class _Answer:
    """How one tool call went: its step, the text the model gets, whether the run ends."""

    step: Step
    output: str | None
    ends_run: bool = False


class AgentLoop:
    """Runs cases of one model candidate; shared by all its runs (no per-run state)."""

    def __init__(
        self,
        candidate: CandidateSpec,
        suite: Suite,
        dataset: Dataset,
        complete: CompleteFn,
        settings: LoopSettings,
    ) -> None:
        self.candidate = candidate
        self.suite = suite
        self.dataset = dataset
        self.catalog = dataset.tools
        self.complete = complete
        self.settings = settings
        self.escalation_tool = suite.agent.escalation_tool
        self.policy = PolicyChecker.for_candidate(suite.policy, self.catalog, self.escalation_tool, candidate.name,
                                                   suite.base_dir)
        self.schemas = ArgumentSchemas(self.catalog)
        self.index = recording_index(dataset)
        self.environment = environment_for(suite, dataset)
        try:
            self.system_prompt = suite.system_prompt_for(candidate)
        except OSError as exc:
            raise InputError(f"cannot read system prompt: {exc}", suite.source, key="system_prompt") from exc
        self.tools = self._offered_tools()
        self._secrets = secret_values(candidate.params) + secret_values(settings.litellm_kwargs)
        remember_secrets(self._secrets)
        self.user_spec = suite.user_simulator_for(candidate)
        self.user: UserSimulator | None = None
        """Plays the user of cases that carry ``user`` (none configured: they end on the first reply)."""
        if self.user_spec is not None and any(c.user is not None for c in dataset.cases):
            self.user = make_user_simulator(self.user_spec, candidate, suite, dataset, settings)
            self._secrets += secret_values(self.user_spec.params)  # its errors are redacted too

    def _offered_tools(self) -> list[dict[str, Any]] | None:
        offered = self.policy.offered_tools()
        tools = [t.openai_schema() for t in self.catalog.tools if t.name in offered]
        if self.escalation_tool and self.catalog.get(self.escalation_tool) is None:
            # The hand-off must be callable even when the catalog does not describe it.
            tools.append(
                {
                    "type": "function",
                    "function": {
                        "name": self.escalation_tool,
                        "description": "Hand the case to a person when you cannot or may not resolve it.",
                        "parameters": {"type": "object", "properties": {"reason": {"type": "string"}}},
                    },
                }
            )
        return tools or None

    async def run(self, case: Case, repeat: int) -> Trajectory:
        """One run of ``case`` (``repeat`` counts from 1)."""
        messages: list[dict[str, Any]] = []
        if self.system_prompt:
            messages.append({"role": "system", "content": self.system_prompt})
        messages.extend(case.input_messages())
        traj = Trajectory(case.id, self.candidate.name, repeat, self.candidate.model, messages=messages)
        started = time.monotonic()
        try:
            await self._drive(case, traj)
        finally:
            # A cached reply took no time now; count the latency the model had when it was
            # cached, so a re-run from the cache reports (and gates on) the same latency.
            replayed = sum(s.latency_s or 0.0 for s in traj.steps if s.cached)  # model and user calls
            traj.latency_s = time.monotonic() - started + replayed
        return traj

    async def _drive(self, case: Case, traj: Trajectory) -> None:
        env = None
        if self.environment is not None:
            try:
                env = self.environment.start(case)
            except Exception as exc:  # a bug in environment.py: the run fails, saying why
                _fail(traj, "environment_error", detail=f"Environment() raised {type(exc).__name__}: {exc}")
                return
            traj.environment = env
        answerer = ToolAnswerer(case, self.index.answers(case.id), self.catalog, env)
        budget = self.suite.budget.max_usd_per_run
        user = self.user if case.user is not None else None
        if user is not None:
            _user_steps_for_input(traj)
            if not any(m.get("role") == "user" for m in traj.messages) and await self._user_turn(case, traj):
                if traj.failure_reason is None:  # the simulator, asked to open, ended it at once
                    traj.status = "completed"
                return
        calls_so_far = 0
        for _ in range(self.suite.agent.max_steps):
            try:
                reply = await self.complete(self._request(traj))
            except AgentctlError:
                raise  # ours (a spent total budget, an open circuit breaker): the run is not run
            except Exception as exc:
                _fail(traj, "provider_error", infra=True, detail=self._detail(exc))
                return
            turn = self._model_step(traj, reply)
            if budget is not None and _spent(traj) > budget:
                _fail(traj, "budget", detail=f"spent ${_spent(traj):.4f} > max_usd_per_run ${budget:g}")
                return
            if not turn.tool_calls:
                if user is None or await self._user_turn(case, traj):
                    if traj.failure_reason is None:
                        traj.status = "completed"
                    return
                continue
            for call in turn.tool_calls:
                answer = self._answer(call, answerer, calls_so_far, len(traj.steps))
                calls_so_far += 1
                traj.steps.append(answer.step)
                if answer.ends_run:
                    traj.status = "escalated"
                    return
                traj.messages.append({"role": "tool", "tool_call_id": call.id, "content": answer.output or ""})
            if budget is not None and _spent(traj) > budget:
                _fail(traj, "budget", detail=f"spent ${_spent(traj):.4f} > max_usd_per_run ${budget:g}")
                return
        unfinished = "the conversation was not over" if user is not None else "no final answer"
        _fail(traj, "max_steps", detail=f"{unfinished} after {self.suite.agent.max_steps} model calls")

    async def _user_turn(self, case: Case, traj: Trajectory) -> bool:
        """The simulated user's next message, appended to the conversation; True when it ends.

        It ends when the user sends ``stop`` or has nothing more to say (``completed``, set by
        the caller), when ``max_turns`` user messages were sent already, or when the simulator
        fails (the run fails; a failure status is set here).
        """
        assert self.user is not None and self.user_spec is not None
        sent = sum(1 for m in traj.messages if m.get("role") == "user")
        if sent >= self.user_spec.max_turns:
            _fail(traj, "max_turns", detail=f"the user had sent {sent} message(s) (max_turns "
                                            f"{self.user_spec.max_turns}) and the conversation was not over")
            return True
        try:
            said = await self.user.reply(case, traj.repeat, list(traj.messages))
        except AgentctlError:
            raise
        except UserUnavailable as exc:
            _fail(traj, "no_recording", detail=str(exc))
            return True
        except Exception as exc:
            _fail(traj, "provider_error", infra=True, detail="user simulator: " + self._detail(exc))
            return True
        if said is None:
            return True  # out of recorded turns: as if the user had sent stop
        traj.steps.append(Step(
            index=len(traj.steps), kind="user", content=said.content, prompt_tokens=said.prompt_tokens,
            completion_tokens=said.completion_tokens, cost_usd=said.cost_usd, latency_s=said.latency_s,
            cached=said.cached, attempts=said.attempts,
        ))
        traj.messages.append({"role": "user", "content": said.content})
        traj.user_cost_usd += said.cost_usd
        return self.user_spec.stop in said.content

    def _request(self, traj: Trajectory) -> ModelRequest:
        return ModelRequest(
            model=self.candidate.model,
            messages=list(traj.messages),
            tools=self.tools,
            params=dict(self.candidate.params),
            timeout_s=self.settings.timeout_s,
            max_retries=0,  # our retry wrapper retries (and counts), not the client
            price=self.suite.pricing.get(self.candidate.model),
            extra=dict(self.settings.litellm_kwargs),
            case_id=traj.case_id,
            candidate=traj.candidate,
            repeat=traj.repeat,
        )

    def _model_step(self, traj: Trajectory, reply: ModelReply) -> Step:
        message = reply.message
        calls = []
        for n, tc in enumerate(message.get("tool_calls") or []):
            fn = tc.get("function") or {}
            raw = fn.get("arguments")
            raw_text = raw if isinstance(raw, str) else json.dumps(raw if raw is not None else {})
            args, err = parse_arguments(raw_text)
            call_id = str(tc.get("id") or f"call_{len(traj.steps)}_{n}")
            calls.append(ToolCall(call_id, str(fn.get("name") or ""), raw_text, args, err))
        step = Step(
            index=len(traj.steps),
            kind="model",
            content=message.get("content") or None,
            tool_calls=calls,
            prompt_tokens=reply.prompt_tokens,
            completion_tokens=reply.completion_tokens,
            cost_usd=reply.cost_usd,
            latency_s=reply.latency_s,
            cached=reply.cached,
            attempts=reply.attempts,
        )
        traj.steps.append(step)
        traj.messages.append(_assistant_message(message, calls))
        traj.prompt_tokens += reply.prompt_tokens
        traj.completion_tokens += reply.completion_tokens
        traj.inference_cost_usd += reply.cost_usd
        return step

    def _answer(self, call: ToolCall, answerer: ToolAnswerer, calls_so_far: int, index: int) -> _Answer:
        tool = self.catalog.get(call.name)
        is_escalation = call.name == self.escalation_tool
        effect = resolve_effect(call.name, escalation_tool=self.escalation_tool,
                                declared=tool.effect if tool is not None else None)
        step = Step(index=index, kind="tool", tool=call.name, call_id=call.id, args=call.arguments,
                    raw_args=call.raw_arguments, effect=effect)

        def refuse(output: str, *, invalid: str | None = None, policy: str | None = None) -> _Answer:
            step.invalid, step.policy, step.error, step.output = invalid, policy, True, output
            return _Answer(step, output)

        if call.arguments is None:
            if is_escalation:  # a hand-off is a hand-off, however its arguments are spelled
                step.invalid = f"invalid arguments: {call.parse_error}"
                return _Answer(step, None, ends_run=True)
            reason = f"invalid arguments: {call.parse_error}"
            return refuse(f"Error: {reason}. Send the arguments as a JSON object.", invalid=reason)
        if tool is None and not is_escalation:
            reason = f"unknown tool {call.name!r}"
            names = ", ".join(_function_name(t) for t in self.tools or [])
            return refuse(f"Error: {reason}; available tools: {names}", invalid=reason)
        if tool is not None and not is_escalation:
            problem = self.schemas.problem(call.name, call.arguments)
            if problem is not None:
                reason = f"invalid arguments for {call.name}: {problem}"
                return refuse(f"Error: {reason}", invalid=reason)
        decision = self.policy.decide(call.name, call.arguments, calls_so_far)
        step.policy_notes, refused = decision.notes, decision.refusal
        if refused is not None:
            return refuse(f"Error: refused by policy ({refused}). This call was not carried out.", policy=refused)
        if is_escalation:
            return _Answer(step, None, ends_run=True)
        assert tool is not None
        step.cost_usd = tool.cost_usd
        recorded = answerer.answer(call.name, call.arguments)
        if recorded is not None:
            step.output, step.error = recorded.output, recorded.error
            step.answered_by, step.traceback = recorded.source, recorded.traceback
        elif tool.effect == "write":
            step.output = OK_ANSWER  # a side effect, never executed: the agent is told it worked
            step.answered_by = "none"
            # With an environment, a write it declined never reached the world the run is judged by.
            step.divergence = answerer.environment is not None
        else:
            step.output = f"Error: no recorded answer for {call.name} with these arguments"
            step.error, step.divergence, step.answered_by = True, True, "none"
        return _Answer(step, step.output)

    def _detail(self, exc: BaseException) -> str:
        from agentctl.core.faults import connection_problem

        status = getattr(exc, "status_code", None)
        head = type(exc).__name__ + (f" (HTTP {status})" if isinstance(status, int) else "")
        problem = connection_problem(exc)
        if problem is not None:  # no HTTP answer at all: say so, and where, not "HTTP 500"
            from urllib.parse import urlsplit

            base = str(self.candidate.params.get("api_base") or self.candidate.params.get("base_url") or "")
            parts = urlsplit(base) if "://" in base else None
            where = f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}" if parts and \
                parts.hostname else "the provider's default endpoint"
            head = f"{problem} ({where})"
        text = str(exc).replace("\n", " ")
        for noise in ("litellm.", f"{type(exc).__name__}: "):
            text = text.replace(noise, "")
        attempts = getattr(exc, "agentctl_attempts", None)
        if isinstance(attempts, int) and attempts > 1:
            head += f" after {attempts} attempts"
        detail = redact_text(f"{head}: {text.strip()}", extra=self._secrets)
        return detail if len(detail) <= _DETAIL_LIMIT else detail[: _DETAIL_LIMIT - 3] + "..."


def _assistant_message(message: dict[str, Any], calls: list[ToolCall]) -> dict[str, Any]:
    out: dict[str, Any] = {"role": "assistant", "content": message.get("content")}
    if calls:
        out["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.raw_arguments}} for c in calls
        ]
    return out


def _function_name(tool: dict[str, Any]) -> str:
    return str((tool.get("function") or {}).get("name", ""))


def _user_steps_for_input(traj: Trajectory) -> None:
    """The case's input messages of a multi-turn run as user steps, so every turn shows whose it was."""
    for m in traj.messages:
        if m.get("role") == "user":
            traj.steps.append(Step(index=len(traj.steps), kind="user", content=message_text(m)))


def _spent(traj: Trajectory) -> float:
    return traj.inference_cost_usd + traj.tool_cost_usd


def _fail(traj: Trajectory, reason: str, *, infra: bool = False, detail: str | None = None) -> None:
    traj.status = "failed"
    traj.failure_reason = reason
    traj.infra_error = infra
    traj.error_detail = detail
