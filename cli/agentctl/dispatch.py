"""Carrying out planned runs: bounded concurrency, each finished run scored and handed to
one writer that commits whatever has finished since its last commit (at least every
``COMMIT_EVERY_S``), so the store is always a consistent record of finished runs.
"""

from __future__ import annotations

import asyncio
import math
import signal
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentctl.config.models import Suite
from agentctl.core.results import RunResult
from agentctl.core.secrets import remember_secrets
from agentctl.core.trajectory import Trajectory
from agentctl.datasets.models import Dataset
from agentctl.execution import CallControls, call_controls, local_settings
from agentctl.outcome import Progress, RunOptions
from agentctl.plan import PlannedRun
from agentctl.run_one import build_runners, execute_run, suite_secrets
from agentctl.scorers.base import Scorer
from agentctl.store.rows import RunRows, run_rows
from agentctl.store.store import Store

if TYPE_CHECKING:
    from agentctl.providers.base import Provider
    from agentctl.providers.budget import SpendTracker
    from agentctl.providers.resilience import Breakers, CallStats
    from agentctl.workers.pool import WorkerPool


@dataclass
class Prepared:
    """What a run needs, built (and so checked) before anything is written to the store."""

    providers: dict[str, Provider]
    scorers: list[Scorer]
    required: set[str]
    tracker: SpendTracker
    breakers: Breakers
    controls: CallControls | None = None
    pool: WorkerPool | None = None
    """The worker processes carrying out the runs (``--workers`` > 1); None: this process does."""

    async def aclose(self) -> None:
        """Stop the worker processes, if any (they are stopped anyway once the run is over)."""
        if self.pool is not None:
            await self.pool.aclose()


async def prepare_runs(plan: PlannedRunList, suite: Suite, dataset: Dataset, store: Store, options: RunOptions,
                       stats: CallStats, run_id: str, early: WorkerPool | None = None) -> Prepared:
    """Providers and scorers of the run: an unknown scheme, a missing extra or a broken plugin
    fails here, before the run is recorded. With worker processes, each builds its own and
    says it is ready (or what failed) before this returns; ``early``: workers already started
    (:func:`agentctl.workers.prestart`)."""
    from agentctl.workers import choose_workers

    controls = call_controls(suite, options, store, stats)
    workers = choose_workers(options, plan, early)
    if workers:
        from agentctl.workers.pool import WorkerPool

        remember_secrets(suite_secrets(plan, suite))
        pool = early or WorkerPool(workers, options.concurrency)
        pool.stats = stats
        await pool.start(run_id, plan, suite, dataset, options, cache=controls.cache is not None, workers=workers)
        return Prepared({}, [], set(), controls.tracker, controls.breakers, controls, pool)
    if early is not None:  # started early, but the plan is too small for them
        await early.discard()
    settings = local_settings(suite, options, stats, controls)
    providers, scorers, required = build_runners(plan, suite, dataset, settings, controls.tracker)
    return Prepared(providers, scorers, required, controls.tracker, controls.breakers, controls)


COMMIT_EVERY_S = 1.0
"""Finished runs are committed at least this often (and at once when COMMIT_BATCH are waiting)."""
COMMIT_BATCH = 2000
QUEUED_RUNS = 4 * COMMIT_BATCH
"""At most this many finished runs wait for the commit in flight (as rows, about 4 KB each);
then the runs wait. Room for two batches beyond the one being gathered: a checkpoint of a big
store (up to 0.7 s at 100,000 runs) no longer stops the runs."""


async def run_all(
    run_id: str, plan: PlannedRunList, suite: Suite, dataset: Dataset, store: Store, prepared: Prepared,
    options: RunOptions, progress: Progress, handle_signals: bool,
) -> tuple[int, str | None]:
    """Carry out the planned runs; returns (runs not run, why).

    With ``handle_signals`` (only on a loop agentctl owns), SIGINT and SIGTERM stop the run
    gracefully; on a caller's loop its own handlers stay in place."""
    providers, scorers, required = prepared.providers, prepared.scorers, prepared.required
    tracker, breakers = prepared.tracker, prepared.breakers

    # Bounded: a replay makes runs faster than one writer commits them, and an unbounded queue
    # held every trajectory not yet written (hundreds of MB at 100,000 runs). Full, it makes
    # the runs wait for the commit in flight.
    queue: asyncio.Queue[RunRows | None] = asyncio.Queue(maxsize=QUEUED_RUNS)
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
    wake = asyncio.Event()
    """Set when the writer should not wait out ``COMMIT_EVERY_S``: the end, or a full batch."""
    closing = False
    """The end marker is (being) queued: the writer waits no more."""

    async def hand_over(done: tuple[RunResult, Trajectory]) -> None:
        # As rows, built here: in the writer's thread they took the GIL from the runs in
        # thousands of small slices, and the commit (another process) waited for them.
        await queue.put(run_rows(*done))
        progress.advance(done[0])
        if queue.qsize() >= COMMIT_BATCH:
            wake.set()

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
        last = -math.inf  # the first finished run is committed at once (not 0.0: loop.time() counts from boot)
        while True:
            item = await queue.get()
            batch = [] if item is None else [item]
            done = ended = item is None
            # A commit per finished run cost more CPU than the run: gather what finishes
            # within COMMIT_EVERY_S (a kill loses at most that much), then commit it at once.
            wait = last + COMMIT_EVERY_S - loop.time()
            if not done and not closing and wait > 0 and queue.qsize() < COMMIT_BATCH:
                # Woken early by the end marker: the last runs are committed at once, not
                # after an idle wait (up to a second at the end of every run). ``closing`` is
                # checked, not only the event: the end may have been signalled while this
                # writer was committing, before it took the runs queued ahead of the marker.
                wake.clear()
                try:
                    await asyncio.wait_for(wake.wait(), wait)
                except TimeoutError:
                    pass
            while not queue.empty():
                nxt = queue.get_nowait()
                if nxt is None:
                    done = ended = True
                else:
                    batch.append(nxt)
            if batch:
                await store.write_rows_async(batch)
                last = loop.time()
            if done:
                return

    async def one(run: PlannedRun) -> None:
        async with semaphore:
            live = not run.candidate.is_replay
            if live and tracker.exhausted:
                not_run("budget")
                return
            if live and breakers.is_open(run.candidate.model):
                not_run("breaker:" + run.candidate.model)
                return
            done = await execute_run(run_id, run, suite, dataset, providers, scorers, required)
            if isinstance(done, str):
                not_run(done)
                return
            await hand_over(done)
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

    if prepared.pool is not None:
        assert prepared.controls is not None
        runs_task: asyncio.Future[Any] = asyncio.ensure_future(
            prepared.pool.dispatch(plan, prepared.controls, hand_over, not_run))
    else:
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
        await prepared.aclose()  # workers stop (in flight runs are dropped, as a cancel drops them here)
        closing = True
        wake.set()
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
