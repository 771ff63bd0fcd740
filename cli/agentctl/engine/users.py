"""Simulated users of multi-turn cases: the protocol, the user's view of a conversation, a registry.

A case with ``user`` goes on after each final reply of the agent: the run's user simulator
writes the next user message. The suite's ``user_simulator.model`` picks the simulator:
``replay`` (recorded user turns in order), a registered scheme (``myorg:...``), or else a
litellm model. Simulators register under the entry-point group ``agentctl.user_simulators``
(name -> factory); the built-in ``litellm`` and ``replay`` ones are registered the same way
in this package's ``pyproject.toml``, so a team can ship its own as a package.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from agentctl.core import plugins
from agentctl.core.errors import InputError
from agentctl.datasets.recorded_calls import message_text

if TYPE_CHECKING:
    from agentctl.config.models import CandidateSpec, Suite, UserSimulatorSpec
    from agentctl.datasets.models import Case, Dataset

ENTRY_POINT_GROUP = plugins.USER_SIMULATORS

DEFAULT_USER_PROMPT = """\
You are playing a customer who is talking to a support agent, to test that agent. Stay in \
character: write only what the customer would write, one short message at a time, in plain \
text. Reveal the details in your instructions only when the agent asks for them or needs \
them, and never invent details your instructions do not give. Do not help the agent do its \
job and do not ask it to do anything your instructions do not ask for. When your goal is \
reached, or when it is clear it cannot be reached, end the conversation: write {stop} and \
nothing else.

Your instructions:
"""
"""The simulator's system prompt when the suite gives none; ``{stop}`` is the stop string."""


@dataclass
class UserTurn:
    """What the simulated user said, and what saying it cost."""

    content: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_s: float | None = None
    cached: bool = False
    attempts: int = 1


class UserUnavailable(Exception):
    """The simulator cannot play this run's user (e.g. no recording to replay): the run fails
    with reason ``no_recording`` and this message."""


class UserSimulator(Protocol):
    """Writes the user's side of a conversation."""

    async def reply(self, case: Case, repeat: int, messages: list[dict[str, Any]]) -> UserTurn | None:
        """The user's next message after ``messages`` (the agent's transcript, OpenAI format);
        ``None`` when the user has nothing more to say (the conversation ends as if on stop)."""
        ...


UserSimulatorFactory = Callable[
    ["UserSimulatorSpec", "CandidateSpec", "Suite", "Dataset", Any], UserSimulator
]

_FACTORIES: dict[str, UserSimulatorFactory] = {}


def register_user_simulator(name: str, factory: UserSimulatorFactory) -> None:
    """``user_simulator.model`` equal to ``name`` (or ``<name>:...``) is played by ``factory``."""
    _FACTORIES[name] = factory


def _factory(name: str) -> UserSimulatorFactory | None:
    if name not in _FACTORIES:
        if plugins.has(ENTRY_POINT_GROUP, name):
            _FACTORIES[name] = plugins.load(ENTRY_POINT_GROUP, name)
    return _FACTORIES.get(name)


def simulator_kind(model: str) -> str:
    """The registry name that plays ``model``: itself or its scheme when registered, else litellm."""
    if model == "replay":
        return "replay"
    scheme = model.split(":", 1)[0] if ":" in model else ""
    if scheme and scheme != "litellm" and _factory(scheme) is not None:
        return scheme
    return "litellm"


def make_user_simulator(
    spec: UserSimulatorSpec, candidate: CandidateSpec, suite: Suite, dataset: Dataset, settings: Any
) -> UserSimulator:
    """The simulator of ``spec`` for one candidate (shared by all its runs)."""
    kind = simulator_kind(spec.model)
    factory = _factory(kind)
    if factory is None:
        raise InputError(f"no user simulator registered as {kind!r} (entry-point group {ENTRY_POINT_GROUP}; "
                         "is agentctl installed?)", suite.source, key="user_simulator.model")
    return factory(spec, candidate, suite, dataset, settings)


def user_view(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The conversation as the user saw it, roles flipped for the simulator model.

    The agent's replies (assistant messages without tool calls) become ``user`` messages; the
    user's own messages become ``assistant`` messages. System prompts, tool calls (with any
    text beside them) and tool results are left out: the user never saw them.
    """
    out: list[dict[str, Any]] = []
    for m in messages:
        role = m.get("role")
        text = message_text(m)
        if role == "user":
            out.append({"role": "assistant", "content": text})
        elif role == "assistant" and not m.get("tool_calls") and text:
            out.append({"role": "user", "content": text})
    return out

