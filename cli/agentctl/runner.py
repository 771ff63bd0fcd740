"""``run_suite``: plan, run, score, store, measure, gate — the library behind ``eval run``.

Runs are async with bounded concurrency; each finished run is scored and handed to a
writer task that commits whatever has finished since its last commit, so the store is
always a consistent record of finished runs and ``--resume`` can pick up from it.
"""

from __future__ import annotations

import asyncio
import secrets as _random
import signal
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from agentctl import __version__
from agentctl.config.models import CandidateSpec, Suite
from agentctl.datasets.models import Case, Dataset
from agentctl.engine.trajectory import Trajectory
from agentctl.errors import EXIT_CANNOT_RUN, EXIT_GATE_FAILED, EXIT_INTERRUPTED, EXIT_OK, InputError, RunError
from agentctl.metrics.types import GateResult, MetricValue
from agentctl.plan import Plan, PlannedRun, make_plan, parse_shard, select_candidates
from agentctl.results import RunResult, ScoreResult
from agentctl.scorers.base import Scorer, ScoringContext
from agentctl.secrets import redact_text, scrub_params
from agentctl.store.store import Store

if TYPE_CHECKING:
    from agentctl.providers.base import ProviderSettings
    from agentctl.providers.budget import SpendTracker
    from agentctl.providers.resilience import Breakers, CallStats

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

    def public(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


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


def new_run_id() -> str:
    return datetime.now(UTC).strftime("ev-%Y%m%d-%H%M%S-") + _random.token_hex(3)


def git_commit(cwd: Path) -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=cwd, capture_output=True,
                             text=True, timeout=2)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def _prompt_digest(text: str | None) -> str | None:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()[:12] if text else None


def candidate_record(suite: Suite, c: CandidateSpec) -> dict[str, Any]:
    prompt_value = c.system_prompt or suite.agent.system_prompt
    try:
        prompt = suite.system_prompt_for(c)
    except OSError:
        prompt = None
    return {
        "name": c.name, "model": c.model, "params": scrub_params(c.params),
        "system_prompt": prompt_value if prompt_value and len(prompt_value) < 200 else
        (prompt_value[:200] + "..." if prompt_value else None),
        "system_prompt_sha": _prompt_digest(prompt),
    }


def suite_config(suite: Suite) -> dict[str, Any]:
    data = suite.model_dump(mode="json", by_alias=True, exclude_none=True)
    for cand in data.get("candidates", []):
        cand["params"] = scrub_params(cand.get("params") or {})
    for scorer in data.get("scorers", []):
        scorer["judge_params"] = scrub_params(scorer.get("judge_params") or {})
    data["_source"] = str(suite.source) if suite.source else None
    return data


def build_result(
    run_id: str, case: Case, trajectory: Trajectory, suite: Suite, dataset: Dataset, scores: list[ScoreResult],
    required: set[str],
) -> RunResult:
    from agentctl.scorers.outcome import score_outcome

    verdict = score_outcome(case, trajectory, suite, dataset.tools)
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
    return RunResult(
        run_id=run_id, case_id=case.id, candidate=trajectory.candidate, repeat=trajectory.repeat,
        status=trajectory.status, correct=correct,
        escaped_error=trajectory.status == "completed" and not correct,
        critical_error=verdict.critical_error, infra_error=verdict.infra_error,
        policy_violations=verdict.policy_violations, failed_writes=verdict.failed_writes,
        cost_usd=trajectory.inference_cost_usd + tool_cost + review,
        inference_cost_usd=trajectory.inference_cost_usd, tool_cost_usd=tool_cost, review_cost_usd=review,
        judge_cost_usd=sum(s.cost_usd for s in scores),
        latency_s=trajectory.latency_s, steps=len(trajectory.model_steps),
        tool_calls=len(trajectory.tool_steps), reasons=reasons,
        failure_reason=trajectory.failure_reason, prompt_tokens=trajectory.prompt_tokens,
        completion_tokens=trajectory.completion_tokens, model=trajectory.model, tags=list(case.tags),
        scores={s.scorer: s for s in scores},
    )


