"""The built-in ``replay`` user simulator: a recording's user turns, sent in order.

Repeat *i* of a case uses the *i*-th recording of the case with the label (the candidate's
own replay label, else ``user_simulator.label``). The case's input is the first message; the
recorded user turns after it follow, one per final reply of the agent. When they run out the
user has nothing more to say and the conversation ends as if ``stop`` was sent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentctl.core.errors import InputError
from agentctl.datasets.recorded_calls import message_text
from agentctl.engine.tools import recording_index
from agentctl.engine.users import UserTurn, UserUnavailable

if TYPE_CHECKING:
    from agentctl.config.models import CandidateSpec, Suite, UserSimulatorSpec
    from agentctl.datasets.models import Case, Dataset
    from agentctl.providers.base import ProviderSettings


class ReplayUser:
    """Recorded user turns of one label."""

    def __init__(self, label: str, dataset: Dataset) -> None:
        self.label = label
        self.index = recording_index(dataset)

    def turns(self, case_id: str, repeat: int) -> list[str]:
        """The user messages of the recording that repeat ``repeat`` (from 1) selects."""
        runs = self.index.runs(case_id, self.label)
        if not 1 <= repeat <= len(runs):
            raise UserUnavailable(
                f"no recording of case {case_id!r} with label {self.label!r} to replay the user from"
                if not runs else f"case {case_id!r} has {len(runs)} recording(s) with label {self.label!r}, "
                                 f"not {repeat}, to replay the user from")
        return [message_text(m) for m in runs[repeat - 1].messages if m.get("role") == "user"]

    async def reply(self, case: Case, repeat: int, messages: list[dict[str, Any]]) -> UserTurn | None:
        turns = self.turns(case.id, repeat)
        sent = sum(1 for m in messages if m.get("role") == "user")
        return UserTurn(content=turns[sent]) if sent < len(turns) else None


def replay_label(spec: UserSimulatorSpec, candidate: CandidateSpec) -> str | None:
    """Whose user turns a candidate's runs replay: its own label, else ``user_simulator.label``."""
    return candidate.replay_label or spec.label


def factory(spec: UserSimulatorSpec, candidate: CandidateSpec, suite: Suite, dataset: Dataset,
            settings: ProviderSettings) -> ReplayUser:
    """Entry point ``replay`` of ``agentctl.user_simulators``."""
    label = replay_label(spec, candidate)
    if label is None:
        raise InputError(f"candidate {candidate.name!r}: user_simulator model 'replay' needs 'label' "
                         "(whose recorded user turns to send)", suite.source, key="user_simulator.label")
    return ReplayUser(label, dataset)
