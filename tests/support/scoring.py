"""Runs, scoring contexts and scripted judges for the deepeval, ragas and registry tests."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from agentctl.config.models import ScorerSpec, Suite
from agentctl.config.scorer_registry import ScorerRegistry
from agentctl.core.results import ScoreResult, Verdict
from agentctl.core.trajectory import Step, Trajectory
from agentctl.datasets.models import Case, Dataset
from agentctl.scorers.base import ScoringContext
from agentctl.scorers.judge import JSON_INSTRUCTION
from support.fake_openai import FakeOpenAI, text

REFUND = {"charge_id": "ch_1", "amount_cents": 7500}


def model_turn(content: str | None = None) -> Step:
    return Step(index=0, kind="model", content=content)


def tool(
    name: str, args: dict[str, Any] | None, *, effect: str = "write", output: str = '{"ok": true}', **kw: Any
) -> Step:
    return Step(index=0, kind="tool", tool=name, args=args, output=output, effect=effect, **kw)  # type: ignore[arg-type]


def make_ctx(
    steps: list[Step],
    *,
    actions: list[dict[str, Any]] | None = None,
    ordered: bool = False,
    input: str = "I was charged twice for order 5521, please refund the duplicate.",
    metadata: dict[str, Any] | None = None,
    context: list[str] | None = None,
    context_tools: list[str] | None = None,
    pricing: dict[str, Any] | None = None,
) -> ScoringContext:
    case = Case.model_validate(
        {
            "id": "T-1",
            "input": input,
            "expected": {
                "actions": actions if actions is not None else [{"tool": "issue_refund", "args": REFUND}],
                "ordered": ordered,
            },
            "metadata": metadata or {},
            "context": context,
            "context_tools": context_tools,
        }
    )
    for i, s in enumerate(steps):
        s.index = i
    traj = Trajectory(case_id="T-1", candidate="c", repeat=0, model="m", steps=steps, status="completed")
    suite = Suite.model_validate(
        {
            "name": "s",
            "dataset": ".",
            "candidates": [{"name": "c", "model": "replay:x"}],
            "pricing": pricing or {},
        }
    )
    verdict = Verdict("completed", True, False, False, False, 0, 0)
    return ScoringContext(case, traj, verdict, suite, Dataset(path=Path("."), cases=[case]))


def refund_run(args: dict[str, Any], final: str = "I've refunded the duplicate charge.") -> list[Step]:
    return [
        model_turn(),
        tool("get_ticket", {"ticket_id": 5521}, effect="read", output='{"status": "open"}'),
        tool("issue_refund", args),
        model_turn(final),
    ]


def score(name: str, ctx: ScoringContext, args: dict[str, Any] | None = None, **spec: Any) -> ScoreResult:
    registry = ScorerRegistry()
    scorer = registry.create(ScorerSpec(name=name, args=args or {}, **spec))
    return asyncio.run(scorer.score(ctx))


def fill(
    schema: dict[str, Any],
    values: dict[str, Any],
    root: dict[str, Any] | None = None,
    name: str | None = None,
) -> Any:
    """A JSON value of ``schema``, taking ``values[field name]`` where given: a scripted judge."""
    root = root or schema
    if "$ref" in schema:
        return fill(root["$defs"][schema["$ref"].split("/")[-1]], values, root, name)
    if "anyOf" in schema:
        return fill(next(s for s in schema["anyOf"] if s.get("type") != "null"), values, root, name)
    if name in values:
        return values[name]
    kind = schema.get("type")
    if kind == "object":
        return {k: fill(v, values, root, k) for k, v in schema.get("properties", {}).items()}
    if kind == "array":
        return [fill(schema.get("items", {}), values, root)]
    if "enum" in schema:
        return schema["enum"][0]
    return {"string": "x", "integer": 1, "number": 1.0, "boolean": True}.get(kind, "x")


def scripted_judge(
    values: dict[str, Any], prompts: list[str] | None = None, tokens: tuple[int, int] = (1000, 100)
):
    """Fake-server handler answering every structured prompt with JSON built from its schema."""

    def handler(body: dict[str, Any]):
        prompt = body["messages"][-1]["content"]
        if prompts is not None:
            prompts.append(prompt)
        assert JSON_INSTRUCTION in prompt, "every structured judge prompt carries its schema"
        schema = json.loads(prompt.split(JSON_INSTRUCTION)[1])
        return text(json.dumps(fill(schema, values)), prompt_tokens=tokens[0], completion_tokens=tokens[1])

    return handler


def judge_spec(fake: FakeOpenAI, model: str = "openai/fake-judge") -> dict[str, Any]:
    return {"judge": model, "judge_params": {"api_base": fake.base_url, "api_key": "sk-test"}}
