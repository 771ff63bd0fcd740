"""Per-run results: the verdict of outcome scoring, extra scores, and the flat row stored.

:class:`RunResult` is what metrics and gates compute from; it is exactly a row of the
``results`` table (plus its tags and scores), so ``eval gate RUN`` can recompute gates
from the store without running anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Verdict:
    """Outcome verdict of one run, as DESIGN.md defines it."""

    status: str
    """completed | escalated | failed"""
    correct: bool
    escaped_error: bool
    critical_error: bool
    infra_error: bool
    policy_violations: int
    failed_writes: int
    reasons: list[str] = field(default_factory=list)
    """One short human-readable reason per failed check."""
    failure_reason: str | None = None


@dataclass
class ScoreResult:
    """A scorer's result for one run (a row of the ``scores`` table)."""

    scorer: str
    score: float | None
    passed: bool | None
    reason: str = ""
    cost_usd: float = 0.0
    """Judge cost (eval cost), kept apart from the agent's cost."""
    error: str | None = None
    """The scorer could not score this run (judge failed, missing input)."""


@dataclass
class RunResult:
    """One run = case x candidate x repeat (a row of the ``results`` table)."""

    run_id: str
    case_id: str
    candidate: str
    repeat: int
    status: str
    correct: bool
    escaped_error: bool
    critical_error: bool
    infra_error: bool
    policy_violations: int
    cost_usd: float
    """Total: inference + tool fees + review cost of an escalation."""
    latency_s: float
    steps: int
    """Model calls."""
    tool_calls: int
    reasons: list[str] = field(default_factory=list)
    failure_reason: str | None = None
    failed_writes: int = 0
    inference_cost_usd: float = 0.0
    tool_cost_usd: float = 0.0
    review_cost_usd: float = 0.0
    judge_cost_usd: float = 0.0
    user_cost_usd: float = 0.0
    """What the simulated user's calls cost (not part of ``cost_usd``)."""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    model: str = ""
    tags: list[str] = field(default_factory=list)
    scores: dict[str, ScoreResult] = field(default_factory=dict)
    unverifiable: bool = False
    """A tool call nothing could answer (a divergence): the verdict rests on an answer nobody gave."""
    state_diff: list[dict[str, Any]] | None = None
    """Stateful datasets: what the run changed, ``[{"path", "old", "new"}]`` (not the whole world)."""
    state_hash: str | None = None
    """Stateful datasets: identifies the final state (equal hashes, equal final states of a case)."""
