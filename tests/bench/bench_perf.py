"""The performance table of issue 13 (``make bench``): numbers to read, never a timed test.

    .venv/bin/python tests/bench/bench_perf.py [--repeats 3] [--only NAME ...] [--src DIR] [--json OUT]
        [--workers N|auto ...] [--against DIR]

Each workload runs the whole ``agentctl`` command in a subprocess (median of ``--repeats``),
against a lean local mock (tests/bench/mock_openai.py, 127.0.0.1, its own process) for live
calls, and against synthetic datasets written into a temp dir (tests/bench/gen_data.py) for
replay. ``--workers 1 2`` runs each live workload once per value of ``eval run --workers``
(default: the command's own default, auto). ``--src DIR`` runs another checkout's package (``DIR/cli``) with this venv, to
measure a baseline. ``--against DIR`` measures that checkout too, interleaved with this one
(repeat by repeat, in alternating order), and prints both rows of each workload: the
machine's speed drifts by 15% and more over minutes, which two runs one after the other
mistake for a change. Every loop is bounded; nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

from gen_data import write_live, write_replay  # noqa: E402

ENV = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_TELEMETRY": "False", "DEEPEVAL_TELEMETRY_OPT_OUT": "1",
    "RAGAS_DO_NOT_TRACK": "true", "NO_COLOR": "1",
}


@dataclass
class Sample:
    wall: float
    cpu: float
    rss_mb: float
    code: int
    extra: dict[str, float] = field(default_factory=dict)


def run(cmd: list[str], env: dict[str, str], cwd: Path = ROOT, timeout: float = 1800) -> Sample:
    start = time.perf_counter()
    with open(os.devnull, "wb") as null:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=null, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            proc.kill()
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.005)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        print(f"   ! {' '.join(cmd[:4])}... exited {code}: {err[-800:]}", file=sys.stderr)
    return Sample(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, code)


class Mock:
    """The bench mock in its own process (its CPU is not agentctl's)."""

    def __init__(self, tmp: Path, latency_ms: float) -> None:
        self.port_file = tmp / f"mock-{time.monotonic_ns()}.port"
        self.proc = subprocess.Popen([sys.executable, str(HERE / "mock_openai.py"), str(self.port_file),
                                      "--latency-ms", str(latency_ms)])
        for _ in range(500):  # bounded: 10 s
            if self.port_file.exists():
                break
            time.sleep(0.02)
        self.base_url = f"http://127.0.0.1:{self.port_file.read_text()}/v1"

    def stop(self) -> dict[str, float]:
        self.proc.terminate()
        self.proc.wait(10)
        stats: dict[str, float] = json.loads(Path(str(self.port_file) + ".stats").read_text())
        return stats


@dataclass
class Build:
    """A checkout whose ``agentctl`` is measured: its label, command and environment."""

    label: str
    agentctl: list[str]
    env: dict[str, str]


def build(src: str | None, label: str) -> Build:
    env = {**os.environ, **ENV}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if src:
        env["PYTHONPATH"] = str(Path(src).resolve() / "cli")
        return Build(label, [sys.executable, "-m", "agentctl"], env)
    return Build(label, [str(Path(sys.executable).with_name("agentctl"))], env)


def _label(src: str) -> str:
    try:
        sha = subprocess.run(["git", "-C", src, "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        sha = ""
    return sha or Path(src).name


class Bench:
    def __init__(self, args: argparse.Namespace, tmp: Path) -> None:
        self.repeats = args.repeats
        self.tmp = tmp
        self.builds = [build(args.src, "now" if args.against else "")]
        if args.against:
            self.builds.append(build(args.against, _label(args.against)))
        self.rows: list[dict[str, object]] = []
        self.workers: str | None = None
        """``--workers`` of the live workload being measured (None: the command's default)."""
        self.current = self.builds[0]
        """The build whose row :meth:`add` adds."""

    def each(self, once: Callable[[Build, int], Sample]) -> dict[str, list[Sample]]:
        """``once(build, i)`` for each repeat ``i`` and build, the builds' order alternating
        from one repeat to the next; the samples by build label."""
        samples: dict[str, list[Sample]] = {b.label: [] for b in self.builds}
        for i in range(self.repeats):
            for b in self.builds if i % 2 == 0 else self.builds[::-1]:
                samples[b.label].append(once(b, i))
        return samples

    def per_build(self) -> Iterator[Build]:
        for b in self.builds:
            self.current = b
            yield b
        self.current = self.builds[0]

    def median(self, samples: list[Sample]) -> Sample:
        order = sorted(samples, key=lambda s: s.wall)
        return order[len(order) // 2]

    def add(self, name: str, s: Sample, figure: str, peer: str, ratio: str = "", **extra: object) -> None:
        if self.workers is not None:
            name += f" [--workers {self.workers}]"
            extra["workers"] = self.workers
        if self.current.label:
            name += f" [{self.current.label}]"
            extra["build"] = self.current.label
        row = {"workload": name, "agentctl": figure, "peer_or_ideal": peer, "ratio": ratio,
               "wall_s": round(s.wall, 3), "cpu_s": round(s.cpu, 3), "peak_rss_mb": round(s.rss_mb), "exit": s.code,
               **extra}
        self.rows.append(row)
        print(f"{name:52s} {figure:38s} {peer:28s} {ratio}", flush=True)

    def help(self) -> None:
        for b in self.builds:
            run([*b.agentctl, "--help"], b.env)  # warm the file cache
        samples = self.each(lambda b, i: run([*b.agentctl, "--help"], b.env))
        for b in self.per_build():
            s = self.median(samples[b.label])
            self.add("agentctl --help", s, f"{s.wall:.2f} s", "goal <= 0.3 s")

    def validate(self) -> None:
        # A copy of the demo: importing its environment.py writes bytecode next to it (this
        # environment lets Python write bytecode, as a user's does), which the repository's
        # dataset folder must not get (tests/test_trials_demo.py checks it stays clean).
        demo = self.tmp / "demo"
        for folder in ("evalsuites", "datasets/support-triage"):
            shutil.copytree(ROOT / folder, demo / folder, ignore=shutil.ignore_patterns("__pycache__"))
        suite = str(demo / "evalsuites" / "support-triage.yaml")
        samples = self.each(lambda b, i: run([*b.agentctl, "suite", "validate", suite], b.env))
        for b in self.per_build():
            s = self.median(samples[b.label])
            self.add("suite validate (demo)", s, f"{s.wall:.2f} s", "goal <= 1 s")

    def _live(self, cases: int, calls: int, latency_ms: float, concurrency: int,
              tag: str) -> Iterator[tuple[Sample, float]]:
        """Per build (as :meth:`per_build`): the median sample, and the median time to the first request."""
        def once(b: Build, i: int) -> Sample:
            mock = Mock(self.tmp, latency_ms)
            out = self.tmp / f"{tag}-{i}-{len(self.rows)}-{self.builds.index(b)}"
            suite = write_live(out, cases, calls, mock.base_url)
            start = time.time()
            s = run([*b.agentctl, "eval", "run", str(suite), "--db", str(out / "r.duckdb"),
                     "--report-dir", str(out), "--concurrency", str(concurrency),
                     *(["--workers", self.workers] if self.workers is not None else [])], b.env)
            stats = mock.stop()
            s.extra = {"requests": stats["requests"], "peak": stats["peak"],
                       "first_request_s": (stats["first"] or start) - start,
                       "run_phase_s": (stats["last"] or start) - (stats["first"] or start)}
            return s

        samples = self.each(once)
        for b in self.per_build():
            yield (self.median(samples[b.label]),
                   statistics.median(s.extra["first_request_s"] for s in samples[b.label]))

    def startup(self) -> None:
        for s, first in self._live(5, 1, 0, 5, "startup"):
            self.add("eval run, 5 live cases: start-up to 1st request", s, f"{first:.2f} s (of {s.wall:.2f} s)",
                     "goal <= 2 s", first_request_s=round(first, 3))

    def live_1000(self) -> None:
        for s, _ in self._live(1000, 1, 0, 32, "l1k"):
            self.add("1,000 single-call cases, 0 ms, conc 32", s, f"{s.wall:.2f} s ({s.cpu:.1f} s CPU)",
                     "(promptfoo: make bench-peer)", requests=s.extra["requests"],
                     first_request_s=round(s.extra["first_request_s"], 2),
                     run_phase_s=round(s.extra["run_phase_s"], 2))

    def live_2000x3(self) -> None:
        for s, _ in self._live(2000, 3, 50, 64, "l2k"):
            calls = s.extra["requests"] or 1
            ideal = 2000 * 3 * 0.05 / 64
            run_phase = s.extra["run_phase_s"]
            self.add("2,000 cases x 3 calls, 50 ms, conc 64", s,
                     f"{s.wall:.1f} s wall, run {run_phase:.1f} s, {s.cpu / calls * 1000:.1f} ms CPU/call",
                     f"ideal {ideal:.1f} s", f"eff {ideal / max(run_phase, 1e-9):.0%} (run), "
                     f"{ideal / s.wall:.0%} (wall)", requests=calls, peak_concurrency=s.extra["peak"],
                     run_phase_s=round(run_phase, 2))

    def replay(self, runs: int) -> None:
        out = self.tmp / f"replay-{runs}"
        suite = write_replay(out, runs)

        def once(b: Build, i: int) -> Sample:
            where = out / f"{i}-{self.builds.index(b)}"
            return run([*b.agentctl, "eval", "run", str(suite), "--db", str(where / "r.duckdb"),
                        "--report-dir", str(where)], b.env)

        samples = self.each(once)
        goal = {2000: "goal <= 1 s"}.get(runs, "goal >= 2,000 runs/s, < 1 GiB")
        for b in self.per_build():
            s = self.median(samples[b.label])
            self.add(f"replay only, 2 labels, regression gate: {runs:,} runs", s,
                     f"{s.wall:.1f} s ({s.cpu:.1f} s CPU), {runs / s.wall:,.0f} runs/s, {s.rss_mb:,.0f} MB", goal,
                     runs_per_s=round(runs / s.wall))


WORKLOADS = ["help", "validate", "startup", "live_1000", "live_2000x3", "replay_2000", "replay_10000",
             "replay_100000"]
LIVE = {"startup", "live_1000", "live_2000x3"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", nargs="*", choices=WORKLOADS)
    parser.add_argument("--src", help="run the package of another checkout (DIR/cli), e.g. a baseline")
    parser.add_argument("--json", help="also write the rows as JSON here")
    parser.add_argument("--against", metavar="DIR",
                        help="also measure the checkout in DIR (its cli/), interleaved with this one")
    parser.add_argument("--workers", nargs="*", metavar="N|auto",
                        help="measure the live workloads once per eval run --workers value (e.g. 1 2)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="agentctl-bench-") as tmp:
        bench = Bench(args, Path(tmp))
        print(f"{'workload':52s} {'agentctl (median of ' + str(args.repeats) + ')':38s} {'peer / ideal':28s} ratio")
        for name in args.only or WORKLOADS:
            if name.startswith("replay_"):
                bench.replay(int(name.split("_")[1]))
            elif name in LIVE and args.workers:
                for workers in args.workers:
                    bench.workers = workers
                    getattr(bench, name)()
                bench.workers = None
            else:
                getattr(bench, name)()
        if args.json:
            Path(args.json).write_text(json.dumps(bench.rows, indent=1))


if __name__ == "__main__":
    main()
