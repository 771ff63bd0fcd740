"""The parent's side of worker processes: start them, hand out runs, answer their permits."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import signal
import socket
import subprocess
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agentctl.core.children import child_env
from agentctl.core.errors import AgentctlError, RunError
from agentctl.workers.protocol import Channel, open_channel

if TYPE_CHECKING:
    from agentctl.config.models import Suite
    from agentctl.core.results import RunResult
    from agentctl.core.trajectory import Trajectory
    from agentctl.datasets.models import Dataset
    from agentctl.execution import CallControls
    from agentctl.outcome import RunOptions
    from agentctl.plan import PlannedRun
    from agentctl.providers.resilience import CallStats
    from agentctl.workers.headstart import HeadStart

STOP_GRACE_S = 2.0
"""How long a worker has to exit once told to stop, before it is killed."""


@dataclass
class _Worker:
    index: int
    slots: int
    """Runs it may have in flight: its share of ``--concurrency``."""
    chan: Channel
    pid: int = 0
    exited: asyncio.Future[int] = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    """Its exit code (negative: killed by that signal), as the process that forked it reports."""
    in_flight: int = 0
    done_sent: bool = False
    finished: bool = False
    limit_tasks: set[asyncio.Task[None]] = field(default_factory=set)


def split(concurrency: int, n: int) -> list[int]:
    """``concurrency`` runs in flight shared by ``n`` workers as evenly as can be."""
    return [concurrency // n + (1 if i < concurrency % n else 0) for i in range(n)]


class WorkerPool:
    """``n`` worker processes carrying out one evaluation's runs, at most ``concurrency`` in flight."""

    def __init__(self, n: int, concurrency: int, stats: CallStats | None = None) -> None:
        self.n = n
        self.concurrency = max(1, concurrency)
        self.slots = split(self.concurrency, n)
        self.stats = stats
        """Where the workers' call counts are added (set before :meth:`dispatch`)."""
        self.workers: list[_Worker] = []
        self._next = 0
        self._closed = False
        self._zygote: asyncio.subprocess.Process | _Started | None = None
        self._ctl: Channel | None = None
        self._ctl_task: asyncio.Future[None] | None = None

    async def start(self, run_id: str, plan: list[PlannedRun], suite: Suite, dataset: Dataset, options: RunOptions,
                    *, cache: bool, workers: int | None = None) -> None:
        """Start the workers (unless :meth:`spawn` did), keep ``workers`` of them, send each the
        evaluation, and wait until each has built its providers and scorers.

        Raises what a worker could not build (an unknown scorer, a missing extra) like a
        one-process run raises it, before anything is recorded."""
        from agentctl.core import secrets

        # one pickle for every worker; the planned runs share the dataset's cases within it
        blob = pickle.dumps({"run_id": run_id, "plan": plan, "suite": suite, "dataset": dataset,
                             "options": options, "secrets": sorted(secrets._KNOWN), "cache": cache},
                            protocol=pickle.HIGHEST_PROTOCOL)
        try:
            if self._zygote is None:
                await self.spawn(litellm=any(not r.candidate.is_replay for r in plan))
            self._keep(workers or self.n)
            for w in self.workers:
                w.chan.send("init", list(sys.path), blob)
            answers = await asyncio.gather(*(w.chan.recv() for w in self.workers))
        except BaseException:
            await self.aclose()
            raise
        for w, answer in zip(self.workers, answers, strict=True):
            if answer is None or answer[0] != "ready":
                await self.aclose()
                if answer is None:
                    raise RunError(f"worker process {w.index} exited while starting"
                                   f"{await _exit_text(w)}; see its output above")
                raise _error(answer[1])

    def _keep(self, n: int) -> None:
        """Only the first ``n`` workers carry out runs; the others are stopped (their stream ends)."""
        for w in self.workers[n:]:
            w.chan.close()
        self.workers = self.workers[:n]
        self.n = len(self.workers)
        self.slots = split(self.concurrency, self.n)
        for w, slots in zip(self.workers, self.slots, strict=True):
            w.slots = slots

    async def spawn(self, *, litellm: bool) -> None:
        """Start the processes: one fresh process imports what the workers need once, then forks
        them (no fork of this process: it may hold threads and a DuckDB connection). They wait
        for the evaluation (:meth:`start`), so this may run while the suite is still loading."""
        pairs = [socket.socketpair() for _ in range(self.n)]
        ctl_ours, ctl_theirs = socket.socketpair()
        theirs = [ctl_theirs.fileno(), *(t.fileno() for _, t in pairs)]
        env = child_env()
        try:
            self._zygote = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "agentctl.workers.child", *(["--litellm"] if litellm else []),
                *map(str, theirs), pass_fds=theirs, stdin=asyncio.subprocess.DEVNULL, stdout=2, env=env,
            )
        finally:
            ctl_theirs.close()
            for _, t in pairs:
                t.close()
        await self._connect(ctl_ours, [ours for ours, _ in pairs])

    async def adopt(self, started: HeadStart) -> None:
        """Take over a forking process started before this pool (:mod:`agentctl.workers.headstart`)
        instead of starting one; it has a stream for each of :attr:`n` workers."""
        self._zygote = _Started(started.process)
        await self._connect(started.ctl, started.socks)

    async def _connect(self, ctl: socket.socket, socks: list[socket.socket]) -> None:
        for index, ours in enumerate(socks):
            self.workers.append(_Worker(index, self.slots[index], await open_channel(ours)))
        self._ctl = await open_channel(ctl)
        self._ctl_task = asyncio.ensure_future(self._watch(self._ctl, list(self.workers)))

    async def _watch(self, ctl: Channel, spawned: list[_Worker]) -> None:
        """Worker pids and exit codes, as the forking process reports them."""
        while (msg := await ctl.recv()) is not None:
            if msg[0] == "pids":
                for index, pid in msg[1].items():
                    spawned[index].pid = pid
            elif msg[0] == "exit" and 0 <= msg[1] < len(spawned):
                if not spawned[msg[1]].exited.done():
                    spawned[msg[1]].exited.set_result(msg[2])

    async def dispatch(self, plan: list[PlannedRun], controls: CallControls,
                       finished: Callable[[tuple[RunResult, Trajectory]], Awaitable[None]],
                       not_run: Callable[[str], None]) -> None:
        """Hand out every run of ``plan`` and answer the workers until each has said bye.

        Raises :class:`RunError` when a worker dies or a run raised in it."""
        self._next = 0
        for w in self.workers:
            self._feed(w, plan, controls, not_run)
        serving = [asyncio.ensure_future(self._serve(w, plan, controls, finished, not_run)) for w in self.workers]
        try:
            await asyncio.gather(*serving)
        finally:
            for task in serving:
                task.cancel()

    def _feed(self, w: _Worker, plan: list[PlannedRun], controls: CallControls, not_run: Callable[[str], None]) -> None:
        """Give ``w`` runs until its slots are full; ``done`` once nothing is left for it."""
        while w.in_flight < w.slots and self._next < len(plan):
            index, run = self._next, plan[self._next]
            self._next += 1
            if not run.candidate.is_replay:
                # as in one process: a spent budget or an open breaker starts no new run
                if controls.tracker.exhausted:
                    not_run("budget")
                    continue
                if controls.breakers.is_open(run.candidate.model):
                    not_run("breaker:" + run.candidate.model)
                    continue
            w.chan.send("run", index)
            w.in_flight += 1
        if self._next >= len(plan) and w.in_flight == 0 and not w.done_sent:
            w.done_sent = True
            w.chan.send("done")

    async def _serve(self, w: _Worker, plan: list[PlannedRun], controls: CallControls,
                     finished: Callable[[tuple[RunResult, Trajectory]], Awaitable[None]],
                     not_run: Callable[[str], None]) -> None:
        tracker, breakers, cache, limits = controls.tracker, controls.breakers, controls.cache, controls.limits
        while True:
            msg = await w.chan.recv()
            if msg is None:
                raise RunError(f"worker process {w.index} (pid {w.pid}) stopped in the middle of the run"
                               f"{await _exit_text(w)}; the runs finished before it are kept "
                               "(finish them with --resume)")
            kind = msg[0]
            if kind == "call":
                _, ident, model, key = msg
                hit = cache.get(key) if cache is not None and key is not None else None
                if hit is not None:
                    w.chan.send("call", ident, "hit", hit)
                elif tracker.exhausted:
                    w.chan.send("call", ident, "budget", tracker.message())
                elif breakers.is_open(model):
                    w.chan.send("call", ident, "breaker", breakers.get(model).reason)
                else:
                    w.chan.send("call", ident, "go", None)
            elif kind == "called":
                _, model, key, repeat, reply = msg
                breakers.get(model).record_success()
                if not reply.cached:
                    tracker.add(reply.cost_usd)
                if cache is not None and key is not None:
                    cache.put_reply(key, model, repeat, reply)
            elif kind == "failed":
                breakers.get(msg[1]).record_fault(msg[2])
            elif kind == "spend":
                tracker.add(msg[1])
            elif kind == "limit":
                assert limits is not None
                limiter = limits.for_model(msg[2])
                assert limiter is not None
                task = asyncio.ensure_future(_grant(w.chan, msg[1], limiter.acquire()))
                w.limit_tasks.add(task)
                task.add_done_callback(w.limit_tasks.discard)
            elif kind == "unlimit":
                assert limits is not None
                limiter = limits.for_model(msg[1])
                if limiter is not None:
                    limiter.release(msg[2])
            elif kind in ("result", "not_run"):
                w.in_flight -= 1
                if kind == "result":
                    await finished((msg[1], msg[2]))
                else:
                    not_run(msg[1])
                self._feed(w, plan, controls, not_run)
            elif kind == "crash":
                raise RunError(f"worker process {w.index}: a run failed: {msg[1]}")
            elif kind == "bye":
                if self.stats is not None:
                    _merge_stats(self.stats, msg[1])
                w.finished = True
                return

    async def discard(self) -> None:
        """Stop at once a pool given no evaluation, or stopped already: a forking process still
        importing litellm (seconds) is killed, not waited for; its workers' streams end."""
        if not self._closed and self._zygote is not None and self._zygote.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._zygote.kill()
        await self.aclose()

    async def aclose(self) -> None:
        """Stop every worker: end its stream, give it :data:`STOP_GRACE_S` to exit, then kill it."""
        if self._closed:
            return
        self._closed = True
        for w in self.workers:
            for task in list(w.limit_tasks):
                task.cancel()
            w.chan.close()
        if self._zygote is None:
            return
        try:  # the forking process exits once its last worker has
            await asyncio.wait_for(asyncio.shield(self._zygote.wait()), STOP_GRACE_S)
        except (TimeoutError, asyncio.CancelledError):
            for w in self.workers:
                if w.pid and not w.exited.done():
                    _kill(w.pid)
            _kill(self._zygote.pid)
            await self._zygote.wait()
        finally:
            if self._ctl_task is not None:
                self._ctl_task.cancel()
            if self._ctl is not None:
                self._ctl.close()


