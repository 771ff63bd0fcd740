"""Carrying out planned runs: bounded concurrency, each finished run scored and handed to
one writer that commits whatever has finished since its last commit (at least every
``COMMIT_EVERY_S``), so the store is always a consistent record of finished runs.
"""

from __future__ import annotations

import asyncio
import signal
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agentctl.config.models import CandidateSpec, Suite
from agentctl.core.results import RunResult, ScoreResult, Verdict
from agentctl.core.secrets import redact_text, remember_secrets, secret_values
from agentctl.core.trajectory import Trajectory
from agentctl.datasets.models import Case, Dataset
from agentctl.execution import provider_settings, share_calls_with_judges
from agentctl.outcome import Progress, RunOptions
from agentctl.plan import PlannedRun
from agentctl.scorers.base import Scorer, ScoringContext
from agentctl.store.store import Store

if TYPE_CHECKING:
    from agentctl.providers.base import Provider
    from agentctl.providers.budget import SpendTracker
    from agentctl.providers.resilience import Breakers, CallStats


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


@dataclass
class Prepared:
    """What a run needs, built (and so checked) before anything is written to the store."""

    providers: dict[str, Provider]
    scorers: list[Scorer]
    required: set[str]
    tracker: SpendTracker
    breakers: Breakers


def prepare_runs(plan: PlannedRunList, suite: Suite, dataset: Dataset, store: Store, options: RunOptions,
             stats: CallStats) -> Prepared:
    """Providers and scorers of the run: an unknown scheme, a missing extra or a broken plugin
    fails here, before the run is recorded."""
    from agentctl.config.scorer_registry import registry
    from agentctl.providers.base import make_provider

    # every credential the suite holds, by structure: redact_text hides them wherever they turn up
    remember_secrets([v for c in plan_candidates(plan) for v in secret_values(c.params)]
                     + [v for s in suite.scorers for v in secret_values(s.judge_params)])
    settings, tracker, breakers = provider_settings(suite, options, store, stats)
    providers = {c.name: make_provider(c, suite, dataset, settings=settings)
                 for c in {r.candidate.name: r.candidate for r in plan}.values()}
    scorers: list[Scorer] = [registry.create(spec) for spec in suite.scorers]
    share_calls_with_judges(scorers, settings, tracker)
    required = {s.name for s in suite.scorers if s.required}
    return Prepared(providers, scorers, required, tracker, breakers)


COMMIT_EVERY_S = 1.0
"""Finished runs are committed at least this often (and at once when COMMIT_BATCH are waiting)."""
COMMIT_BATCH = 2000


