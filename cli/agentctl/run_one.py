"""One planned run carried out and scored, wherever it runs (this process, or a worker
process): its providers and scorers, the run itself, and its stored result."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentctl.config.models import CandidateSpec, Suite
from agentctl.core.results import RunResult, ScoreResult, Verdict
from agentctl.core.secrets import redact_text, remember_secrets, secret_values
from agentctl.core.trajectory import Trajectory
from agentctl.datasets.models import Case, Dataset
from agentctl.execution import share_calls_with_judges
from agentctl.plan import PlannedRun
from agentctl.scorers.base import Scorer, ScoringContext

if TYPE_CHECKING:
    from agentctl.providers.base import Provider, ProviderSettings
    from agentctl.providers.budget import SpendTracker


def build_result(
    run_id: str, case: Case, trajectory: Trajectory, verdict: Verdict, suite: Suite, scores: list[ScoreResult],
    required: set[str],
) -> RunResult:
    """The stored row of a run: its outcome verdict, with required scorers folded into ``correct``."""
    correct = verdict.correct
    reasons = list(verdict.reasons)
    if trajectory.infra_error and trajectory.error_detail:
        reasons.insert(0, f"provider failed: {trajectory.error_detail}")  # already redacted by the loop
    for s in scores:
        if s.scorer in required and s.passed is not True:
            correct = False
            reasons.append(f"required scorer {s.scorer} failed"
                           + (f" (score {s.score:.2f})" if s.score is not None else "")
                           + (f": {s.error}" if s.error else ""))
    review = suite.costs.review_usd if trajectory.status == "escalated" else 0.0
    tool_cost = trajectory.tool_cost_usd
    state = trajectory.environment.finish() if trajectory.environment is not None else None
    return RunResult(
        run_id=run_id, case_id=case.id, candidate=trajectory.candidate, repeat=trajectory.repeat,
        status=trajectory.status, correct=correct,
        escaped_error=trajectory.status == "completed" and not correct,
        critical_error=verdict.critical_error, infra_error=verdict.infra_error,
        policy_violations=verdict.policy_violations, failed_writes=verdict.failed_writes,
        cost_usd=trajectory.inference_cost_usd + tool_cost + review,
        inference_cost_usd=trajectory.inference_cost_usd, tool_cost_usd=tool_cost, review_cost_usd=review,
        judge_cost_usd=sum(s.cost_usd for s in scores), user_cost_usd=trajectory.user_cost_usd,
        latency_s=trajectory.latency_s, steps=len(trajectory.model_steps),
        tool_calls=len(trajectory.tool_steps), reasons=reasons,
        failure_reason=trajectory.failure_reason, prompt_tokens=trajectory.prompt_tokens,
        completion_tokens=trajectory.completion_tokens, model=trajectory.model, tags=list(case.tags),
        scores={s.scorer: s for s in scores},
        unverifiable=trajectory.unverifiable,
        state_diff=state.diff if state is not None and not state.error else None,
        state_hash=state.hash if state is not None and not state.error else None,
    )


def build_runners(plan: list[PlannedRun], suite: Suite, dataset: Dataset, settings: ProviderSettings,
                  tracker: SpendTracker) -> tuple[dict[str, Provider], list[Scorer], set[str]]:
    """The providers of the plan's candidates and the suite's scorers (judges sharing ``settings``)."""
    from agentctl.config.scorer_registry import registry
    from agentctl.providers.base import make_provider

    remember_secrets(suite_secrets(plan, suite))
    providers = {c.name: make_provider(c, suite, dataset, settings=settings) for c in plan_candidates(plan)}
    scorers: list[Scorer] = [registry.create(spec) for spec in suite.scorers]
    share_calls_with_judges(scorers, settings, tracker)
    return providers, scorers, {s.name for s in suite.scorers if s.required}


async def execute_run(run_id: str, run: PlannedRun, suite: Suite, dataset: Dataset, providers: dict[str, Provider],
                      scorers: list[Scorer], required: set[str]) -> tuple[RunResult, Trajectory] | str:
    """One planned run carried out and scored: its result, or why it was not run (``budget``,
    ``breaker:<model>``: calls were stopped; it stays out of the results, for ``--resume``)."""
    from agentctl.providers.budget import BudgetExhausted
    from agentctl.providers.resilience import CallsStopped
    from agentctl.scorers.outcome import score_outcome

    try:
        trajectory = await providers[run.candidate.name].run(run.case, run.repeat)
    except CallsStopped as exc:
        # Stopped between two model calls: what it did so far is not a verdict. It stays
        # out of the results, so --resume (with more budget) runs it again from scratch.
        # The breaker may be a simulated user's model, not the candidate's.
        return ("budget" if isinstance(exc, BudgetExhausted)
                else "breaker:" + (getattr(exc, "model", None) or run.candidate.model))
    verdict = score_outcome(run.case, trajectory, suite, dataset.tools)
    verdict_scores: list[ScoreResult] = []
    if scorers:
        ctx = ScoringContext(run.case, trajectory, verdict, suite, dataset)
        for scorer in scorers:
            try:
                score = await scorer.score(ctx)
            except Exception as exc:  # a scorer bug must not lose the run
                score = ScoreResult(scorer.name, None, None, error=f"{type(exc).__name__}: {exc}")
            # judge and scorer errors are redacted like provider errors (known secrets included)
            score.error = redact_text(score.error) if score.error else score.error
            score.reason = redact_text(score.reason) if score.reason else score.reason
            verdict_scores.append(score)
    # Model and judge calls were charged to the budget as they were made.
    return build_result(run_id, run.case, trajectory, verdict, suite, verdict_scores, required), trajectory


def suite_secrets(plan: list[PlannedRun], suite: Suite) -> list[str]:
    """Every credential the suite holds, by structure: redact_text hides them wherever they turn up."""
    return ([v for c in plan_candidates(plan) for v in secret_values(c.params)]
            + [v for s in suite.scorers for v in secret_values(s.judge_params)])


def plan_candidates(plan: list[PlannedRun]) -> list[CandidateSpec]:
    return list({r.candidate.name: r.candidate for r in plan}.values())
