"""agentctl: evaluation and regression harness for AI agents that take real actions.

Library use::

    from agentctl import run_suite, Store
    outcome = run_suite("evalsuites/support-triage.yaml", db="agentctl.duckdb")
    print(outcome.exit_code, [g.detail for g in outcome.gates if not g.passed])

    # in a notebook or an async service, on the running event loop:
    outcome = await run_suite_async(suite, db=Store("agentctl.duckdb"))

Every entry point that reads or writes results takes one handle: a :class:`Store`, or a
path that becomes one. Everything heavy is imported on first use, so ``import agentctl``
stays cheap (the names below load their modules when first asked for; this is for start-up
time only, the package has no import cycle: see ``[tool.importlinter]`` in pyproject.toml).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentctl.core.version import __version__

__all__ = [
    "EvalOutcome",
    "RunOptions",
    "Store",
    "Suite",
    "__version__",
    "check_suite",
    "compare_stored",
    "export_run",
    "gate_stored_run",
    "load_dataset",
    "load_history",
    "load_suite",
    "merge_shards",
    "run_suite",
    "run_suite_async",
    "write_reports",
]

if TYPE_CHECKING:
    from agentctl.comparison import compare_stored
    from agentctl.config.loader import check_suite, load_suite
    from agentctl.config.models import Suite
    from agentctl.datasets.loader import load_dataset
    from agentctl.measure import gate_stored_run
    from agentctl.merge import merge_shards
    from agentctl.metrics.history import load_history
    from agentctl.outcome import EvalOutcome, RunOptions
    from agentctl.reports import write_reports
    from agentctl.runner import run_suite, run_suite_async
    from agentctl.store.export import export_run
    from agentctl.store.store import Store

_LAZY = {
    "run_suite": "agentctl.runner",
    "run_suite_async": "agentctl.runner",
    "RunOptions": "agentctl.outcome",
    "EvalOutcome": "agentctl.outcome",
    "Suite": "agentctl.config.models",
    "check_suite": "agentctl.config.loader",
    "load_suite": "agentctl.config.loader",
    "load_dataset": "agentctl.datasets.loader",
    "Store": "agentctl.store.store",
    "gate_stored_run": "agentctl.measure",
    "compare_stored": "agentctl.comparison",
    "write_reports": "agentctl.reports",
    "merge_shards": "agentctl.merge",
    "export_run": "agentctl.store.export",
    "load_history": "agentctl.metrics.history",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'agentctl' has no attribute {name!r}")
