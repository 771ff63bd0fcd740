"""Shared helpers of the import tests: the recorded scenarios and what a replay reproduces."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agentctl.datasets.models import Case
from agentctl.engine.tools import is_error_output

TRACES = Path(__file__).resolve().parents[1] / "data" / "traces"


def scenarios() -> dict[str, dict[str, Any]]:
    """The recorded conversations the fixtures were written from, by name."""
    return {s["name"]: s for s in json.loads((TRACES / "scenarios.json").read_text())}


def shape(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What a replay reproduces: roles, texts, calls (arguments parsed) and tool answers (JSON parsed)."""
    out = []
    for m in messages:
        d: dict[str, Any] = {"role": m["role"], "content": m.get("content")}
        if m.get("tool_calls"):
            d["tool_calls"] = [(c["id"], c["function"]["name"], json.loads(c["function"]["arguments"]))
                               for c in m["tool_calls"]]
        if m["role"] == "tool":
            d["tool_call_id"] = m["tool_call_id"]
            d["content"] = json.loads(m["content"]) if m["content"].startswith("{") else m["content"]
        out.append(d)
    return out


def runs_of(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "runs.jsonl").read_text().splitlines() if line.strip()]


def cases_of(out: Path) -> list[Case]:
    return [Case.model_validate(json.loads(line)) for line in (out / "cases.jsonl").read_text().splitlines()
            if line.strip()]


def scenario_of(run: dict[str, Any]) -> dict[str, Any]:
    """The scenario a run was recorded from (by its user message)."""
    user = next(m["content"] for m in run["messages"] if m["role"] == "user")
    return next(s for s in scenarios().values() if s["messages"][1]["content"] == user)


def calls_of(messages: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return [(c["function"]["name"], json.loads(c["function"]["arguments"]))
            for m in messages if m["role"] == "assistant" for c in m.get("tool_calls") or []]


def final_text(messages: list[dict[str, Any]]) -> str | None:
    texts = [m["content"] for m in messages if m["role"] == "assistant" and m.get("content")]
    return texts[-1] if texts else None


def is_error_answer(message: dict[str, Any]) -> bool:
    return is_error_output(message)
