"""Start-up stays light: the CLI's common paths import none of the heavy libraries."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("litellm", "deepeval", "ragas", "pandas", "scipy", "openai")
ROOT = Path(__file__).resolve().parents[1]

_PROBE = """
import json, sys
from typer.testing import CliRunner
from agentctl.main import app
result = CliRunner().invoke(app, sys.argv[1:])
print(json.dumps({"exit": result.exit_code, "modules": sorted(sys.modules), "out": result.output[-2000:]}))
"""


def _modules_after(*args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, cwd=ROOT,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("args", [["--help"], ["eval", "run", "--help"], ["dataset", "--help"]])
def test_help_imports_no_heavy_library(args: list[str]) -> None:
    probe = _modules_after(*args)
    assert probe["exit"] == 0, probe["out"]
    loaded = [m for m in probe["modules"] if m.split(".")[0] in HEAVY]
    assert loaded == []


def test_suite_validate_imports_no_heavy_library() -> None:
    probe = _modules_after("suite", "validate", "evalsuites/support-triage.yaml")
    assert probe["exit"] == 0, probe["out"]
    loaded = sorted({m.split(".")[0] for m in probe["modules"] if m.split(".")[0] in HEAVY})
    assert loaded == []


def test_every_command_has_help_text() -> None:
    import typer.main

    from agentctl.main import app

    group = typer.main.get_command(app)

    def walk(cmd, path):  # type: ignore[no-untyped-def]
        yield path, cmd
        for name, sub in getattr(cmd, "commands", {}).items():
            yield from walk(sub, [*path, name])

    missing = [" ".join(p) for p, c in walk(group, ["agentctl"]) if not (c.help or "").strip()]
    assert missing == []


_GC_PROBE = """
import atexit, gc, json, sys
default = gc.get_threshold()
import agentctl.runner  # the library: its caller's collector is left alone
library = gc.get_threshold()
from agentctl.main import GC_THRESHOLDS, main
atexit.register(lambda: print(json.dumps({"default": default, "library": library, "command": gc.get_threshold(),
                                          "wanted": GC_THRESHOLDS})))
sys.argv = ["agentctl", "--version"]
main()
"""


def test_the_command_collects_garbage_less_often_and_the_library_does_not_touch_it() -> None:
    """A big replay spent a third of its CPU in the collector's passes over the dataset: the
    command raises the thresholds; importing the library changes nothing for its caller."""
    out = subprocess.run([sys.executable, "-c", _GC_PROBE], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["library"] == seen["default"]
    assert seen["command"] == seen["wanted"] != seen["default"]
    assert seen["wanted"][0] >= 10 * seen["default"][0]


_EXIT_PROBE = """
import atexit, sys, threading, time
from agentctl.main import main

class Finalised:
    def __del__(self):
        print("heap torn down", flush=True)

kept = Finalised()  # a module global: freed only when the interpreter tears the heap down
atexit.register(lambda: print("atexit ran"))
if sys.argv[1] == "thread":
    threading.Thread(target=lambda: (time.sleep(0.3), print("thread finished", flush=True))).start()
print("unflushed", end="")
sys.argv = ["agentctl", *sys.argv[2:]]
main()
"""


@pytest.mark.parametrize(("args", "code"), [(["--version"], 0), (["suite", "validate", "missing.yaml"], 2)])
def test_the_command_exits_without_tearing_the_heap_down(args: list[str], code: int, tmp_path: Path) -> None:
    """After a big evaluation, interpreter shutdown freed its objects one by one (0.7 s after a
    10,000-run replay): the command ends at once, yet runs atexit handlers, flushes what it
    printed and keeps its exit code."""
    out = subprocess.run([sys.executable, "-c", _EXIT_PROBE, "alone", *args], capture_output=True, text=True,
                         cwd=tmp_path, timeout=120)
    assert out.returncode == code, out.stderr
    assert out.stdout.startswith("unflushed")
    assert "atexit ran" in out.stdout
    assert "heap torn down" not in out.stdout
    if code == 0:
        assert f"agentctl {__import__('agentctl').__version__}" in out.stdout
    else:
        assert "missing.yaml: suite file not found" in out.stdout + out.stderr


def test_a_thread_still_running_at_the_end_gets_the_normal_shutdown(tmp_path: Path) -> None:
    """The quick exit would kill a (non-daemon) thread mid-work: with one alive, the command
    shuts down as Python does, waiting for it."""
    out = subprocess.run([sys.executable, "-c", _EXIT_PROBE, "thread", "--version"], capture_output=True, text=True,
                         cwd=tmp_path, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "thread finished" in out.stdout and "atexit ran" in out.stdout
    assert "heap torn down" in out.stdout
