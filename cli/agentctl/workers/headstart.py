"""A head start for the worker processes of ``agentctl eval run``.

The workers' forking process (:mod:`agentctl.workers.child`) spends two seconds of CPU
importing litellm, and a live evaluation's first model call waits for it. Started by
:class:`agentctl.workers.pool.WorkerPool` it began once this process had imported the
command's code and parsed the suite, 0.4 s in. :func:`start` is called first thing by
``agentctl`` (:func:`agentctl.entry.main`), before Typer and the command's modules are
imported: when the command line is an ``eval run`` whose suite file names a live candidate,
the forking process starts at once and imports litellm on another core while this process
parses the options and loads the suite. The evaluation then takes it over
(:func:`take`); whatever does not (bad options, a replay-only plan, ``--help``) is killed
when the command ends.

Only the command line and the suite's ``candidates`` are read here, with no checking:
what this decides is only when the workers start, never what runs or how. A wrong guess
costs a process killed early, or a start as late as before.
"""

from __future__ import annotations

import atexit
import os
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

VALUE_OPTIONS = frozenset({
    "--candidate", "-c", "--db", "--report-dir", "--junit", "--concurrency", "--repeats", "--limit", "--tag",
    "--shard", "--resume", "--max-cost", "--timeout", "--max-attempts", "--workers",
})
"""Options of ``eval run`` that take a value (a test holds this to the command's own)."""
FLAG_OPTIONS = frozenset({"--no-cache", "--dry-run", "--no-report"})
"""Options of ``eval run`` that take none."""
MAX_SUITE_BYTES = 1 << 20
"""A suite file bigger than this is not read here (it is read once, by the loader)."""


@dataclass
class HeadStart:
    """A forking process started for ``workers`` and ``concurrency`` (as the command line said)."""

    process: subprocess.Popen[bytes]
    ctl: socket.socket
    socks: list[socket.socket]
    workers: int | str
    concurrency: int


_started: HeadStart | None = None


@dataclass
class _Args:
    suite: str
    candidates: list[str]
    workers: int | str
    concurrency: int


def _parse(argv: list[str]) -> _Args | None:
    """``eval run``'s suite, candidates, workers and concurrency, or None (anything else)."""
    if argv[:2] != ["eval", "run"]:
        return None
    positional: list[str] = []
    values: dict[str, list[str]] = {}
    args = iter(argv[2:])
    for arg in args:
        if arg in ("-h", "--help", "--dry-run", "--"):
            return None
        if not arg.startswith("-") or arg == "-":
            positional.append(arg)
            continue
        name, eq, value = arg.partition("=")
        if name in FLAG_OPTIONS and not eq:
            continue
        if name not in VALUE_OPTIONS:
            return None  # unknown to this parser: Typer will say what it is
        if not eq:
            value = next(args, "")
        values.setdefault(name, []).append(value)
    if len(positional) != 1:
        return None
    try:
        workers: int | str = values.get("--workers", ["auto"])[-1].strip().lower()
        if workers != "auto":
            workers = int(workers)
        concurrency = int(values.get("--concurrency", ["8"])[-1])
    except ValueError:
        return None
    return _Args(positional[0], values.get("--candidate", []) + values.get("-c", []), workers, concurrency)


def _live(suite_path: str, wanted: list[str]) -> bool:
    """Whether the evaluation will call a model: a selected candidate that is not a replay.

    The selection is :func:`agentctl.plan.select_candidates`'s: every candidate, or those
    named (by name or as a model string) and the baseline."""
    path = Path(suite_path)
    try:
        if path.stat().st_size > MAX_SUITE_BYTES:
            return False
        import yaml

        doc = yaml.load(path.read_bytes(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except Exception:  # the loader reports whatever is wrong with it
        return False
    if not isinstance(doc, dict) or not isinstance(doc.get("candidates"), list):
        return False
    models = {str(c.get("name")): c.get("model") for c in doc["candidates"] if isinstance(c, dict)}
    if not wanted:
        chosen = list(models.values())
    else:
        chosen = [models[w] if w in models else (w if (":" in w or "/" in w) else None) for w in wanted]
        chosen.append(models.get(str(doc.get("baseline"))))
    return any(isinstance(m, str) and m and not m.startswith("replay:") for m in chosen)


def cores() -> int:
    """The CPUs this process may run on (as :func:`agentctl.workers.cores`)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def start(argv: list[str]) -> None:
    """Start the workers' forking process now if ``argv`` (the command line after ``agentctl``)
    is a live ``eval run`` that will have worker processes; otherwise do nothing."""
    global _started
    if _started is not None or sys.platform == "win32" or cores() < 2:
        return
    args = _parse(argv)
    if args is None or args.concurrency < 1:
        return
    if args.workers == "auto":
        n = min(cores(), args.concurrency)
    elif isinstance(args.workers, int) and args.workers >= 2:
        n = min(args.workers, args.concurrency)
    else:
        return
    if n < 1 or not _live(args.suite, args.candidates):
        return
    from agentctl.core.children import child_env

    pairs = [socket.socketpair() for _ in range(n)]
    ctl_ours, ctl_theirs = socket.socketpair()
    theirs = [ctl_theirs.fileno(), *(t.fileno() for _, t in pairs)]
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "agentctl.workers.child", "--litellm", *map(str, theirs)],
            pass_fds=theirs, stdin=subprocess.DEVNULL, stdout=2, env=child_env(),
        )
    except OSError:  # no process to spare: the evaluation starts its workers as before
        for ours, t in pairs:
            ours.close()
            t.close()
        ctl_ours.close()
        return
    finally:
        ctl_theirs.close()
        for _, t in pairs:
            t.close()
    _started = HeadStart(process, ctl_ours, [ours for ours, _ in pairs], args.workers, args.concurrency)
    atexit.register(discard)


def take(workers: int | str, concurrency: int) -> HeadStart | None:
    """The head start, for an evaluation with these ``workers`` and ``concurrency``, once: the
    caller owns it from then on. One started for other options is killed (None)."""
    global _started
    started, _started = _started, None
    if started is None:
        return None
    if started.workers != workers or started.concurrency != concurrency:
        _kill(started)
        return None
    return started


def discard() -> None:
    """Kill the head start if nothing took it (the command ended another way)."""
    global _started
    started, _started = _started, None
    if started is not None:
        _kill(started)


def _kill(started: HeadStart) -> None:
    for sock in (started.ctl, *started.socks):
        sock.close()
    if started.process.poll() is None:
        try:
            started.process.kill()
        except ProcessLookupError:
            pass
    try:
        started.process.wait(5)
    except subprocess.TimeoutExpired:
        pass
