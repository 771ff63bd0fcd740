"""What a scorer is: given a case and what a run did, a score.

Outcome scoring (``agentctl.scorers.outcome``) always runs and decides the verdict. Scorers
listed in a suite's ``scorers:`` add scores; ``required: true`` makes theirs part of
``correct``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentctl.config.models import ScorerSpec, Suite
    from agentctl.core.results import ScoreResult, Verdict
    from agentctl.core.trajectory import Trajectory
    from agentctl.datasets.models import Case, Dataset


@dataclass
class ScoringContext:
    """Everything a scorer may look at for one run."""

    case: Case
    trajectory: Trajectory
    verdict: Verdict
    suite: Suite
    dataset: Dataset


class Scorer(ABC):
    """A configured scorer. Construct it once per evaluation; ``score`` is called per run."""

    def __init__(self, spec: ScorerSpec) -> None:
        self.spec = spec

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def threshold(self) -> float:
        value: Any = self.spec.args.get("threshold", 0.5)
        return float(value)

    @abstractmethod
    async def score(self, ctx: ScoringContext) -> ScoreResult:
        """Score one run. Raise nothing for bad model output: return a failed ScoreResult."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release resources (clients, temp dirs) at the end of the evaluation."""