def total_limit(suite: Suite, options: RunOptions) -> float | None:
    """The evaluation's spend limit: the lower of ``budget.max_usd_total`` and ``--max-cost``."""
    limits = [x for x in (suite.budget.max_usd_total, options.max_cost) if x is not None]
    return min(limits) if limits else None


def provider_settings(suite: Suite, options: RunOptions, store: Store | None,
                      stats: CallStats) -> tuple[ProviderSettings, SpendTracker, Breakers]:
    """How this evaluation calls models: the suite's ``execution`` section, overridden by flags.

    Call wrappers, outermost first: response cache (a hit calls nothing and spends nothing),
    total budget, circuit breaker; then retries; then per-model rate limits on each attempt.
    """
    from agentctl.providers.base import ProviderSettings
    from agentctl.providers.budget import SpendTracker
    from agentctl.providers.cache import ResponseCache
    from agentctl.providers.ratelimit import RateLimits
    from agentctl.providers.resilience import Breakers

    execution = suite.execution
    tracker = SpendTracker(total_limit(suite, options))
    breakers = Breakers(execution.breaker)
    settings = ProviderSettings(
        timeout_s=options.timeout_s if options.timeout_s is not None else execution.timeout_s,
        max_attempts=options.max_attempts if options.max_attempts is not None else execution.retry.max_attempts,
        backoff_s=execution.retry.backoff_s, max_backoff_s=execution.retry.max_backoff_s, call_stats=stats,
    )
    if store is not None and execution.cache and not options.no_cache:
        settings.complete_wrappers.append(ResponseCache(store, stats=stats).wrapper())
    settings.complete_wrappers += [tracker.wrapper(), breakers.wrapper()]
    if execution.limits:
        settings.attempt_wrappers.append(RateLimits(execution.limits).wrapper())
    return settings, tracker, breakers


def share_calls_with_judges(scorers: list[Scorer], settings: ProviderSettings, tracker: SpendTracker) -> None:
    """Judge calls go through the same cache, budget, breaker, retries and rate limits as
    the agent's calls (their spend is charged when each run is scored)."""
    from agentctl.providers.litellm_model import complete

    wrapped = settings.wrap(complete)
    for scorer in scorers:
        judge = getattr(scorer, "judge", None)
        if judge is not None and hasattr(judge, "complete_fn"):
            judge.complete_fn = wrapped
            judge.timeout_s = settings.timeout_s
            judge.on_cost = tracker.add  # embedding calls, which do not go through ``wrapped``


async def _run_all(
    run_id: str, plan: PlannedRunList, suite: Suite, dataset: Dataset, store: Store, options: RunOptions,
    progress: Progress, stats: CallStats,
) -> tuple[int, str | None]:
    """Carry out the planned runs; returns (runs not run, why)."""
    from agentctl.providers.base import make_provider
    from agentctl.providers.budget import BudgetExhausted
    from agentctl.providers.resilience import CallsStopped
    from agentctl.scorers.registry import registry

    settings, tracker, breakers = provider_settings(suite, options, store, stats)
    providers = {c.name: make_provider(c, suite, dataset, settings=settings)
                 for c in {r.candidate.name: r.candidate for r in plan}.values()}
    scorers: list[Scorer] = [registry.create(spec) for spec in suite.scorers]
    share_calls_with_judges(scorers, settings, tracker)
    required = {s.name for s in suite.scorers if s.required}

    queue: asyncio.Queue[tuple[RunResult, Trajectory] | None] = asyncio.Queue()
    semaphore = asyncio.Semaphore(max(1, options.concurrency))
    not_started = 0
    stopped_by: dict[str, int] = {}
    """Why runs were not run (budget, an open breaker) -> how many."""

    def not_run(why: str) -> None:
        nonlocal not_started
        not_started += 1
        stopped_by[why] = stopped_by.get(why, 0) + 1

    async def writer() -> None:
        while True:
            item = await queue.get()
            batch = [] if item is None else [item]
            done = item is None
            while not queue.empty():
                nxt = queue.get_nowait()
                if nxt is None:
                    done = True
                else:
                    batch.append(nxt)
            if batch:
                await asyncio.to_thread(store.write_results, batch)
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
                not_run("budget" if isinstance(exc, BudgetExhausted) else "breaker:" + run.candidate.model)
                return
            verdict_scores: list[ScoreResult] = []
            if scorers:
                from agentctl.scorers.outcome import score_outcome

                verdict = score_outcome(run.case, trajectory, suite, dataset.tools)
                ctx = ScoringContext(run.case, trajectory, verdict, suite, dataset)
                for scorer in scorers:
                    try:
                        verdict_scores.append(await scorer.score(ctx))
                    except Exception as exc:  # a scorer bug must not lose the run
                        verdict_scores.append(ScoreResult(scorer.name, None, None,
                                                          error=redact_text(f"{type(exc).__name__}: {exc}")))
            result = build_result(run_id, run.case, trajectory, suite, dataset, verdict_scores, required)
            # Model and judge calls were charged to the budget as they were made.
            await queue.put((result, trajectory))
            progress.advance(result)

    writer_task = asyncio.create_task(writer())
    runs_task = asyncio.gather(*(one(r) for r in plan))
    loop = asyncio.get_running_loop()
    interrupted = False

    def on_signal() -> None:
        # Stop starting runs and cancel those in flight, but let the writer commit every
        # run that has finished: an interrupted evaluation loses nothing it completed.
        nonlocal interrupted
        interrupted = True
        runs_task.cancel()

    handled = []
    for sig in (signal.SIGINT, signal.SIGTERM):
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


