"""Shared by the issue-11 tests (no tests here): a tiny replay dataset and suite written to disk.

Two cases that each need one refund; recordings labelled ``prod`` (right) and ``cand``
(right too), so every gate passes unless a test changes something.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from agentctl.main import app

TOOLS: list[dict[str, Any]] = [
    {"name": "get_order", "description": "Read an order.", "effect": "read",
     "parameters": {"type": "object", "properties": {"order_id": {"type": "integer"}}, "required": ["order_id"]}},
    {"name": "refund", "description": "Refund an order.", "effect": "write",
     "parameters": {"type": "object", "additionalProperties": False,
                    "properties": {"order_id": {"type": "integer"},
                                   "delivery": {"type": "string", "enum": ["email", "sms"]}},
                    "required": ["order_id"]}},
    {"name": "escalate", "description": "Hand off.", "effect": "write"},
]


def case(i: int, **changes: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"id": f"c{i}", "input": f"refund order {i}", "tags": ["refund"],
                           "expected": {"actions": [{"tool": "refund", "args": {"order_id": i}}]}}
    out.update(changes)
    return out


def recording(i: int, label: str, n: int = 1, **changes: Any) -> dict[str, Any]:
    call = {"id": "call_1", "type": "function",
            "function": {"name": "refund", "arguments": json.dumps({"order_id": i})}}
    out: dict[str, Any] = {
        "run_id": f"{label}-{i}-{n}", "case_id": f"c{i}", "label": label, "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": f"refund order {i}"},
                     {"role": "assistant", "content": None, "tool_calls": [call]},
                     {"role": "tool", "tool_call_id": "call_1", "content": "{\"ok\": true}"},
                     {"role": "assistant", "content": "Refunded."}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20}, "cost_usd": 0.001, "latency_s": 1.0,
    }
    out.update(changes)
    return out


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def write_dataset(root: Path, *, cases: list[dict[str, Any]] | None = None, runs: list[dict[str, Any]] | None = None,
                  tools: list[dict[str, Any]] | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    write_jsonl(root / "cases.jsonl", cases if cases is not None else [case(1), case(2)])
    if runs is None:
        runs = [recording(i, label) for label in ("prod", "cand") for i in (1, 2)]
    write_jsonl(root / "runs.jsonl", runs)
    (root / "tools.yaml").write_text(yaml.safe_dump(tools if tools is not None else TOOLS), encoding="utf-8")
    return root


def write_suite(tmp: Path, *, dataset: dict[str, Any] | None = None, **sections: Any) -> Path:
    """suite.yaml in ``tmp`` with a dataset in ``tmp/data``; ``sections`` replace top-level keys."""
    write_dataset(tmp / "data", **(dataset or {}))
    spec: dict[str, Any] = {
        "version": 1, "name": "trust", "dataset": "data",
        "agent": {"system_prompt": "You are a support agent.", "escalation_tool": "escalate"},
        "candidates": [{"name": "base", "model": "replay:prod"}, {"name": "cand", "model": "replay:cand"}],
        "baseline": "base",
        "gates": [{"metric": "success_rate", "min": 0.5}, {"regression": "success_rate", "max_drop": 0.1}],
    }
    spec.update(sections)
    path = tmp / "suite.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


def invoke(*args: str) -> tuple[int, str]:
    """Run the CLI in process; stdout and stderr together."""
    result = CliRunner().invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        return 99, result.output + "".join(traceback.format_exception(result.exception))
    return result.exit_code, result.output


def run(suite: Path, tmp: Path, *extra: str) -> tuple[int, str]:
    return invoke("eval", "run", str(suite), "--db", str(tmp / "s.duckdb"), "--report-dir", str(tmp / "reports"),
                  *extra)
