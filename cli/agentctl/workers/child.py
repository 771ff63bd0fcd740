"""Worker processes, forked by ``python -m agentctl.workers.child`` (started by :mod:`agentctl.workers.pool`).

It builds the providers and scorers of the plan it was sent, carries out the runs the parent
hands it on its own event loop, and asks the parent before each model call (budget, breaker,
cache) and each attempt of a rate-limited model. SIGINT and SIGTERM are the parent's to
handle: a worker stops when its stream ends (the parent stopped it, or died).
"""

from __future__ import annotations

import asyncio
import os
import pickle
import signal
import socket
import sys
import traceback
from typing import TYPE_CHECKING, Any

from agentctl.core.errors import AgentctlError, RunError
from agentctl.workers.protocol import Channel, open_channel

if TYPE_CHECKING:
    from agentctl.providers.base import (
        CompleteFn,
        CompleteWrapper,
        ModelReply,
        ModelRequest,
        ProviderSettings,
    )
    from agentctl.providers.ratelimit import RateLimits
    from agentctl.providers.resilience import CallStats


class Permits:
    """Questions to the parent, each answered by a message with the same id."""

    def __init__(self, chan: Channel) -> None:
        self.chan = chan
        self._waiting: dict[int, asyncio.Future[tuple[Any, ...]]] = {}
        self._ids = 0

    async def ask(self, kind: str, *args: Any) -> tuple[Any, ...]:
        self._ids += 1
        ident = self._ids
        future: asyncio.Future[tuple[Any, ...]] = asyncio.get_running_loop().create_future()
        self._waiting[ident] = future
        self.chan.send(kind, ident, *args)
        try:
            return await future
        finally:
            self._waiting.pop(ident, None)

    def answer(self, message: tuple[Any, ...]) -> None:
        future = self._waiting.get(message[1])
        if future is not None and not future.done():
            future.set_result(message[2:])


def remote_calls(permits: Permits, cache: bool, stats: CallStats) -> CompleteWrapper:
    """The parent's cache, budget and breaker around a whole model call (one process: three wrappers)."""
    from agentctl.providers.budget import BudgetExhausted
    from agentctl.providers.cache import cache_key
    from agentctl.providers.resilience import BreakerOpen, fault_of

    def wrap(complete: CompleteFn) -> CompleteFn:
        async def call(request: ModelRequest) -> ModelReply:
            key = cache_key(request) if cache else None
            verdict, payload = await permits.ask("call", request.model, key)
            if verdict == "hit":
                stats.calls += 1
                stats.cache_hits += 1
                reply: ModelReply = payload
                return reply
            if verdict == "budget":
                raise BudgetExhausted(payload)
            if verdict == "breaker":
                exc = BreakerOpen(f"circuit breaker open for {request.model}: {payload}")
                exc.model = request.model
                raise exc
            try:
                reply = await complete(request)
            except AgentctlError:
                raise
            except Exception as exc:
                permits.chan.send("failed", request.model, fault_of(exc))
                raise
            permits.chan.send("called", request.model, key, request.repeat, reply)
            return reply

        return call

    return wrap


def remote_limits(permits: Permits, limits: RateLimits) -> CompleteWrapper:
    """Each attempt of a rate-limited model waits for the parent's permit (the limits are global)."""

    def wrap(complete: CompleteFn) -> CompleteFn:
        async def call(request: ModelRequest) -> ModelReply:
            if limits.for_model(request.model) is None:
                return await complete(request)
            await permits.ask("limit", request.model)
            tokens = 0
            try:
                reply = await complete(request)
                tokens = reply.prompt_tokens + reply.completion_tokens
            finally:
                permits.chan.send("unlimit", request.model, tokens)
            return reply

        return call

    return wrap


def _settings(payload: dict[str, Any], permits: Permits, stats: CallStats) -> ProviderSettings:
    from agentctl.execution import base_settings
    from agentctl.providers.ratelimit import RateLimits

    suite, options = payload["suite"], payload["options"]
    settings = base_settings(suite, options, stats)
    settings.complete_wrappers.append(remote_calls(permits, payload["cache"], stats))
    if suite.execution.limits:
        settings.attempt_wrappers.append(remote_limits(permits, RateLimits(suite.execution.limits)))
    return settings