def finalize(store: Store, run_id: str, suite: Suite) -> tuple[list[RunResult], list[MetricValue], list[GateResult]]:
    """Compute metrics, comparisons and gates from the stored results, and store them."""
    from agentctl.metrics.compare import compare_candidates, comparison_rows
    from agentctl.metrics.compute import compute_metrics
    from agentctl.metrics.gates import evaluate_gates

    results = store.load_results(run_id)
    metrics = compute_metrics(results, scorers=[s.name for s in suite.scorers])
    candidates = sorted({r.candidate for r in results})
    baseline = suite.baseline if suite.baseline in candidates else None
    gates = evaluate_gates(suite, results, metrics, baseline=baseline)
    store.replace_metrics(run_id, metrics)
    store.replace_gates(run_id, gates)
    if baseline:
        tables: dict[str, list[dict[str, Any]]] = {}
        for cand in candidates:
            if cand == baseline:
                continue
            for table, rows in comparison_rows(run_id, compare_candidates(results, baseline, cand)).items():
                tables.setdefault(table, []).extend(rows)
        for table, rows in tables.items():
            store.replace_rows(run_id, table, rows)
    return results, metrics, gates


def gate_exit_code(gates: list[GateResult]) -> int:
    return EXIT_OK if all(g.passed for g in gates) else EXIT_GATE_FAILED


