"""``run_suite``: plan, run, score, store, measure, gate — the library behind ``eval run``.

Runs are async with bounded concurrency; each finished run is scored and handed to a
writer task that commits whatever has finished since its last commit, so the store is
always a consistent record of finished runs and ``--resume`` can pick up from it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from agentctl.config.models import CandidateSpec, Suite
from agentctl.core.errors import EXIT_CANNOT_RUN, EXIT_INTERRUPTED, EXIT_OK, InputError, Problem, RunError
from agentctl.core.results import RunResult, ScoreResult, Verdict
from agentctl.core.secrets import redact_text, remember_secrets, secret_values
from agentctl.core.trajectory import Trajectory
from agentctl.core.version import __version__
from agentctl.datasets.models import Case, Dataset
from agentctl.execution import provider_settings, share_calls_with_judges, total_limit
from agentctl.measure import NO_GATES, finalize, gate_stored_run
from agentctl.outcome import DEFAULT_CONCURRENCY, EvalOutcome, Progress, RunOptions, SilentProgress
from agentctl.plan import Plan, PlannedRun, make_plan, parse_shard, select_candidates
from agentctl.provenance import candidate_record, git_commit, new_run_id, suite_config
from agentctl.scorers.base import Scorer, ScoringContext
from agentctl.store.store import DEFAULT_DB, Store, StoreHandle, open_store

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
class _Prepared:
    """What a run needs, built (and so checked) before anything is written to the store."""

    providers: dict[str, Provider]
    scorers: list[Scorer]
    required: set[str]
    tracker: SpendTracker
    breakers: Breakers


def _prepare(plan: PlannedRunList, suite: Suite, dataset: Dataset, store: Store, options: RunOptions,
             stats: CallStats) -> _Prepared:
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
    return _Prepared(providers, scorers, required, tracker, breakers)


COMMIT_EVERY_S = 0.25
"""Finished runs are committed at least this often (and at once when COMMIT_BATCH are waiting)."""
COMMIT_BATCH = 2000


async def _run_all(
    run_id: str, plan: PlannedRunList, suite: Suite, dataset: Dataset, store: Store, prepared: _Prepared,
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
        loop = asyncio.get_running_loop()
        last = 0.0
        while True:
            item = await queue.get()
            batch = [] if item is None else [item]
            done = item is None
            # A commit per finished run cost more CPU than the run: gather what finishes
            # within COMMIT_EVERY_S (a kill loses at most that much), then commit it at once.
            wait = last + COMMIT_EVERY_S - loop.time()
            if not done and wait > 0 and queue.qsize() < COMMIT_BATCH:
                await asyncio.sleep(wait)
            while not queue.empty():
                nxt = queue.get_nowait()
                if nxt is None:
                    done = True
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


def run_suite(
    suite: Suite | str | Path,
    *,
    db: StoreHandle = DEFAULT_DB,
    options: RunOptions | None = None,
    progress: Progress | None = None,
    on_plan: Callable[[Plan, str], None] | None = None,
) -> EvalOutcome:
    """Run an evaluation end to end and return its outcome (exit code included): the sync face
    of :func:`run_suite_async`.

    Called where an event loop is already running (a notebook, an async service), the run is
    carried out on a worker thread with its own loop; ``await run_suite_async(...)`` there instead
    to share the caller's loop. Raises like :func:`run_suite_async`.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        with _sigterm_interrupts():
            return asyncio.run(_run_suite(suite, db, options, progress, on_plan, handle_signals=True))
    import concurrent.futures

    work = _run_suite(suite, db, options, progress, on_plan, handle_signals=False)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="agentctl-run") as pool:
        return pool.submit(asyncio.run, work).result()