class _Started:
    """A forking process started with :class:`subprocess.Popen`, seen as the pool sees the one it
    starts itself (an :class:`asyncio.subprocess.Process`)."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        self.pid = process.pid

    @property
    def returncode(self) -> int | None:
        return self.process.poll()

    def kill(self) -> None:
        self.process.kill()

    async def wait(self) -> int:
        if self.process.poll() is not None:
            return self.process.returncode
        return await asyncio.get_running_loop().run_in_executor(None, self.process.wait)


async def _grant(chan: Channel, ident: int, acquiring: Awaitable[None]) -> None:
    await acquiring
    chan.send("limit", ident)


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


async def _exit_text(w: _Worker) -> str:
    try:
        code = await asyncio.wait_for(asyncio.shield(w.exited), STOP_GRACE_S)
    except TimeoutError:
        return ""
    if code < 0:
        try:
            return f" (killed by {signal.Signals(-code).name})"
        except ValueError:
            return f" (killed by signal {-code})"
    return f" (exit code {code})"


def _error(exc: Any) -> BaseException:
    return exc if isinstance(exc, AgentctlError) else RunError(str(exc))


def _merge_stats(into: CallStats, other: CallStats) -> None:
    into.calls += other.calls
    into.attempts += other.attempts
    into.retries += other.retries
    into.failed += other.failed
    into.cache_hits += other.cache_hits
    into.faults.update(other.faults)
