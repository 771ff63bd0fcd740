"""Worker processes for the run phase (``--workers N``).

The live run phase is CPU-bound in the provider client (litellm spends about 5 ms of CPU per
model call), and one process uses one core. With N workers, each worker process has its own
event loop, providers and scorers, and carries out the planned runs the parent hands it one
at a time (a slow worker does not hold a tail); it sends each finished (result, trajectory)
back, and the parent's single writer commits them as in a one-process run.

What must hold across the whole evaluation stays in the parent, which workers ask for
permits over a socket (:mod:`agentctl.workers.protocol`): the concurrency limit (the parent
never has more than ``--concurrency`` runs handed out), the total budget, circuit breakers,
the response cache and per-model rate limits.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from agentctl.core.errors import InputError

if TYPE_CHECKING:
    from agentctl.config.models import Suite
    from agentctl.outcome import RunOptions
    from agentctl.plan import PlannedRun
    from agentctl.workers.pool import WorkerPool

AUTO_MIN_LIVE_RUNS = 1000
"""Without a head start (:mod:`agentctl.workers.headstart`: the ``agentctl`` command's own,
not a library caller's), ``auto`` starts workers only for plans with at least this many live runs. Workers save a
share of the run phase's CPU, and cost some: forking, shipping the plan, each call's permit
and each result over a socket (the workers of a 1,000-case run use 30% more CPU in all).
Measured on 2 cores (single-call cases at 0 ms, medians of 2-3): 500 runs take 3.45 s in one
process against 3.8 s with two workers, 750 runs 3.9 s either way, 1,000 runs 4.47 s against
4.39 s, 3,000 runs 8.8 s against 7.2 s, and 2,000 runs of 3 calls at 50 ms 15.6 s against
12.9 s."""


def cores() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def parse_workers(text: str) -> int | Literal["auto"]:
    """``--workers``: ``auto`` or a whole number >= 1."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        n = int(text)
    except ValueError:
        raise InputError(f"{text!r}: expected a number of worker processes or auto", key="workers") from None
    if n < 1:
        raise InputError(f"{n}: must be at least 1, or auto", key="workers")
    return n


def choose_workers(options: RunOptions, plan: list[PlannedRun], started: WorkerPool | None = None) -> int:
    """How many worker processes carry out ``plan``; 0: this process does.

    Never more than the concurrency (each needs a run in flight) nor than the runs. ``auto``:
    one per core when the plan has at least :data:`AUTO_MIN_LIVE_RUNS` live runs, or any live
    run and the workers were ``started`` already (their forking process imported litellm
    while this one loaded the suite: they are ready as soon as this process would be, and
    even one worker leaves this process's core to the parent's work); replay-only plans stay
    in this process (a replay costs well under a millisecond: shipping it to a worker and
    its result back costs more than it saves). ``--workers 1`` is this process.
    """
    if sys.platform == "win32":
        return 0
    limit = min(max(1, options.concurrency), len(plan))
    if options.workers != "auto":
        wanted = int(options.workers)
        n = min(wanted, limit)
        return n if wanted >= 2 and (n >= 2 or (n == 1 and started is not None)) else 0
    live = sum(1 for r in plan if not r.candidate.is_replay)
    if not live or (live < AUTO_MIN_LIVE_RUNS and started is None):
        return 0
    n = min(cores(), limit)
    return n if n >= 2 or started is not None else 0


async def prestart(options: RunOptions) -> WorkerPool | None:
    """The worker processes the command started first thing (:mod:`agentctl.workers.headstart`),
    or with ``--workers N`` (N > 1) asked for, the worker processes, started now so that they
    import litellm while this process loads and checks the suite; None otherwise (``auto``
    decides once the suite is parsed, :class:`EarlyWorkers`, or the plan is known).
    :func:`choose_workers` may keep fewer of them."""
    from agentctl.workers import headstart
    from agentctl.workers.pool import WorkerPool

    started = headstart.take(options.workers, options.concurrency)
    if started is not None:  # the command started the workers' forking process first thing
        pool = WorkerPool(len(started.socks), options.concurrency)
        await pool.adopt(started)
        return pool
    if sys.platform == "win32" or options.workers == "auto" or int(options.workers) < 2:
        return None

    pool = WorkerPool(min(int(options.workers), max(1, options.concurrency)), options.concurrency)
    if pool.n < 2:
        return None
    await pool.spawn(litellm=True)
    return pool


def estimated_live_runs(suite: Suite, dataset_dir: Path, options: RunOptions) -> int:
    """At most how many live runs the plan will have, from the suite and the number of lines
    of the dataset's cases file (before the dataset is read; tags are not known yet)."""
    from agentctl.datasets.loader import CASES_FILE
    from agentctl.plan import parse_shard, select_candidates

    live = sum(1 for c in select_candidates(suite, options.candidates) if not c.is_replay)
    if not live:
        return 0
    with open(dataset_dir / CASES_FILE, "rb") as f:
        cases = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
    if options.limit is not None:
        cases = min(cases, options.limit)
    shard = parse_shard(options.shard)
    if shard is not None:
        cases = -(-cases // shard[1])
    return cases * (options.repeats or suite.repeats or 1) * live


class EarlyWorkers:
    """``--workers auto``: the worker processes started as soon as the suite is parsed, when
    its dataset promises at least :data:`AUTO_MIN_LIVE_RUNS` live runs, so that they import
    litellm while this process reads the dataset and plans (they started only after the
    plan, one to two seconds before their first call). The plan then decides
    (:func:`choose_workers`); a pool it does not use is killed, not waited for."""

    def __init__(self, options: RunOptions) -> None:
        self.options = options
        self.loop = asyncio.get_running_loop()
        self._task: asyncio.Future[WorkerPool | None] | None = None

    def consider(self, suite: Suite, dataset_dir: Path) -> None:
        """Called by the loader (on its thread) once the suite is parsed."""
        try:
            runs = estimated_live_runs(suite, dataset_dir, self.options)
        except Exception:  # the loader reports whatever is wrong with the suite or dataset
            return
        if runs >= AUTO_MIN_LIVE_RUNS and cores() >= 2 and self.options.concurrency >= 2:
            self.loop.call_soon_threadsafe(self._start)

    def _start(self) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self._spawn())

    async def _spawn(self) -> WorkerPool | None:
        from agentctl.workers.pool import WorkerPool

        pool = WorkerPool(min(cores(), self.options.concurrency), self.options.concurrency)
        try:
            await pool.spawn(litellm=True)
        except OSError:  # no process to spare: the plan starts its workers (or runs here) as before
            await pool.discard()
            return None
        return pool

    async def pool(self) -> WorkerPool | None:
        """The started pool, if the suite promised one."""
        return None if self._task is None else await self._task

    async def aclose(self) -> None:
        """Stop the pool if the run did not (it is unused, or the run stopped early)."""
        pool = await self.pool()
        if pool is not None:
            await pool.discard()
