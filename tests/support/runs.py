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


def many_runs(per_candidate: int, *, seed: int = 7) -> list[RunResult]:
    """Runs of two candidates (``base``, ``new``) over ``per_candidate // 4`` cases x 4 repeats,
    1-3 of ten tags each, 90% correct, 1% infra errors: for grouping tests and benchmarks."""
    import numpy as np

    rng = np.random.default_rng(seed)
    tags = [f"t{i}" for i in range(10)]
    cases = max(1, per_candidate // 4)
    out = []
    for cand in ("base", "new"):
        for i in range(per_candidate):
            picked = [tags[j] for j in rng.choice(10, size=int(rng.integers(1, 4)), replace=False)]
            out.append(run(f"c{i % cases}", cand, repeat=i // cases, correct=bool(rng.random() < 0.9),
                           infra=bool(rng.random() < 0.01), latency=float(rng.random() * 5), tags=picked))
    return out
