"""agentctl: evaluation and regression harness for AI agents that take real actions.

Library use::

    from agentctl import run_suite, load_suite, Store
    outcome = run_suite("evalsuites/support-triage.yaml", db="agentctl.duckdb")
    print(outcome.exit_code, [g.detail for g in outcome.gates if not g.passed])

Everything heavy is imported on first use, so ``import agentctl`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["EvalOutcome", "RunOptions", "Store", "__version__", "load_dataset", "load_suite", "run_suite"]

if TYPE_CHECKING:
    from agentctl.config.loader import load_suite
    from agentctl.datasets.loader import load_dataset
    from agentctl.runner import EvalOutcome, RunOptions, run_suite
    from agentctl.store.store import Store

_LAZY = {
    "run_suite": "agentctl.runner",
    "RunOptions": "agentctl.runner",
    "EvalOutcome": "agentctl.runner",
    "load_suite": "agentctl.config.loader",
    "load_dataset": "agentctl.datasets.loader",
    "Store": "agentctl.store.store",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'agentctl' has no attribute {name!r}")