async def run_suite_async(
    suite: Suite | str | Path,
    *,
    db: StoreHandle = DEFAULT_DB,
    options: RunOptions | None = None,
    progress: Progress | None = None,
    on_plan: Callable[[Plan, str], None] | None = None,
) -> EvalOutcome:
    """Run an evaluation end to end on the running event loop and return its outcome.

    ``suite`` is a suite file or a :class:`Suite` (checked exactly like a file: an unknown
    baseline, scorer or recording label is an error); ``db`` a :class:`Store` or a path.
    Everything is checked (suite, dataset, selection, providers, scorers, ``--resume``) before
    the run is recorded, so bad input leaves nothing in the store.

    Raises :class:`~agentctl.core.errors.InputError` for bad input (exit 2) and
    :class:`~agentctl.core.errors.RunError` when the run cannot be carried out (exit 3).
    """
    return await _run_suite(suite, db, options, progress, on_plan, handle_signals=False)


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM stops the evaluation like Ctrl-C in every phase (loading, metrics, reports...):
    what finished is kept. The run phase installs its own handlers on the loop."""
    try:
        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _phase(progress: Progress, name: str | None) -> None:
    """Tell the progress display which phase runs now (``None``: none); optional in the protocol."""
    show = getattr(progress, "phase", None)
    if show is not None:
        show(name)


async def _run_suite(
    suite: Suite | str | Path, db: StoreHandle, options: RunOptions | None, progress: Progress | None,
    on_plan: Callable[[Plan, str], None] | None, *, handle_signals: bool,
) -> EvalOutcome:
    from agentctl.config.loader import check_or_raise, check_suite, load_suite_and_dataset

    options = options or RunOptions()
    progress = progress or SilentProgress()
    for key, problem in options.problems()[:1]:
        raise InputError(problem, key=key)
    _phase(progress, "loading and validating the suite and dataset")
    from agentctl.environments import load_environment

    # Checking imports the dataset's environment.py (user code) and reads files: off the loop.
    checked: tuple[Suite, Dataset, list[Problem]]
    if isinstance(suite, Suite):
        checked = check_or_raise(await asyncio.to_thread(check_suite, suite))
    else:
        checked = await asyncio.to_thread(load_suite_and_dataset, Path(suite))
    suite, dataset, warnings = checked
    await asyncio.to_thread(load_environment, suite, dataset)  # loaded once; a no-op after the check
    # a warning is said once, as a warning (not "note: ...: warning: ...")
    notes = ["warning: " + str(replace(w, severity="error")) for w in warnings]
    candidates = select_candidates(suite, options.candidates)
    _phase(progress, "planning")
    plan = make_plan(suite, dataset, candidates, repeats=options.repeats, tags=options.tags or None,
                     limit=options.limit, shard=parse_shard(options.shard))
    notes += plan.notes
    _phase(progress, None)
    if not plan.runs and not options.shard:  # an empty shard of a big matrix is a run, for eval merge
        raise InputError("nothing to run: no case matches the selection (check the tags, limit and shard)")
    from agentctl.plan import pricing_notes as _pricing_notes

    pricing_sources, pricing_notes = _pricing_notes(suite, dataset, plan)
    notes += pricing_notes

    if options.dry_run:
        from agentctl.plan import estimate_plan

        estimates, estimate_notes = estimate_plan(plan, suite, dataset)
        return EvalOutcome(run_id="(dry run)", suite=suite, results=[], metrics=[], gates=[], exit_code=EXIT_OK,
                           status="dry_run", planned=len(plan.runs), notes=notes + estimate_notes, plan=plan,
                           estimates=estimates)
    import duckdb

    from agentctl.providers.resilience import CallStats

    stats = CallStats()
    try:
        return await _record_and_run(suite, dataset, db, options, progress, on_plan, handle_signals, plan,
                                     candidates, notes, pricing_sources, stats)
    except (duckdb.Error, OSError) as exc:
        # A full disk or a vanished file under the store: what was committed stays; say so, exit 3.
        where = db.path if isinstance(db, Store) else db
        raise RunError(f"results store {where} could not be written: {exc}; the runs committed before this "
                       "are kept (resume with --resume once there is room)") from None


async def _record_and_run(
    suite: Suite, dataset: Dataset, db: StoreHandle, options: RunOptions, progress: Progress,
    on_plan: Callable[[Plan, str], None] | None, handle_signals: bool, plan: Plan, candidates: list[CandidateSpec],
    notes: list[str], pricing_sources: dict[str, str], stats: CallStats,
) -> EvalOutcome:
    from agentctl.datasets.loader import dataset_hash

    with open_store(db) as store:
        done: set[tuple[str, str, int]] = set()
        if options.resume:
            row = store.get_run(options.resume)
            if row is None:
                raise InputError(f"{options.resume}: no such run in {store.path}", key="resume")
            if row["suite"] != suite.name:
                raise InputError(f"{options.resume}: that run is of suite '{row['suite']}', "
                                 f"not '{suite.name}'", key="resume")
            run_id = row["run_id"]
            done = store.completed_keys(run_id)
        else:
            run_id = new_run_id()
        todo = [r for r in plan.runs if r.key not in done]
        prepared = _prepare(todo, suite, dataset, store, options, stats)
        # Everything is checked: from here on the run is recorded.
        if options.resume:
            store.reopen_run(run_id)
        else:
            store.begin_run({
                "run_id": run_id, "suite": suite.name, "suite_path": str(suite.source or ""),
                "suite_config": suite_config(suite), "dataset_path": str(dataset.path),
                "dataset_hash": dataset_hash(dataset.path), "agentctl_version": __version__,
                "git_commit": git_commit(suite.base_dir),
                "options": {**options.public(), "replay_pricing": pricing_sources},
                "candidates": [candidate_record(suite, c) for c in candidates], "planned_runs": len(plan.runs),
                "shard": "{}/{}".format(*shard) if (shard := parse_shard(options.shard)) else None,
            })
        # The golden cases as evaluated: reports and SQL users see what each run was held to,
        # even after the dataset changes.
        store.replace_rows(run_id, "cases", [
            {"run_id": run_id, "case_id": c.id, "tags": list(c.tags), "input": json.dumps(c.input),
             "expected": c.expected.model_dump_json(exclude_none=True), "review": c.review}
            for c in plan.cases
        ])
        if on_plan:
            on_plan(plan, run_id)
        progress.start(len(plan.runs), len(plan.runs) - len(todo))
        status, message, not_run = "finished", None, 0
        # Other processes read the store between commits while the runs go on (only a store
        # opened here: a caller's Store keeps its connection).
        released = contextlib.nullcontext() if isinstance(db, Store) else store.released()
        try:
            with released:
                not_run, message = await _run_all(run_id, todo, suite, dataset, store, prepared, options,
                                                  progress, handle_signals)
        except (KeyboardInterrupt, asyncio.CancelledError):
            progress.stop()
            resume = f"agentctl eval run {suite.source or ''} --db {store.path} --resume {run_id}"
            store.finish_run(run_id, status="interrupted", exit_code=EXIT_INTERRUPTED,
                             message="interrupted; resume with: " + resume)
            results = store.load_results(run_id)
            return EvalOutcome(run_id, suite, results, [], [], EXIT_INTERRUPTED, "interrupted",
                               planned=len(plan.runs), not_run=len(plan.runs) - len(results),
                               message=f"interrupted after {len(results)} of {len(plan.runs)} runs; "
                                       f"resume with: {resume}",
                               notes=notes, plan=plan, call_stats=stats)
        except BaseException as exc:
            # A bug or a failing store: the run is not left 'running'.
            progress.stop()
            try:
                store.finish_run(run_id, status="aborted", exit_code=EXIT_CANNOT_RUN,
                                 message=redact_text(f"{type(exc).__name__}: {exc}"))
            except Exception:  # the store itself may be what failed (a full disk)
                pass
            raise
        progress.stop()
        if handle_signals and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _raise_interrupt)  # the loop's handler is gone again
        if stats.calls:
            notes.append(stats.summary())
        if not plan.runs:
            message = f"shard {options.shard} holds no case of the selection; nothing to gate until eval merge"
            store.finish_run(run_id, status="finished", exit_code=EXIT_OK, message=message)
            return EvalOutcome(run_id, suite, [], [], [], EXIT_OK, "finished", message=message, notes=notes, plan=plan)
        _phase(progress, "metrics, comparisons and gates")
        try:
            m = finalize(store, run_id, suite)
        except KeyboardInterrupt:
            store.finish_run(run_id, status="interrupted", exit_code=EXIT_INTERRUPTED,
                             message="interrupted while computing metrics; every run is stored: "
                                     "agentctl eval gate " + run_id + " --store")
            raise
        finally:
            _phase(progress, None)
        results, metrics, gates = m.results, m.metrics, m.gates
        exit_code = m.exit_code
        if m.gate_message:
            message = "; ".join(x for x in (message, m.gate_message) if x)
        if not suite.gates:
            notes.append(NO_GATES)
        live = [r for r in results if not r.model.startswith("replay:") and not _is_replay(suite, r.candidate)]
        if not_run:
            status, exit_code = "aborted", EXIT_CANNOT_RUN
        elif live and all(r.infra_error for r in live):
            status, exit_code = "aborted", EXIT_CANNOT_RUN
            message = "every model call failed (provider unreachable or unauthorised); see the failure reasons"
        store.finish_run(run_id, status=status, exit_code=exit_code, message=message)
        return EvalOutcome(run_id, suite, results, metrics, gates, exit_code, status, planned=len(plan.runs),
                           not_run=not_run, message=message, notes=notes, plan=plan, call_stats=stats,
                           comparisons=m.comparisons)


def _is_replay(suite: Suite, candidate: str) -> bool:
    spec = suite.candidate(candidate)
    return bool(spec and spec.is_replay)


__all__ = [
    "DEFAULT_CONCURRENCY", "EvalOutcome", "total_limit", "Progress", "RunError", "RunOptions", "SilentProgress", "finalize", "gate_stored_run",
    "run_suite", "run_suite_async", "share_calls_with_judges",
]