def run_suite(
    suite: Suite | str | Path,
    *,
    db: str | Path = "agentctl.duckdb",
    options: RunOptions | None = None,
    progress: Progress | None = None,
    on_plan: Callable[[Plan, str], None] | None = None,
) -> EvalOutcome:
    """Run an evaluation end to end and return its outcome (exit code included).

    Raises :class:`~agentctl.errors.InputError` for bad input (exit 2) and
    :class:`~agentctl.errors.RunError` when the run cannot be carried out (exit 3).
    """
    from agentctl.config.loader import load_suite_and_dataset
    from agentctl.datasets.loader import dataset_hash

    options = options or RunOptions()
    progress = progress or SilentProgress()
    if not isinstance(suite, Suite):
        suite, dataset, warnings = load_suite_and_dataset(Path(suite))
    else:
        from agentctl.datasets.loader import load_dataset

        dataset, warnings = load_dataset(suite.dataset_dir()), []
    notes = [str(w) for w in warnings]
    if options.concurrency < 1:
        raise InputError("--concurrency must be at least 1")
    candidates = select_candidates(suite, options.candidates)
    plan = make_plan(suite, dataset, candidates, repeats=options.repeats, tags=options.tags or None,
                     limit=options.limit, shard=parse_shard(options.shard))
    notes += plan.notes
    if not plan.runs:
        raise InputError("nothing to run: no case matches the selection (check --tag, --limit, --shard)")

    if options.dry_run:
        from agentctl.plan import estimate_plan

        estimates, estimate_notes = estimate_plan(plan, suite, dataset)
        return EvalOutcome(run_id="(dry run)", suite=suite, results=[], metrics=[], gates=[], exit_code=EXIT_OK,
                           status="dry_run", planned=len(plan.runs), notes=notes + estimate_notes, plan=plan,
                           estimates=estimates)
    from agentctl.providers.resilience import CallStats

    stats = CallStats()

    store = Store(db)
    try:
        if options.resume:
            row = store.get_run(options.resume)
            if row is None:
                raise InputError(f"--resume {options.resume}: no such run in {db}")
            if row["suite"] != suite.name:
                raise InputError(f"--resume {options.resume}: that run is of suite '{row['suite']}', "
                                 f"not '{suite.name}'")
            run_id = row["run_id"]
            store.reopen_run(run_id)
            done = store.completed_keys(run_id)
        else:
            run_id = new_run_id()
            done = set()
            store.begin_run({
                "run_id": run_id, "suite": suite.name, "suite_path": str(suite.source or ""),
                "suite_config": suite_config(suite), "dataset_path": str(dataset.path),
                "dataset_hash": dataset_hash(dataset.path), "agentctl_version": __version__,
                "git_commit": git_commit(suite.base_dir), "options": options.public(),
                "candidates": [candidate_record(suite, c) for c in candidates], "planned_runs": len(plan.runs),
            })
        todo = [r for r in plan.runs if r.key not in done]
        if on_plan:
            on_plan(plan, run_id)
        progress.start(len(plan.runs), len(plan.runs) - len(todo))
        status, message, not_run = "finished", None, 0
        try:
            not_run, message = asyncio.run(_run_all(run_id, todo, suite, dataset, store, options, progress, stats))
        except KeyboardInterrupt:
            progress.stop()
            store.finish_run(run_id, status="interrupted", exit_code=EXIT_INTERRUPTED,
                             message="interrupted; resume with --resume " + run_id)
            results = store.load_results(run_id)
            return EvalOutcome(run_id, suite, results, [], [], EXIT_INTERRUPTED, "interrupted",
                               planned=len(plan.runs), not_run=len(plan.runs) - len(results),
                               message=f"interrupted after {len(results)} of {len(plan.runs)} runs; "
                                       f"resume with: agentctl eval run {suite.source or ''} --resume {run_id}",
                               notes=notes, plan=plan, call_stats=stats)
        progress.stop()
        if stats.calls:
            notes.append(stats.summary())
        results, metrics, gates = finalize(store, run_id, suite)
        exit_code = gate_exit_code(gates)
        live = [r for r in results if not r.model.startswith("replay:") and not _is_replay(suite, r.candidate)]
        if not_run:
            status, exit_code = "aborted", EXIT_CANNOT_RUN
        elif live and all(r.infra_error for r in live):
            status, exit_code = "aborted", EXIT_CANNOT_RUN
            message = "every model call failed (provider unreachable or unauthorised); see the failure reasons"
        store.finish_run(run_id, status=status, exit_code=exit_code, message=message)
        return EvalOutcome(run_id, suite, results, metrics, gates, exit_code, status, planned=len(plan.runs),
                           not_run=not_run, message=message, notes=notes, plan=plan, call_stats=stats)
    finally:
        store.close()


def _is_replay(suite: Suite, candidate: str) -> bool:
    spec = suite.candidate(candidate)
    return bool(spec and spec.is_replay)


def gate_stored_run(db: str | Path, run_id: str) -> EvalOutcome:
    """Re-evaluate a stored run's gates from its stored results (no model is called)."""
    store = Store(db)
    try:
        row = store.get_run(run_id)
        if row is None:
            raise InputError(f"no run {run_id!r} in {db}")
        config = dict(row["suite_config"] or {})
        source = config.pop("_source", None)
        suite = Suite.model_validate(config)
        if source:
            suite._source = Path(source)
        results, metrics, gates = finalize(store, row["run_id"], suite)
        code = gate_exit_code(gates)
        return EvalOutcome(row["run_id"], suite, results, metrics, gates, code, row["status"],
                           planned=row.get("planned_runs") or len(results))
    finally:
        store.close()


__all__ = ["EvalOutcome", "Progress", "RunError", "RunOptions", "finalize", "gate_stored_run", "run_suite"]