async def run_all(
    run_id: str, plan: PlannedRunList, suite: Suite, dataset: Dataset, store: Store, prepared: Prepared,
    options: RunOptions, progress: Progress, handle_signals: bool,
) -> tuple[int, str | None]:
    """Carry out the planned runs; returns (runs not run, why).

    With ``handle_signals`` (only on a loop agentctl owns), SIGINT and SIGTERM stop the run
    gracefully; on a caller's loop its own handlers stay in place."""
    from agentctl.providers.budget import BudgetExhausted
    from agentctl.providers.resilience import CallsStopped
    from agentctl.scorers.outcome import score_outcome

    providers, scorers, required = prepared.providers, prepared.scorers, prepared.required
    tracker, breakers = prepared.tracker, prepared.breakers

    # Bounded: a replay makes runs faster than one writer commits them, and an unbounded queue
    # held every trajectory not yet written (hundreds of MB at 100,000 runs). Full, it makes
    # the runs wait for the commit in flight.
    queue: asyncio.Queue[tuple[RunResult, Trajectory] | None] = asyncio.Queue(maxsize=2 * COMMIT_BATCH)
    semaphore = asyncio.Semaphore(max(1, options.concurrency))
    not_started = 0
    stopped_by: dict[str, int] = {}
    """Why runs were not run (budget, an open breaker) -> how many."""

    def not_run(why: str) -> None:
        nonlocal not_started
        not_started += 1
        stopped_by[why] = stopped_by.get(why, 0) + 1

    ended = False
    """The writer has taken the end marker."""

    async def writer() -> None:
        try:
            await commit_as_they_finish()
        except BaseException:
            # The queue is bounded: keep taking runs (dropped: the store failed) until the end,
            # so no run waits forever on a full queue, then say why.
            while not ended and await queue.get() is not None:
                pass
            raise

    async def commit_as_they_finish() -> None:
        nonlocal ended
        loop = asyncio.get_running_loop()
        last = 0.0
        while True:
            item = await queue.get()
            batch = [] if item is None else [item]
            done = ended = item is None
            # A commit per finished run cost more CPU than the run: gather what finishes
            # within COMMIT_EVERY_S (a kill loses at most that much), then commit it at once.
            wait = last + COMMIT_EVERY_S - loop.time()
            if not done and wait > 0 and queue.qsize() < COMMIT_BATCH:
                await asyncio.sleep(wait)
            while not queue.empty():
                nxt = queue.get_nowait()
                if nxt is None:
                    done = ended = True
                else:
                    batch.append(nxt)
            if batch:
                await asyncio.to_thread(store.write_results, batch)
                last = loop.time()
            if done:
                return

    async def one(run: PlannedRun) -> None:
        nonlocal not_started
        async with semaphore:
            live = not run.candidate.is_replay
            if live and tracker.exhausted:
                not_run("budget")
                return
            if live and breakers.is_open(run.candidate.model):
                not_run("breaker:" + run.candidate.model)
                return
            try:
                trajectory = await providers[run.candidate.name].run(run.case, run.repeat)
            except CallsStopped as exc:
                # Stopped between two model calls: what it did so far is not a verdict. It stays
                # out of the results, so --resume (with more budget) runs it again from scratch.
                # The breaker may be a simulated user's model, not the candidate's.
                not_run("budget" if isinstance(exc, BudgetExhausted)
                        else "breaker:" + (getattr(exc, "model", None) or run.candidate.model))
                return
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
            result = build_result(run_id, run.case, trajectory, verdict, suite, verdict_scores, required)
            # Model and judge calls were charged to the budget as they were made.
            await queue.put((result, trajectory))
            progress.advance(result)
            if not live:
                # A replay never awaits I/O: yield, so the writer commits as runs finish and a
                # signal is handled at once, instead of everything waiting for the last run.
                await asyncio.sleep(0)

    writer_task = asyncio.create_task(writer())
    # As many workers as runs may be in flight, taking the next planned run as they finish:
    # a task per planned run cost ~3 KB each and a scheduler pass over all of them.
    pending = iter(plan)

    async def worker() -> None:
        for run in pending:
            await one(run)

    runs_task = asyncio.gather(*(worker() for _ in range(min(max(1, options.concurrency), len(plan)))))
    loop = asyncio.get_running_loop()
    interrupted = False

    def on_signal() -> None:
        # Stop starting runs and cancel those in flight, but let the writer commit every
        # run that has finished: an interrupted evaluation loses nothing it completed.
        nonlocal interrupted
        interrupted = True
        runs_task.cancel()

    handled = []
    for sig in (signal.SIGINT, signal.SIGTERM) if handle_signals else ():
        try:
            loop.add_signal_handler(sig, on_signal)
            handled.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):
            pass
    try:
        await runs_task
    except asyncio.CancelledError:
        if not interrupted:
            raise
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)
        await queue.put(None)
        await writer_task
        for scorer in scorers:
            try:
                await scorer.aclose()
            except Exception:
                pass
    if interrupted:
        raise KeyboardInterrupt
    message = None
    if not_started:
        whys = []
        for why, n in sorted(stopped_by.items()):
            if why == "budget":
                whys.append(f"{tracker.message()}: {n} run(s) not run")
            else:
                model = why.split(":", 1)[1]
                whys.append(f"circuit breaker open for {model} ({breakers.get(model).reason}); "
                            f"no more calls were sent to it: {n} run(s) not run")
        message = "; ".join(whys)
    return not_started, message


PlannedRunList = list[PlannedRun]


def plan_candidates(plan: PlannedRunList) -> list[CandidateSpec]:
    return list({r.candidate.name: r.candidate for r in plan}.values())
