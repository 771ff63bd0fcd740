"""The cyclic garbage collector pauses only for code that leaves no garbage in cycles.

``agentctl eval run`` pauses it while a replay-only evaluation runs and is measured (young
passes over runs waiting for their commit were a tenth of a 100,000-run replay's CPU). That
is only safe while the runs leave nothing for it to collect, which the first test checks.
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentctl.core.collector import collector_paused
from agentctl.outcome import RunOptions
from agentctl.runner import run_suite

sys.path.insert(0, str(Path(__file__).resolve().parent / "bench"))
from gen_data import write_replay  # noqa: E402


@pytest.fixture
def collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    try:
        yield
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        (gc.enable if was else gc.disable)()


class _Watch:
    """A Progress that notes whether the collector was on as each run finished."""

    def __init__(self) -> None:
        self.enabled: list[bool] = []

    def phase(self, text: str | None) -> None:
        pass

    def start(self, total: int, done: int = 0) -> None:
        pass

    def advance(self, result: object) -> None:
        self.enabled.append(gc.isenabled())

    def stop(self) -> None:
        pass


_COUNT_GARBAGE = """
import gc, json, sys
from collections import Counter
from pathlib import Path
from agentctl.runner import run_suite

tmp, small, big = (Path(a) for a in sys.argv[1:4])
run_suite(small, db=tmp / "warm.duckdb")  # imports and one-time caches, off the count


def cyclic_garbage(suite, name):
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    run_suite(suite, db=tmp / f"{name}.duckdb")
    gc.collect()
    found = Counter(type(o).__name__ for o in gc.garbage)
    gc.set_debug(0)
    gc.garbage.clear()
    gc.enable()
    return found


few = cyclic_garbage(small, "few")
many = cyclic_garbage(big, "many")
print(json.dumps(dict(many - few)))
"""


def test_a_replay_leaves_no_garbage_in_cycles(tmp_path: Path) -> None:
    """What a pause would let pile up: a few objects of start-up work at most, none per run
    (a recursive closure in the write pairing once left seven per run). In a process of its
    own: other tests' threads leave garbage of their own."""
    small, big = write_replay(tmp_path / "s", 40), write_replay(tmp_path / "b", 400)
    done = subprocess.run([sys.executable, "-c", _COUNT_GARBAGE, str(tmp_path), str(small), str(big)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    more = json.loads(done.stdout.strip().splitlines()[-1])
    assert sum(more.values()) < 40, f"more objects in cycles for 360 more runs: {more}"


def test_eval_run_pauses_the_collector_for_a_replay_only(tmp_path: Path, collector_on: None) -> None:
    suite = write_replay(tmp_path / "r", 20)
    watch = _Watch()
    run_suite(suite, db=tmp_path / "a.duckdb", options=RunOptions(pause_gc=True), progress=watch)
    assert watch.enabled and not any(watch.enabled)
    assert gc.isenabled()  # on again afterwards


def test_a_library_caller_keeps_its_collector(tmp_path: Path, collector_on: None) -> None:
    suite = write_replay(tmp_path / "r", 20)
    watch = _Watch()
    run_suite(suite, db=tmp_path / "a.duckdb", progress=watch)
    assert watch.enabled and all(watch.enabled)


def test_code_not_ours_keeps_the_collector(tmp_path: Path, collector_on: None) -> None:
    """A scorer plugin may leave cycles: no pause, even when asked."""
    suite = write_replay(tmp_path / "r", 20)
    suite.write_text(suite.read_text() + "scorers:\n  - {name: ragas.tool_call_f1, args: {threshold: 0.5}}\n")
    watch = _Watch()
    run_suite(suite, db=tmp_path / "a.duckdb", options=RunOptions(pause_gc=True), progress=watch)
    assert watch.enabled and all(watch.enabled)


def test_collector_paused_restores_what_it_found(collector_on: None) -> None:
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # an inner pause does not switch it back on
    assert gc.isenabled()
    with collector_paused(active=False):
        assert gc.isenabled()
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()  # it was off: it stays off


_COUNT_IMPORT_PASSES = """
import gc, json, sys
passes = []
gc.callbacks.append(lambda phase, info: passes.append(info["generation"]) if phase == "start" else None)
name = sys.argv[1]
if name == "litellm":
    from agentctl.providers.litellm_setup import import_litellm as load
elif name == "deepeval":
    from agentctl.scorers.deepeval_scorers import _deepeval as load
else:
    from agentctl.scorers.ragas_scorers import _ragas as load
before = len(passes)
load()
print(json.dumps({"passes": len(passes) - before, "enabled": gc.isenabled(), "loaded": name in sys.modules}))
"""


@pytest.mark.parametrize("library", ["litellm", "deepeval", "ragas"])
def test_big_imports_run_with_the_collector_off(library: str) -> None:
    """Importing litellm builds ~2,500 pydantic models; each young pass the import triggered
    rescanned them (hundreds of passes, 0.5-1 s of CPU). Off for the import, on afterwards.
    In a fresh interpreter: this one has imported them already."""
    done = subprocess.run([sys.executable, "-c", _COUNT_IMPORT_PASSES, library], capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["loaded"] and seen["enabled"]
    assert seen["passes"] < 20, f"{seen['passes']} collector passes while {library} was imported"
