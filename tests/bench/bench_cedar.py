"""Cost of Cedar per tool call on the demo: every recorded call of the support-triage dataset.

    .venv/bin/python tests/bench/bench_cedar.py [ROUNDS]

Times PolicyChecker.decide over all recorded tool calls with the YAML rules
(evalsuites/support-triage.yaml) and with their Cedar twin (support-triage-cedar.yaml), and
the one-time parse of the policy set. Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from agentctl.config import cedar as cedar_module
from agentctl.config.loader import load_suite_and_dataset
from agentctl.engine.policy import PolicyChecker
from agentctl.engine.tools import recorded_calls

REPO = Path(__file__).resolve().parents[2]


def main(rounds: int = 20) -> None:
    for name in ("support-triage.yaml", "support-triage-cedar.yaml"):
        suite, dataset, _ = load_suite_and_dataset(REPO / "evalsuites" / name)
        cedar_module._CACHE.clear()
        t0 = time.perf_counter()
        checker = PolicyChecker.for_candidate(suite.policy, dataset.tools, suite.agent.escalation_tool,
                                              "candidate", suite.base_dir)
        setup = time.perf_counter() - t0
        calls = [(c.name, c.arguments) for run in dataset.runs for c in recorded_calls(run)]
        refused = sum(checker.check(n, a, 0) is not None for n, a in calls)
        t0 = time.perf_counter()
        for _ in range(rounds):
            for n, a in calls:
                checker.decide(n, a, 0)
        per_call = (time.perf_counter() - t0) / (rounds * len(calls))
        print(f"{name:28s} {len(calls)} calls x {rounds}: {per_call * 1e6:7.1f} µs per call "
              f"({refused} refused); setup (parse policies) {setup * 1e3:.1f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
