"""Pausing Python's cyclic garbage collector while only agentctl's own code runs.

A replay makes and drops millions of objects that live until their run is committed: long
enough for the collector's young passes to scan each of them once (6.4 s of a 100,000-run
replay's CPU, 0.64 s of a 10,000-run one, timed with ``gc.callbacks``), and they are never garbage in a cycle (reference counting frees them; a
test keeps it so). :func:`collector_paused` switches the automatic collector off for such a
phase; a library caller's collector is only ever touched when the caller asks
(``RunOptions.pause_gc``, which ``agentctl eval run`` sets).

The one exception is importing litellm, deepeval or ragas, which build a hundred thousand
objects and more (pydantic models, their schemas and validators) that the young passes the
import triggers scan again and again. With the collector off for the import only (whoever
the caller is), ``import litellm`` took 2.5-2.8 s of CPU instead of 3.2-3.8 s on the 2-core
benchmark machine, deepeval's metrics 1.9 s instead of 2.3 s, and ragas's 3.2 s instead of
4.4 s. Those objects are module state, not garbage.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

GC_THRESHOLDS = (100_000, 20, 1_000)
"""The command's garbage-collector thresholds (Python's are 700, 10, 10), set by ``agentctl``
itself and by the worker processes it forks (:func:`before_fork`).

An evaluation holds a dataset and its results, hundreds of thousands of long-lived
objects, and creates a few dozen more per run that live until the run is committed: with the
defaults, the collector's passes over them took a third of a 10,000-run replay's CPU, and
still 1.1 s of it at 10,000 young objects a pass (0.6 s at 100,000). Young garbage is still
collected, in passes 140x rarer; older objects every 20 such passes, as before. Only the command
and the processes agentctl starts set this: the library leaves its caller's collector alone."""


def before_fork() -> None:
    """In a process about to fork workers that run on what it imported (litellm): the
    command's thresholds, and every object so far moved out of the collector's sight
    (``gc.freeze``, as Python's documentation advises before a fork).

    Each worker then scans only what it makes itself. With Python's thresholds and litellm's
    heap scanned again and again, each of two workers of a 10,000-call live run spent 1.2 s
    of its 12.4 s of CPU in 1,300 collector passes, and 0.75 s between receiving its plan and
    being ready; now 0.16 s in 4 passes, and 0.3 s (1,000 single-call cases: 4.86 s to 4.28 s
    for the whole command). The frozen objects are module state: none is garbage."""
    gc.set_threshold(*GC_THRESHOLDS)
    gc.freeze()


@contextmanager
def collector_paused(active: bool = True) -> Iterator[None]:
    """Inside, the cyclic collector does not run on its own (when ``active`` and it is on).

    Reference counting still frees every object not in a cycle. On leaving, the collector is
    switched on again; nothing is collected explicitly. Nested pauses are no-ops."""
    if not active or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()

