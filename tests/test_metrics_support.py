"""Hand-made run results for the metrics, gates and comparison tests."""

from __future__ import annotations

from agentctl.core.results import RunResult, ScoreResult


def run(
    case: str,
    candidate: str = "cand",
    repeat: int = 0,
    *,
    correct: bool = True,
    status: str | None = None,
    escaped: bool = False,
    critical: bool = False,
    infra: bool = False,
    violations: int = 0,
    cost: float = 0.01,
    latency: float = 1.0,
    steps: int = 2,
    tool_calls: int = 1,
    tags: list[str] | None = None,
    reasons: list[str] | None = None,
    scores: dict[str, ScoreResult] | None = None,
    run_id: str = "r1",
) -> RunResult:
    """One run; unless told otherwise a correct, completed one."""
    if status is None:
        status = "failed" if infra else "completed"
    return RunResult(
        run_id=run_id,
        case_id=case,
        candidate=candidate,
        repeat=repeat,
        status=status,
        correct=correct and not infra,
        escaped_error=escaped,
        critical_error=critical,
        infra_error=infra,
        policy_violations=violations,
        cost_usd=cost,
        latency_s=latency,
        steps=steps,
        tool_calls=tool_calls,
        tags=list(tags or []),
        reasons=list(reasons or ([] if correct else ["wrong action"])),
        scores=dict(scores or {}),
    )
