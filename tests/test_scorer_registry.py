"""deepeval and ragas scorers by name: registration through entry points, `suite validate`
of names and arguments (file and line, exit 2) without importing either library, and, in a
fresh process, no connection opened except to the judge."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentctl.config.models import ScorerSpec
from agentctl.config.scorer_registry import ScorerRegistry
from agentctl.scorers import deepeval_scorers, ragas_scorers
from support.fake_openai import FakeOpenAI
from support.scoring import scripted_judge

TESTS = Path(__file__).parent
CLI = TESTS.parent / "cli"


def problems(name: str, args: dict | None = None, judge: str | None = None) -> list[str]:
    return ScorerRegistry().problems(ScorerSpec(name=name, args=args or {}, judge=judge))


def test_every_metric_is_registered_through_the_entry_points() -> None:
    names = ScorerRegistry().names()
    for metric in deepeval_scorers.METRICS:
        assert f"deepeval.{metric}" in names
    for metric in ragas_scorers.METRICS:
        assert f"ragas.{metric}" in names
    assert {
        "deepeval.g_eval",
        "deepeval.tool_correctness",
        "ragas.tool_call_f1",
        "ragas.topic_adherence",
    } <= set(names)


def test_unknown_metric_names_get_a_suggestion() -> None:
    (message,) = problems("deepeval.g_evl", judge="openai/x")
    assert "unknown scorer 'deepeval.g_evl'" in message and "did you mean 'deepeval.g_eval'" in message
    (message,) = problems("ragas.tool_call_f2")
    assert "did you mean 'ragas.tool_call_f1'" in message


@pytest.mark.parametrize(
    ("name", "args", "judge", "expected"),
    [
        ("deepeval.g_eval", {"criteria": "polite"}, None, "judge: deepeval.g_eval is judged by a model"),
        ("deepeval.g_eval", {}, "openai/x", "needs exactly one of criteria, evaluation_steps"),
        (
            "deepeval.g_eval",
            {"criteria": "p", "params": ["input", "vibes"]},
            "openai/x",
            "args.params: expected",
        ),
        (
            "deepeval.tool_correctness",
            {"threshold": "high"},
            None,
            "args.threshold: expected a number between 0 and 1",
        ),
        (
            "deepeval.tool_correctness",
            {"calls": "reads"},
            None,
            "args.calls: expected one of effects, writes, all",
        ),
        (
            "deepeval.tool_correctness",
            {},
            "openai/x",
            "judge: deepeval.tool_correctness is computed without a model",
        ),
        ("deepeval.pattern_match", {}, None, "args.pattern: required by deepeval.pattern_match"),
        (
            "deepeval.pattern_match",
            {"pattern": "(unclosed"},
            None,
            "args.pattern: invalid regular expression",
        ),
        ("deepeval.json_correctness", {"schema": {"type": "nope"}}, None, "args.schema: invalid JSON Schema"),
        (
            "ragas.tool_call_accuracy",
            {"strict": True},
            None,
            "args.strict: unknown argument of ragas.tool_call_accuracy",
        ),
        ("ragas.rouge", {"rouge_type": "rouge3"}, None, "args.rouge_type: expected one of rouge1, rougeL"),
        ("ragas.response_relevancy", {}, "openai/x", "args.embedding_model: required"),
        (
            "ragas.topic_adherence",
            {"topics": "billing"},
            "openai/x",
            "args.topics: expected a non-empty list of strings",
        ),
    ],
)
def test_bad_arguments_are_reported(name: str, args: dict, judge: str | None, expected: str) -> None:
    found = problems(name, args, judge)
    assert any(expected in p for p in found), found


def test_good_specs_have_no_problems() -> None:
    assert (
        problems("deepeval.g_eval", {"criteria": "polite", "threshold": 0.7, "params": ["input"]}, "openai/x")
        == []
    )
    assert (
        problems("deepeval.json_correctness", {"schema": {"type": "object"}}, "openai/x") == []
    )  # judge optional
    assert problems("ragas.tool_call_accuracy", {"calls": "all", "ordered": True}) == []


SUITE = """\
version: 1
name: scored
dataset: dataset
candidates:
  - name: prod
    model: replay:prod
