"""The options and the outcome of an evaluation, and the progress callbacks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from agentctl.config.models import Suite
    from agentctl.core.results import RunResult
    from agentctl.core.values import GateResult, MetricValue
    from agentctl.metrics.compare import Comparison
    from agentctl.plan import Plan

DEFAULT_CONCURRENCY = 8


@dataclass
class RunOptions:
    """Options of one evaluation (the flags of ``agentctl eval run``)."""

    candidates: list[str] = field(default_factory=list)
    concurrency: int = DEFAULT_CONCURRENCY
    repeats: int | None = None
    limit: int | None = None
    tags: list[str] = field(default_factory=list)
    shard: str | None = None
    resume: str | None = None
    max_cost: float | None = None
    no_cache: bool = False
    dry_run: bool = False
    timeout_s: float | None = None
    max_attempts: int | None = None
    workers: int | Literal["auto"] = "auto"
    """Worker processes carrying out the runs; ``auto``: one per core when the plan has enough
    live runs to pay for starting them (see :func:`agentctl.workers.choose_workers`), else 1."""
    pause_gc: bool = False
    """Pause Python's cyclic garbage collector while an evaluation that calls no model and
    runs no code but agentctl's (replays, built-in scorers, no environment) runs and is
    measured (:mod:`agentctl.core.collector`). Not stored with the run."""

    def public(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "pause_gc"}

    def problems(self) -> list[tuple[str, str]]:
        """(argument, what is wrong) for each option out of range (checked before anything runs)."""
        import math

        out = []
        whole = (("concurrency", self.concurrency), ("repeats", self.repeats), ("limit", self.limit),
                 ("max_attempts", self.max_attempts))
        for name, value in whole:
            if value is not None and value < 1:
                out.append((name, f"{value}: must be at least 1"))
        if self.max_cost is not None and not (math.isfinite(self.max_cost) and self.max_cost >= 0):
            out.append(("max_cost", f"{self.max_cost}: must be a finite amount of USD >= 0"))
        if self.workers != "auto" and not (isinstance(self.workers, int) and self.workers >= 1):
            out.append(("workers", f"{self.workers}: must be at least 1, or auto"))
        if self.timeout_s is not None and not (math.isfinite(self.timeout_s) and self.timeout_s > 0):
            out.append(("timeout_s", f"{self.timeout_s}: must be a finite number of seconds > 0"))
        return out


@dataclass
class EvalOutcome:
    """What an evaluation produced."""

    run_id: str
    suite: Suite
    results: list[RunResult]
    metrics: list[MetricValue]
    gates: list[GateResult]
    exit_code: int
    status: str
    """finished | interrupted | aborted | dry_run"""
    planned: int = 0
    not_run: int = 0
    message: str | None = None
    notes: list[str] = field(default_factory=list)
    plan: Plan | None = None
    estimates: dict[tuple[str, str, str, int], float] = field(default_factory=dict)
    """Dry runs: ("calls" | "cost", case_id, candidate, repeat) -> expected model calls / USD."""
    call_stats: Any = None
    """:class:`agentctl.providers.resilience.CallStats` of the model calls made (live candidates)."""
    comparisons: list[Comparison] = field(default_factory=list)
    """Each candidate against the baseline, as stored in the ``comparisons`` table."""

    @property
    def passed(self) -> bool:
        return all(g.passed for g in self.gates)


class Progress(Protocol):
    """Callbacks the CLI uses to draw a progress bar."""

    def start(self, total: int, done: int) -> None: ...
    def advance(self, result: RunResult) -> None: ...
    def stop(self) -> None: ...


class SilentProgress:
    """The library default: no output."""

    def start(self, total: int, done: int) -> None:
        pass

    def advance(self, result: RunResult) -> None:
        pass

    def stop(self) -> None:
        pass


