"""Speed of the in-memory work (numbers to read, not timed tests).

    .venv/bin/python tests/bench/bench_compute.py [--runs 10000]

- ``compute_metrics`` on 10,000 runs per candidate, two candidates, ten tags (was a timed test;
  the grouping it checked is tests/test_metrics_compute.py);
- the paired bootstrap (1,000 resamples) of 100,000 pairs: p50 and p95 latency, and the mean of
  a continuous value (cost);
- ``validate_dataset_dir`` + ``dataset_hash`` on a 3 MB runs.jsonl of 1,500 recordings (was a
  timed test; that it validates is tests/test_dataset_validate.py).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agentctl.datasets import dataset_hash, validate_dataset_dir  # noqa: E402
from agentctl.metrics.compute import compute_metrics  # noqa: E402
from agentctl.metrics.intervals import paired_bootstrap_means, paired_bootstrap_quantiles, wilson  # noqa: E402
from support.runs import many_runs  # noqa: E402


def best_of(n: int, fn: object) -> float:
    assert callable(fn)
    best = float("inf")
    for _ in range(n):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def bench_metrics(per_candidate: int) -> None:
    wilson(1, 2)  # scipy's import is start-up cost, not computation
    runs = many_runs(per_candidate)

    def once() -> None:
        wilson.cache_clear()
        compute_metrics(runs)

    print(f"compute_metrics, {len(runs)} runs, 2 candidates, 10 tags: {best_of(3, once):.3f} s (best of 3)")


def bench_bootstrap(pairs: int) -> None:
    import numpy as np

    rng = np.random.default_rng(1)
    base = rng.lognormal(0.3, 0.5, pairs)
    cand = base * rng.uniform(0.9, 1.3, pairs)
    took = best_of(3, lambda: paired_bootstrap_quantiles(base, cand, [50.0, 95.0]))
    print(f"paired bootstrap of p50 and p95, {pairs} pairs: {took:.3f} s (best of 3)")
    took = best_of(3, lambda: paired_bootstrap_means([base], [cand]))
    print(f"paired bootstrap of a mean (continuous values), {pairs} pairs: {took:.3f} s (best of 3)")


def bench_validate() -> None:
    calls = [{"id": f"call{i}", "type": "function",
              "function": {"name": "get_ticket", "arguments": json.dumps({"ticket_id": i})}} for i in range(5)]
    messages = [{"role": "user", "content": "x" * 1500}, {"role": "assistant", "content": None, "tool_calls": calls},
                {"role": "assistant", "content": "Done."}]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "tools.yaml").write_text("- name: get_ticket\n  effect: read\n")
        (folder / "cases.jsonl").write_text(json.dumps({"id": "c1", "input": "refund please"}) + "\n")
        with (folder / "runs.jsonl").open("w") as fh:
            for i in range(1500):
                fh.write(json.dumps({"run_id": f"r{i}", "case_id": "c1", "label": "prod", "messages": messages}) + "\n")
        size = (folder / "runs.jsonl").stat().st_size / 1e6

        def once() -> None:
            problems = validate_dataset_dir(folder)
            assert problems == [], problems
            dataset_hash(folder)

        print(f"validate + hash, runs.jsonl {size:.1f} MB: {best_of(3, once):.3f} s (best of 3)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10_000, help="runs per candidate")
    parser.add_argument("--pairs", type=int, default=100_000, help="pairs of the bootstrap")
    args = parser.parse_args()
    bench_metrics(args.runs)
    bench_bootstrap(args.pairs)
    bench_validate()


if __name__ == "__main__":
    main()
