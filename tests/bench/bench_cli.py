"""Benchmarks of start-up and of the demo run (not timed tests: numbers to read).

Usage: .venv/bin/python tests/bench/bench_cli.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
AGENTCTL = str(Path(sys.executable).with_name("agentctl"))


def timed(cmd: list[str]) -> tuple[float, int]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True)
    return time.perf_counter() - start, proc.returncode


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    timed([AGENTCTL, "--help"])  # warm the file cache
    for label, cmd in [
        ("agentctl --help", [AGENTCTL, "--help"]),
        ("agentctl suite validate", [AGENTCTL, "suite", "validate", "evalsuites/support-triage.yaml"]),
    ]:
        times = [timed(cmd)[0] for _ in range(args.runs)]
        print(f"{label:40s} median {statistics.median(times) * 1000:7.0f} ms  (min {min(times) * 1000:.0f}, "
              f"max {max(times) * 1000:.0f}, n={args.runs})")
    with tempfile.TemporaryDirectory() as tmp:
        times = []
        for i in range(max(1, args.runs // 2)):
            t, code = timed([AGENTCTL, "eval", "run", "evalsuites/support-triage.yaml", "--db", f"{tmp}/d{i}.duckdb",
                             "--report-dir", tmp])
            times.append(t)
        print(f"{'demo eval run (all reports)':40s} median {statistics.median(times):7.2f} s   (exit {code}, "
              f"n={len(times)})")


if __name__ == "__main__":
    main()
