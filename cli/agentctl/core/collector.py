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

