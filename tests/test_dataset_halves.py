"""A big runs.jsonl is read in halves, the second by another process (agentctl.datasets.halves):
the same recordings and the same problems, in the same order, as one process reads; and when
that process cannot, this one reads the second half itself."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from agentctl.datasets import halves
from agentctl.datasets.halves import HalfReader
from agentctl.datasets.loader import read_dataset
from agentctl.datasets.models import Recording

sys.path.insert(0, str(Path(__file__).resolve().parent / "bench"))
from gen_data import write_replay  # noqa: E402

_GOOD = {"run_id": "x", "case_id": "C-000001", "label": "base", "messages": [{"role": "user", "content": "hi"}]}
BAD_LINES = [
    b"{not json",
    b"\xff\xfe not UTF-8",
    b"[1, 2]",
    b"",
    b'{"a": 1, "a": 2}',
    json.dumps({k: v for k, v in _GOOD.items() if k != "messages"}).encode(),  # pydantic refuses it
    json.dumps({**_GOOD, "run_id": "conv", "cost_usd": "0.5"}).encode(),  # pydantic decides
    json.dumps({**_GOOD, "run_id": "lost", "case_id": "C-00001"}).encode(),  # unknown case, with a hint
    json.dumps({**_GOOD, "run_id": "odd", "messages": [{"role": "assistant", "content": None, "tool_calls": [
        {"id": "c", "type": "function", "function": {"name": "nope", "arguments": "{bad"}},
        {"id": "d", "type": "function", "function": {"arguments": "{}"}}]}]}).encode(),
]


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """A replay dataset whose runs.jsonl has every kind of bad line in each half, and a BOM."""
    write_replay(tmp_path, 200)
    runs = tmp_path / "data" / "runs.jsonl"
    lines = runs.read_bytes().split(b"\n")
    lines[5:5] = BAD_LINES
    lines[-20:-20] = [line.replace(b'"x"', b'"y"') for line in BAD_LINES]
    runs.write_bytes(b"\xef\xbb\xbf" + b"\n".join(lines))
    return tmp_path / "data"


def _read(path: Path) -> tuple[list[Any], list[Any], list[Any]]:
    problems: list[Any] = []
    files = read_dataset(path, problems)
    assert files.run_problems is not None
    runs = [(type(r).__name__, r.fields() if isinstance(r, Recording) else None, getattr(r, "_text", None))
            for r in files.dataset.runs]
    return runs, [vars(p) for p in problems], [vars(p) for p in files.run_problems]


def _watch(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each helper answered (True) or left its half to this process (False)."""
    answered: list[bool] = []
    real = HalfReader.answer

    def answer(self: HalfReader, own_s: float) -> Any:
        got = real(self, own_s)
        answered.append(got is not None)
        return got

    monkeypatch.setattr(HalfReader, "answer", answer)
    return answered


def test_halves_read_what_one_process_reads(dataset: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    answered = _watch(monkeypatch)
    monkeypatch.setattr(halves, "MIN_BYTES", 1 << 40)
    alone = _read(dataset)
    assert answered == []
    monkeypatch.setattr(halves, "MIN_BYTES", 0)
    two = _read(dataset)
    assert answered == [True]
    assert two == alone
    runs, problems, checks = two
    assert len(runs) == 200 + 2 * 3 and {kind for kind, _, _ in runs} == {"Recording"}
    lines = {p["line"] for p in problems}
    assert min(lines) < 20 and max(lines) > 150  # problems from both halves, in line order
    assert [p["line"] for p in problems] == sorted(p["line"] for p in problems)
    assert any("unknown case 'C-00001' (did you mean" in p["message"] for p in checks if p["line"] > 150)
    assert any("duplicate key" in p["message"] for p in problems if p["line"] > 150)


def test_a_helper_that_dies_leaves_its_half_to_this_process(dataset: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(halves, "MIN_BYTES", 1 << 40)
    alone = _read(dataset)
    monkeypatch.setattr(halves, "MIN_BYTES", 0)
    answered = _watch(monkeypatch)
    real_order = HalfReader.order

    def order(self: HalfReader, *args: Any) -> None:
        self.proc.kill()
        self.proc.wait()
        real_order(self, *args)

    monkeypatch.setattr(HalfReader, "order", order)
    assert _read(dataset) == alone
    assert answered == [False]


def test_a_helper_that_does_not_answer_in_time_is_stopped(dataset: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(halves, "MIN_BYTES", 1 << 40)
    alone = _read(dataset)
    monkeypatch.setattr(halves, "MIN_BYTES", 0)
    monkeypatch.setattr(halves, "GRACE_S", 0.2)
    answered = _watch(monkeypatch)
    helpers: list[HalfReader] = []
    monkeypatch.setattr(HalfReader, "order", lambda self, *args: helpers.append(self))  # told nothing: it waits
    assert _read(dataset) == alone
    assert answered == [False] and len(helpers) == 1
    assert helpers[0].proc.poll() is not None  # stopped, not left behind


def test_small_files_are_read_here_alone(tmp_path: Path) -> None:
    write_replay(tmp_path, 20)
    assert HalfReader.start_for(tmp_path / "data" / "runs.jsonl") is None
    assert HalfReader.start_for(tmp_path / "data" / "missing.jsonl") is None


def test_the_helper_exits_when_its_input_ends_without_an_order() -> None:
    helper = HalfReader()
    assert helper.proc.stdin is not None
    helper.proc.stdin.close()
    assert helper.proc.wait(60) == 0
    helper.close()