async def serve(sock: socket.socket) -> None:
    from agentctl.core.secrets import redact_text, remember_secrets
    from agentctl.providers.budget import SpendTracker
    from agentctl.providers.resilience import CallStats
    from agentctl.run_one import build_runners, execute_run

    chan = await open_channel(sock)
    init = await chan.recv()
    if init is None:
        return
    _, parent_path, blob = init
    sys.path[:0] = [p for p in parent_path if p not in sys.path]
    permits = Permits(chan)
    stats = CallStats()

    class RemoteSpend(SpendTracker):
        """Spend outside model calls (judges' embeddings) is charged to the parent's budget."""

        def add(self, usd: float) -> None:
            chan.send("spend", usd)

    try:
        payload = pickle.loads(blob)
        remember_secrets(payload["secrets"])
        suite, dataset, plan, run_id = payload["suite"], payload["dataset"], payload["plan"], payload["run_id"]
        providers, scorers, required = build_runners(plan, suite, dataset, _settings(payload, permits, stats),
                                                     RemoteSpend(None))
    except Exception as exc:
        error = exc if isinstance(exc, AgentctlError) else RunError(
            f"a worker process could not start: {type(exc).__name__}: {redact_text(str(exc))}")
        try:
            chan.send("unready", error)
        except Exception:  # an error that does not pickle
            chan.send("unready", RunError(str(error)))
        await chan.drain()
        return
    chan.send("ready")
    tasks: set[asyncio.Task[None]] = set()

    async def one(index: int) -> None:
        try:
            done = await execute_run(run_id, plan[index], suite, dataset, providers, scorers, required)
            if isinstance(done, str):
                chan.send("not_run", done)
                return
            result, trajectory = done
            trajectory.environment = None  # judged and stored already (build_result): it stays here
            chan.send("result", result, trajectory)
            await chan.drain()
        except Exception as exc:
            text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            chan.send("crash", redact_text(text) + "\n" + redact_text(traceback.format_exc()))

    try:
        while True:
            msg = await chan.recv()
            if msg is None:  # stopped by the parent, or the parent is gone
                return
            kind = msg[0]
            if kind == "run":
                task = asyncio.ensure_future(one(msg[1]))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            elif kind in ("call", "limit"):
                permits.answer(msg)
            elif kind == "done":
                if tasks:
                    await asyncio.gather(*tasks)
                for scorer in scorers:
                    try:
                        await scorer.aclose()
                    except Exception:
                        pass
                chan.send("bye", stats)
                await chan.drain()
                return
    finally:
        for task in tasks:
            task.cancel()


def _worker(fd: int) -> None:
    """A forked worker: serve the parent over ``fd``, then exit (never returns)."""
    code = 0
    try:
        from agentctl.providers.litellm_setup import on_lean_loop

        asyncio.run(on_lean_loop(serve(socket.socket(fileno=fd))))
    except BaseException:
        from agentctl.core.secrets import redact_text

        print(redact_text(traceback.format_exc()), file=sys.stderr)  # keys never reach a log
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)  # no waiting for a client library's threads


def _report(ctl: socket.socket, *message: Any) -> None:
    data = pickle.dumps(message)
    try:
        ctl.sendall(len(data).to_bytes(4, "big") + data)
    except OSError:  # the parent is gone: its workers see their streams end too
        pass


def main() -> None:
    """``python -m agentctl.workers.child [--litellm] CTL FD...``: import once, fork a worker per FD.

    This process is started fresh (no threads, no DuckDB), imports what every worker needs
    (litellm takes seconds of CPU), then forks the workers, which share those pages; it
    reports their pids and exit codes to the parent over CTL and exits after the last."""
    # Ctrl-C reaches the whole process group: the parent decides, and ends each worker's stream.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    args = sys.argv[1:]
    if args and args[0] == "--litellm":
        from agentctl.providers.litellm_setup import warm_up

        warm_up()  # imported, and its first call's set-up built once for every worker
        import agentctl.providers.litellm_model  # noqa: F401
        args = args[1:]
    import agentctl.run_one  # noqa: F401  (and the agent loop, scorers and outcome rules it imports)
    import agentctl.scorers.outcome  # noqa: F401
    from agentctl.core.collector import before_fork

    before_fork()  # each worker's collector scans only what the worker makes
    ctl_fd, fds = int(args[0]), [int(a) for a in args[1:]]
    pids: dict[int, int] = {}
    for index, fd in enumerate(fds):
        pid = os.fork()
        if pid == 0:
            os.close(ctl_fd)
            for other in fds:
                if other != fd:
                    try:
                        os.close(other)
                    except OSError:
                        pass
            _worker(fd)
        os.close(fd)
        pids[pid] = index
    ctl = socket.socket(fileno=ctl_fd)
    _report(ctl, "pids", {index: pid for pid, index in pids.items()})
    while pids:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        _report(ctl, "exit", pids.pop(pid, -1), os.waitstatus_to_exitcode(status))
    os._exit(0)


if __name__ == "__main__":
    main()
