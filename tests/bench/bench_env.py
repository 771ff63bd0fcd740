"""Benchmarks of stateful environments (not timed tests: numbers to read).

Usage: .venv/bin/python tests/bench/bench_env.py [--repeats 5] [--mb 10]

1. Per-call overhead: a tool call answered by the demo's in-process environment (through
   ``ToolAnswerer.answer``, as the agent loop does), against the same call answered from
   fixtures.
2. Per-run state cost at ~10 MB: a fresh copy-on-access state per run, three calls, and the
   final diff + hash, against full copies (``copy.deepcopy``, JSON, pickle) of the same state.
3. For scale: what one replayed run of the demo costs without an environment (replay + outcome).

Each figure is the median of ``--repeats`` measurements.
"""

from __future__ import annotations

import argparse
import copy
import json
import pickle
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "cli"))


def median_of(repeats: int, fn: Callable[[], float]) -> float:
    return statistics.median(fn() for _ in range(repeats))


def per_call(repeats: int) -> None:
    from agentctl.config.loader import load_suite_and_dataset
    from agentctl.engine.tools import ToolAnswerer
    from agentctl.environments import load_environment

    suite, dataset, _ = load_suite_and_dataset(ROOT / "evalsuites" / "support-triage.yaml")
    factory = load_environment(suite, dataset)
    assert factory is not None
    case = dataset.cases[0]
    ticket = int(case.id.split("-")[1])
    calls = [("get_ticket", {"ticket_id": ticket}), ("update_ticket", {"ticket_id": ticket, "priority": "high"})]
    n = 2000

    def env_calls() -> float:
        answerer = ToolAnswerer(case, {}, dataset.tools, factory.start(case))
        start = time.perf_counter()
        for i in range(n):
            tool, args = calls[i % 2]
            answerer.answer(tool, args)
        return (time.perf_counter() - start) / n

    def fixture_calls() -> float:
        answerer = ToolAnswerer(case, {}, dataset.tools)
        start = time.perf_counter()
        for _ in range(n):
            answerer.answer("get_ticket", {"ticket_id": ticket})
        return (time.perf_counter() - start) / n

    from agentctl.core.trajectory import ToolCall
    from agentctl.engine.loop import AgentLoop
    from agentctl.providers.base import ProviderSettings

    async def never(request: object) -> object:  # the loop's model is not called here
        raise AssertionError

    loop = AgentLoop(suite.candidates[0], suite, dataset, never, ProviderSettings())  # type: ignore[arg-type]
    tool_calls = [ToolCall(f"c{i}", tool, json.dumps(args), args) for i, (tool, args) in enumerate(calls)]

    def loop_calls(with_env: bool) -> float:
        answerer = ToolAnswerer(case, {}, dataset.tools, factory.start(case) if with_env else None)
        start = time.perf_counter()
        for i in range(n):
            loop._answer(tool_calls[i % 2], answerer, 0, i)
        return (time.perf_counter() - start) / n

    env = median_of(repeats, env_calls)
    fixture = median_of(repeats, fixture_calls)
    full_env = median_of(repeats, lambda: loop_calls(True))
    full_plain = median_of(repeats, lambda: loop_calls(False))
    print(f"per tool call, environment (get_ticket/update_ticket)  {env * 1e3:7.4f} ms")
    print(f"per tool call, fixtures (get_ticket)                   {fixture * 1e3:7.4f} ms")
    print(f"per tool call in the agent loop (schema, policy, answer), environment  {full_env * 1e3:7.4f} ms")
    print(f"per tool call in the agent loop, fixtures/recordings (no environment)  {full_plain * 1e3:7.4f} ms")


def synthetic_state(mb: float) -> dict:
    records = int(mb * 1024 * 1024 / 520)
    users = {f"user_{i:07d}": {"name": f"User {i}", "email": f"user{i}@example.com", "plan": "free",
                              "balance_cents": i % 9973, "tags": ["a", "b", "c"],
                              "address": {"street": f"{i} Main St", "city": "Springfield", "zip": f"{i % 99999:05d}"},
                              "notes": "x" * 240}
             for i in range(records)}
    return {"users": users, "audit": [], "settings": {"currency": "usd"}}


def per_run_state(repeats: int, mb: float) -> float:
    from agentctl.datasets.models import Case
    from agentctl.environments.runtime import EnvironmentFactory

    state = synthetic_state(mb)
    size = len(json.dumps(state))

    class Environment:
        def __init__(self, case: dict, state: dict) -> None:
            self.state = state

        def call(self, tool: str, args: dict) -> object:
            user = self.state["users"][args["user"]]
            if tool == "set_plan":
                user["plan"] = args["plan"]
                self.state["audit"].append(args["user"])
            return user

        def snapshot(self) -> dict:
            return self.state

    factory = EnvironmentFactory(Environment, state, "bench")
    case = Case(id="c1", input="hi")
    factory.initial_state(case)  # the one-off hash of the base state is not a per-run cost
    runs = 200

    def lazy() -> float:
        start = time.perf_counter()
        for i in range(runs):
            run = factory.start(case)
            run.call("get_user", {"user": f"user_{i:07d}"})
            run.call("set_plan", {"user": f"user_{i:07d}", "plan": "pro"})
            run.call("get_user", {"user": f"user_{i + 1:07d}"})
            outcome = run.finish()
            assert len(outcome.diff) == 2, outcome.diff
        return (time.perf_counter() - start) / runs

    text = json.dumps(state)
    blob = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
    full = {
        "copy.deepcopy": lambda: copy.deepcopy(state),
        "json.loads(text)": lambda: json.loads(text),
        "pickle.loads(blob)": lambda: pickle.loads(blob),
    }
    per_run = median_of(repeats, lazy)
    print(f"state of {size / 1e6:.1f} MB ({len(state['users'])} records)")
    print(f"per run, copy-on-access state + 3 calls + diff + hash  {per_run * 1e3:8.3f} ms")
    for name, fn in full.items():
        def once(fn: Callable[[], object] = fn) -> float:
            start = time.perf_counter()
            fn()
            return time.perf_counter() - start
        print(f"per run, full copy with {name:20s}           {median_of(max(1, repeats // 2), once) * 1e3:8.1f} ms")
    return per_run


def demo_replay_run(repeats: int) -> None:
    from agentctl.config.loader import load_suite_and_dataset
    from agentctl.providers.replay import ReplayProvider
    from agentctl.scorers.outcome import score_outcome

    suite, dataset, _ = load_suite_and_dataset(ROOT / "evalsuites" / "support-triage.yaml")
    provider = ReplayProvider("prod", suite, dataset)
    # the same replay with the environment switched off, for the difference
    plain = ReplayProvider("prod", suite, dataset)
    plain.environment = None

    def per_run(p: ReplayProvider) -> float:
        start = time.perf_counter()
        for case in dataset.cases:
            score_outcome(case, p.replay(case, 1), suite, dataset.tools)
        return (time.perf_counter() - start) / len(dataset.cases)

    with_env = median_of(repeats, lambda: per_run(provider))
    without = median_of(repeats, lambda: per_run(plain))
    print(f"demo replay + outcome per run, with environment        {with_env * 1e3:8.3f} ms")
    print(f"demo replay + outcome per run, without environment     {without * 1e3:8.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--mb", type=float, default=10.0)
    args = parser.parse_args()
    per_call(args.repeats)
    per_run_state(args.repeats, args.mb)
    demo_replay_run(args.repeats)


if __name__ == "__main__":
    main()
