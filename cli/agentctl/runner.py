"""``run_suite``: plan, run, score, store, measure, gate — the library behind ``eval run``.

Runs are async with bounded concurrency; each finished run is scored and handed to a
writer task that commits whatever has finished since its last commit, so the store is
always a consistent record of finished runs and ``--resume`` can pick up from it.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import importlib
import json
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from agentctl.config.models import CandidateSpec, Suite
from agentctl.core.collector import collector_paused
from agentctl.core.errors import (
    EXIT_CANNOT_RUN,
    EXIT_INTERRUPTED,
    EXIT_OK,
    InputError,
    Interrupted,
    Problem,
    RunError,
)
from agentctl.core.secrets import redact_text
from agentctl.core.version import __version__
from agentctl.datasets.models import Dataset
from agentctl.dispatch import prepare_runs, run_all
from agentctl.execution import share_calls_with_judges, total_limit
from agentctl.measure import NO_GATES, finalize, gate_stored_run
from agentctl.outcome import DEFAULT_CONCURRENCY, EvalOutcome, Progress, RunOptions, SilentProgress
from agentctl.plan import Plan, PlannedRun, make_plan, parse_shard, select_candidates
from agentctl.provenance import candidate_record, git_commit, new_run_id, suite_config
from agentctl.providers.litellm_setup import on_lean_loop
from agentctl.store.store import DEFAULT_DB, Store, StoreHandle, open_store

T = TypeVar("T")

if TYPE_CHECKING:
    from agentctl.providers.resilience import CallStats
    from agentctl.workers import EarlyWorkers
    from agentctl.workers.pool import WorkerPool


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
            return asyncio.run(on_lean_loop(_run_suite(suite, db, options, progress, on_plan, handle_signals=True)))  # type: ignore[no-any-return]
    import concurrent.futures

    work = on_lean_loop(_run_suite(suite, db, options, progress, on_plan, handle_signals=False))
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
    from agentctl.workers import EarlyWorkers, prestart

    options = options or RunOptions()
    # --workers N: the workers import litellm while the suite loads (stopped on every way out)
    early = None if options.problems() or options.dry_run else await prestart(options)
    # --workers auto: started once the suite is parsed, if its dataset promises enough live runs
    speculative = EarlyWorkers(options) if (early is None and options.workers == "auto" and not options.dry_run
                                            and not options.problems() and not isinstance(suite, Suite)) else None
    try:
        return await _load_and_run(suite, db, options, progress, on_plan, handle_signals=handle_signals,
                                   early=early, speculative=speculative)
    finally:
        if early is not None:
            await early.aclose()
        if speculative is not None:
            await speculative.aclose()
        from agentctl.workers import headstart

        headstart.discard()  # started by the command for options this evaluation did not take


async def _load_and_run(
    suite: Suite | str | Path, db: StoreHandle, options: RunOptions, progress: Progress | None,
    on_plan: Callable[[Plan, str], None] | None, *, handle_signals: bool, early: WorkerPool | None,
    speculative: EarlyWorkers | None = None,
) -> EvalOutcome:
    from agentctl.config.loader import check_or_raise, check_suite, load_suite_and_dataset

    progress = progress or SilentProgress()
    for key, problem in options.problems()[:1]:
        raise InputError(problem, key=key)
    _phase(progress, "loading and validating the suite and dataset")
    from agentctl.environments import load_environment

    # Checking imports the dataset's environment.py (user code) and reads files: off the loop.
    checked: tuple[Suite, Dataset, list[Problem]]
    if isinstance(suite, Suite):
        checked = check_or_raise(await _in_daemon_thread(check_suite, suite))
    else:
        checked = await _in_daemon_thread(load_suite_and_dataset, Path(suite),
                                          speculative.consider if speculative is not None else None)
    suite, dataset, warnings = checked
    if speculative is not None:
        early = await speculative.pool()
    await _in_daemon_thread(load_environment, suite, dataset)  # loaded once; a no-op after the check
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
                                     candidates, notes, pricing_sources, stats, early)
    except (duckdb.Error, OSError) as exc:
        # A full disk or a vanished file under the store: what was committed stays; say so, exit 3.
        where = db.path if isinstance(db, Store) else db
        raise RunError(f"results store {where} could not be written: {exc}; the runs committed before this "
                       "are kept (resume with --resume once there is room)") from None


async def _record_and_run(
    suite: Suite, dataset: Dataset, db: StoreHandle, options: RunOptions, progress: Progress,
    on_plan: Callable[[Plan, str], None] | None, handle_signals: bool, plan: Plan, candidates: list[CandidateSpec],
    notes: list[str], pricing_sources: dict[str, str], stats: CallStats, early: WorkerPool | None,
) -> EvalOutcome:
    from agentctl.datasets.loader import dataset_hash
    from agentctl.engine.tools import forget_recordings

    async with contextlib.AsyncExitStack() as stack:
        store = stack.enter_context(open_store(db))
        if not isinstance(db, Store):
            store.start_committer()  # commits go to a process of their own (see below)
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
        todo = [r for r in plan.runs if r.key not in done] if done else list(plan.runs)
        hashed = None if options.resume else _meanwhile(dataset_hash, dataset.path)  # 0.2 s at 100,000 runs
        # The cases' rows (below) and the statistics need numpy (56 ms to import): imported while
        # the workers get ready, when this process has nothing else to do, not after.
        numpy_imported = _meanwhile(importlib.import_module, "numpy")
        prepared = await prepare_runs(todo, suite, dataset, store, options, stats, run_id, early)
        workers = prepared.pool
        if workers is not None:
            stack.push_async_callback(workers.aclose)  # worker processes never outlive the run
        # Everything is checked: from here on the run is recorded.
        if options.resume:
            store.reopen_run(run_id)
        else:
            assert hashed is not None
            digest = await hashed
            store.begin_run({
                "run_id": run_id, "suite": suite.name, "suite_path": str(suite.source or ""),
                "suite_config": suite_config(suite), "dataset_path": str(dataset.path),
                "dataset_hash": digest, "agentctl_version": __version__,
                "git_commit": git_commit(suite.base_dir),
                "options": {**options.public(), "replay_pricing": pricing_sources},
                "candidates": [candidate_record(suite, c) for c in candidates], "planned_runs": len(plan.runs),
                "shard": "{}/{}".format(*shard) if (shard := parse_shard(options.shard)) else None,
            })
        await numpy_imported
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
        # opened here: a caller's Store keeps its connection); another process commits, off
        # this one's GIL (agentctl.store.committer).
        released = contextlib.nullcontext() if isinstance(db, Store) else store.released(offload=True)
        stack.enter_context(collector_paused(options.pause_gc and only_agentctl_code(todo, suite, dataset)))
        try:
            with released:
                not_run, message = await run_all(run_id, todo, suite, dataset, store, prepared, options,
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
        # Every run is stored: metrics and reports read the store, so the recordings (most of the
        # memory of a big replay) go now, before those phases need theirs.
        del prepared
        forget_recordings(dataset)
        if handle_signals and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _raise_interrupt)  # the loop's handler is gone again
        if workers is not None:
            notes.append(f"runs carried out by {workers.n} worker process{'es' if workers.n != 1 else ''} (--workers)")
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
            message = f"interrupted while computing metrics; every run is stored: agentctl eval gate {run_id} --store"
            store.finish_run(run_id, status="interrupted", exit_code=EXIT_INTERRUPTED, message=message)
            raise Interrupted(f"{message} --db {store.path}") from None
        finally:
            _phase(progress, None)
        results, metrics, gates = m.results, m.metrics, m.gates
        exit_code = m.exit_code
        if m.gate_message:
            message = "; ".join(x for x in (message, m.gate_message) if x)
        if not suite.gates:
            notes.append(NO_GATES)
        replayed = {c.name for c in suite.candidates if c.is_replay}  # a set: 100,000 look-ups took 0.2 s
        live = [r for r in results if not r.model.startswith("replay:") and r.candidate not in replayed]
        if not_run:
            status, exit_code = "aborted", EXIT_CANNOT_RUN
        elif live and all(r.infra_error for r in live):
            status, exit_code = "aborted", EXIT_CANNOT_RUN
            message = "every model call failed (provider unreachable or unauthorised); see the failure reasons"
        store.finish_run(run_id, status=status, exit_code=exit_code, message=message)
        return EvalOutcome(run_id, suite, results, metrics, gates, exit_code, status, planned=len(plan.runs),
                           not_run=not_run, message=message, notes=notes, plan=plan, call_stats=stats,
                           comparisons=m.comparisons)


def _meanwhile(fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
    """``fn(*args)`` on a daemon thread while the loop goes on (for work that mostly releases
    the GIL, such as hashing files); await the result. If nothing awaits it, its error is dropped."""
    task = asyncio.ensure_future(_in_daemon_thread(fn, *args))
    task.add_done_callback(lambda t: t.cancelled() or t.exception())
    return task


async def _in_daemon_thread(fn: Callable[..., T], *args: Any) -> T:
    """``await asyncio.to_thread(fn, *args)``, in a daemon thread: an interrupted evaluation
    does not wait for it. The loop joins its default executor's threads as it closes, so
    Ctrl-C while a 100,000-run dataset was still being read took 4-7 s to answer. Only for
    work that writes nothing (reading and checking files, importing an environment)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()
    context = contextvars.copy_context()

    def settle(result: Any, error: BaseException | None) -> None:
        if future.cancelled():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    def work() -> None:
        try:
            outcome: tuple[Any, BaseException | None] = (context.run(fn, *args), None)
        except BaseException as exc:  # handed to the awaiting task, as asyncio.to_thread does
            outcome = (None, exc)
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits any more
            loop.call_soon_threadsafe(settle, *outcome)

    threading.Thread(target=work, name=f"agentctl-{getattr(fn, '__name__', 'work')}", daemon=True).start()
    return await future


def only_agentctl_code(runs: list[PlannedRun], suite: Suite, dataset: Dataset) -> bool:
    """Whether carrying out ``runs`` runs no code but agentctl's: replays only, no scorer
    plugins (deepeval, ragas, a third party's), no environment. Only then may the cyclic
    collector pause (:mod:`agentctl.core.collector`): other code may leave garbage in cycles."""
    from agentctl.environments import environment_source

    return (all(r.candidate.is_replay for r in runs) and not suite.scorers
            and environment_source(suite, dataset) is None)


__all__ = [
    "DEFAULT_CONCURRENCY", "EvalOutcome", "total_limit", "Progress", "RunError", "RunOptions", "SilentProgress", "finalize", "gate_stored_run",
    "run_suite", "run_suite_async", "share_calls_with_judges",
]