scorers:
  - name: deepeval.tool_correctness
  - name: deepeval.g_eval
    args: {criteria: "The reply is polite.", threshold: 2}
    judge: openai/x
  - name: ragas.tool_call_f2
  - name: ragas.agent_goal_accuracy
"""


def _suite(tmp_path: Path, text: str = SUITE) -> Path:
    shutil.copytree(TESTS / "data" / "bad_suites" / "dataset", tmp_path / "dataset")
    path = tmp_path / "suite.yaml"
    path.write_text(text)
    return path


def test_suite_validate_reports_file_line_and_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agentctl.main import app

    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["suite", "validate", str(_suite(tmp_path))])
    out = result.output
    assert result.exit_code == 2, out
    assert f"suite.yaml:{_line('deepeval.g_eval')}: scorers[1]" in out and "args.threshold" in out
    assert f"suite.yaml:{_line('ragas.tool_call_f2')}:" in out and "did you mean 'ragas.tool_call_f1'" in out
    assert f"suite.yaml:{_line('ragas.agent_goal_accuracy')}:" in out and "is judged by a model" in out
    assert f"suite.yaml:{_line('deepeval.tool_correctness')}:" not in out  # that one is fine


def _line(scorer: str) -> int:
    return next(i for i, line in enumerate(SUITE.splitlines(), 1) if line.endswith(f"name: {scorer}"))


_STARTUP_SCRIPT = r"""
import json, sys
from typer.testing import CliRunner
from agentctl.main import app
r = CliRunner().invoke(app, ["--help"])
assert r.exit_code == 0, r.output
r = CliRunner().invoke(app, ["suite", "validate", sys.argv[1]])
heavy = sorted(m for m in ("deepeval", "ragas", "litellm") if m in sys.modules)
print(json.dumps({"exit": r.exit_code, "heavy": heavy, "output": r.output}))
"""


def test_cli_start_up_and_suite_validate_import_neither_library(tmp_path: Path) -> None:
    suite = _suite(
        tmp_path,
        SUITE.replace("threshold: 2", "threshold: 0.7").replace("f2", "f1").rstrip()
        + "\n    judge: openai/x\n",
    )
    proc = subprocess.run(
        [sys.executable, "-c", _STARTUP_SCRIPT, str(suite)],
        env={**os.environ, "PYTHONPATH": str(CLI)},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["exit"] == 0, out["output"]
    assert out["heavy"] == []


_AUDIT_SCRIPT = r"""
import asyncio, json, sys
connections = []
sys.addaudithook(lambda event, args: connections.append(repr(args[1])) if event == "socket.connect" else None)
sys.path.insert(0, sys.argv[2])
from support.scoring import REFUND, make_ctx, refund_run
from agentctl.config.models import ScorerSpec
from agentctl.config.scorer_registry import ScorerRegistry
judge = {"judge": "openai/fake-judge", "judge_params": {"api_base": sys.argv[1], "api_key": "sk-test"}}
ctx = make_ctx(refund_run(REFUND), context_tools=["get_ticket"], metadata={"reference": "done"})
errors = []
for name, args, j in [("deepeval.tool_correctness", {}, {}), ("deepeval.g_eval", {"criteria": "polite"}, judge),
                      ("ragas.tool_call_f1", {}, {}), ("ragas.agent_goal_accuracy", {}, judge)]:
    scorer = ScorerRegistry().create(ScorerSpec(name=name, args=args, **j))
    errors.append(asyncio.run(scorer.score(ctx)).error)
print(json.dumps({"connections": connections, "errors": errors}))
"""


def test_no_connection_except_to_the_judge(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.script(scripted_judge({"steps": ["s"], "score": 9, "verdict": "1"}))
    # a user's environment, without the opt-outs the test suite sets: agentctl must set them itself
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DEEPEVAL_", "RAGAS_", "LITELLM_"))}
    env["PYTHONPATH"] = str(CLI)
    proc = subprocess.run(
        [sys.executable, "-c", _AUDIT_SCRIPT, fake_openai.base_url, str(TESTS)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=150,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["errors"] == [None, None, None, None]
    assert out["connections"], "the judged metrics called the judge"
    assert set(out["connections"]) == {repr(("127.0.0.1", fake_openai.port))}
    assert "posthog" not in proc.stderr.lower()
    assert list(tmp_path.iterdir()) == []  # no .deepeval/ (or anything else) in the working directory
