"""The head start of ``agentctl eval run``'s workers (``agentctl.workers.headstart``).

The command line is read before Typer is imported, the suite's candidates peeked at, and the
workers' forking process started at once; the evaluation takes it over, and one nothing
takes is killed when the command ends. Real processes, the fake OpenAI server over HTTP;
no timing is asserted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from agentctl.workers import headstart
from support.fake_openai import FakeOpenAI
from support.faults import FaultSchedule, write_suite

ENV = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "COLUMNS": "200"}


def test_the_options_it_knows_are_the_commands() -> None:
    """An option added to ``eval run`` must be added here too, or a value would be taken for the suite."""
    import typer.main

    from agentctl.main import app

    run = typer.main.get_command(app).commands["eval"].commands["run"]  # type: ignore[attr-defined]
    flags, valued = set(), set()
    for param in run.params:
        if param.param_type_name != "option":
            continue
        names = {*param.opts, *param.secondary_opts}
        (flags if param.is_flag else valued).update(names)
    assert valued == headstart.VALUE_OPTIONS
    assert flags - {"-h", "--help"} == headstart.FLAG_OPTIONS


def _suite(tmp_path: Path, models: dict[str, str], baseline: str | None = None) -> str:
    spec = {"candidates": [{"name": name, "model": model} for name, model in models.items()]}
    if baseline:
        spec["baseline"] = baseline
    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return str(path)


def test_what_the_command_line_and_the_suite_say(tmp_path: Path) -> None:
    mixed = _suite(tmp_path, {"prod": "replay:prod", "next": "openai/gpt-4o-mini"}, baseline="prod")
    parsed = headstart._parse(["eval", "run", "--db", "x.duckdb", mixed, "--workers=3", "--concurrency", "4",
                               "-c", "next", "--no-cache"])
    assert parsed is not None
    assert (parsed.suite, parsed.candidates, parsed.workers, parsed.concurrency) == (mixed, ["next"], 3, 4)
    assert headstart._parse(["eval", "run", mixed]).workers == "auto"  # type: ignore[union-attr]
    for not_a_run in (["eval", "run", mixed, "--dry-run"], ["eval", "run", mixed, "--help"], ["eval", "show", "x"],
                      ["eval", "run", mixed, "--bogus"], ["eval", "run"], ["eval", "run", mixed, "extra"],
                      ["eval", "run", mixed, "--workers", "two"]):
        assert headstart._parse(not_a_run) is None, not_a_run
    # live: a selected candidate that is not a replay (the baseline is always selected)
    assert headstart._live(mixed, [])
    assert headstart._live(mixed, ["next"])
    assert not headstart._live(mixed, ["prod"])
    assert headstart._live(mixed, ["anthropic/claude-3-5-haiku"])  # a model string of the command line
    assert not headstart._live(_suite(tmp_path, {"a": "replay:a", "b": "replay:b"}), [])
    assert headstart._live(_suite(tmp_path, {"a": "replay:a", "b": "replay:b"}, baseline="a"), ["openai/x"])
    assert not headstart._live(str(tmp_path / "missing.yaml"), [])
    (tmp_path / "broken.yaml").write_text("candidates: [", encoding="utf-8")
    assert not headstart._live(str(tmp_path / "broken.yaml"), [])
    assert not headstart._live("evalsuites/support-triage.yaml", [])  # the demo replays


_PROBE = """
import json, sys
from agentctl.workers import headstart
headstart.start(sys.argv[1:])
started = headstart._started
print(json.dumps({"pid": started.process.pid if started else None, "typer": "typer" in sys.modules,
                  "litellm": "litellm" in sys.modules}), flush=True)
from agentctl.main import main
main()
"""


def _probe(args: list[str], cwd: Path) -> tuple[dict, subprocess.CompletedProcess[str]]:  # type: ignore[type-arg]
    done = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, env=ENV,
                          cwd=cwd, timeout=300)
    return json.loads(done.stdout.splitlines()[0]), done


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.skipif(sys.platform == "win32" or headstart.cores() < 2, reason="workers need fork and two cores")
def test_a_live_run_is_carried_out_by_the_workers_started_first_thing(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(FaultSchedule(lambda c, t, a: None))
    suite = write_suite(tmp_path, fake_openai.base_url, n_cases=3)
    seen, done = _probe(["eval", "run", str(suite), "--db", str(tmp_path / "x.duckdb"), "--no-report"], tmp_path)
    assert done.returncode == 0, done.stderr
    # started before Typer (or litellm) was imported here, and handed the evaluation: with
    # --workers auto, 3 runs are carried out in this process unless workers were started already
    assert seen["pid"] is not None and not seen["typer"] and not seen["litellm"]
    assert "runs carried out by 2 worker processes (--workers)" in done.stdout + done.stderr
    assert not _alive(seen["pid"])
    # the same run without it: this process
    plain = subprocess.run([sys.executable, "-c", "from agentctl.main import main; main()", "eval", "run", str(suite),
                            "--db", str(tmp_path / "y.duckdb"), "--no-report"],
                           capture_output=True, text=True, env=ENV, cwd=tmp_path, timeout=300)
    assert plain.returncode == 0, plain.stderr
    assert "worker process" not in plain.stdout + plain.stderr


@pytest.mark.skipif(sys.platform == "win32" or headstart.cores() < 2, reason="workers need fork and two cores")
def test_a_head_start_nothing_takes_is_killed(tmp_path: Path) -> None:
    suite = write_suite(tmp_path, "http://127.0.0.1:9/v1", n_cases=3)
    # the command line looks like a live run to the head start; the command then refuses it
    seen, done = _probe(["eval", "run", str(suite), "--db", str(tmp_path / "x.duckdb"), "--max-attempts", "0"],
                        tmp_path)
    assert done.returncode == 2, done.stderr
    assert seen["pid"] is not None
    # killed when the command ended, not left to import litellm and exit on its own seconds later
    assert not _alive(seen["pid"])
    assert not (tmp_path / "x.duckdb").exists()
    seen, done = _probe(["eval", "run", "evalsuites/support-triage.yaml", "--db", str(tmp_path / "y.duckdb"),
                         "--no-report"], Path.cwd())
    assert seen["pid"] is None and done.returncode in (0, 1), done.stderr  # a replay-only suite starts nothing
