"""Shared by the fault, cache, budget, resume, rate-limit and secrets tests (no tests here).

A small support dataset written to disk, a suite of live candidates pointed at the fake
OpenAI server, and fault schedules that make the server fail on purpose.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import yaml

from support.fake_openai import Reply, assistant_turns, text, tool_calls, user_text

API_KEY = "sk-test-dummy-key-1234567890"
PRICING = {"input_usd_per_mtok": 1000, "output_usd_per_mtok": 2000}
"""10 prompt + 5 completion tokens (the fake server's default usage) cost $0.02 per call."""
CALL_USD = 0.02


def case_text(i: int) -> str:
    return f"Please look at ticket number {i}."


def write_dataset(root: Path, n_cases: int) -> Path:
    """cases.jsonl + tools.yaml: case i reads ticket i, then answers ``answer i``."""
    root.mkdir(parents=True, exist_ok=True)
    tools = [
        {"name": "get_ticket", "description": "Fetch a ticket.", "effect": "read",
         "parameters": {"type": "object", "properties": {"ticket_id": {"type": "integer"}}, "required": ["ticket_id"]}},
        {"name": "escalate_to_human", "description": "Hand off.", "effect": "write"},
    ]
    (root / "tools.yaml").write_text(yaml.safe_dump(tools), encoding="utf-8")
    with (root / "cases.jsonl").open("w", encoding="utf-8") as fh:
        for i in range(n_cases):
            fh.write(json.dumps({
                "id": f"case-{i:02d}", "input": case_text(i), "tags": ["even" if i % 2 == 0 else "odd"],
                "expected": {"status": "completed", "actions": [], "answer": {"contains": [f"answer {i}"]}},
                "fixtures": [{"tool": "get_ticket", "args": {"ticket_id": i}, "output": {"status": "open"}}],
            }) + "\n")
    return root


def write_suite(tmp: Path, base_url: str, *, n_cases: int = 6, candidates: list[dict[str, Any]] | None = None,
                **sections: Any) -> Path:
    """A suite file with live candidates against ``base_url`` (fast retries unless overridden)."""
    write_dataset(tmp / "data", n_cases)
    params = {"api_base": base_url, "api_key": API_KEY, "temperature": 0}
    spec: dict[str, Any] = {
        "version": 1, "name": "faults", "dataset": "data",
        "agent": {"system_prompt": "You are a support agent.", "max_steps": 4, "escalation_tool": "escalate_to_human"},
        "candidates": candidates or [{"name": "live", "model": "openai/fake-agent", "params": params}],
        "pricing": {"openai/fake-agent": PRICING, "openai/fake-other": PRICING},
        "execution": {"timeout_s": 5, "retry": {"max_attempts": 4, "backoff_s": 0.01, "max_backoff_s": 0.2}},
        "gates": [{"metric": "success_rate", "min": 0.5}],
    }
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(spec.get(key), dict):
            spec[key] = {**spec[key], **value}
        else:
            spec[key] = value
    path = tmp / "suite.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


def case_number(body: dict[str, Any]) -> int:
    said = user_text(body)
    return int(said.rsplit("number", 1)[1].strip(" ."))


def agent_reply(body: dict[str, Any], *, delay_s: float = 0.0) -> Reply:
    """The right behaviour for case i: read ticket i, then say ``answer i``."""
    i = case_number(body)
    if assistant_turns(body) == 0:
        return tool_calls(("get_ticket", {"ticket_id": i}), ids=[f"call_{i}"], delay_s=delay_s)
    return text(f"Done: answer {i}.", delay_s=delay_s)


class FaultSchedule:
    """A handler failing chosen attempts of chosen calls, and counting what it did.

    ``plan(case, turn, attempt)`` returns a fault Reply for that attempt (1-based) of the
    model call ``turn`` of case ``case``, or None to answer properly. Keyed by the
    conversation, so the schedule holds however concurrent runs interleave.
    """

    def __init__(self, plan: Callable[[int, int, int], Reply | None], *, delay_s: float = 0.0) -> None:
        self.plan = plan
        self.delay_s = delay_s
        self.attempts: dict[tuple[int, int, int], int] = defaultdict(int)
        """(case, turn, repeat-less) -> attempts seen."""
        self.faults = 0
        self.times: list[float] = []
        self._lock = threading.Lock()

    def __call__(self, body: dict[str, Any]) -> Reply:
        key = (case_number(body), assistant_turns(body), 0)
        with self._lock:
            self.attempts[key] += 1
            attempt = self.attempts[key]
            self.times.append(time.monotonic())
        fault = self.plan(key[0], key[1], attempt)
        if fault is not None:
            with self._lock:
                self.faults += 1
            return fault
        return agent_reply(body, delay_s=self.delay_s)


def all_rows(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of a DuckDB file (read-only)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
        return {t: con.execute(f'SELECT * FROM "{t}"').fetchall() for t in tables}
    finally:
        con.close()


def result_rows(db: Path, run_id: str | None = None) -> list[tuple[Any, ...]]:
    """(case, candidate, repeat, status, correct, infra_error, failure_reason) of a run, sorted."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        if run_id is None:
            run_id = con.execute("SELECT run_id FROM eval_runs ORDER BY started_at DESC LIMIT 1").fetchone()[0]
        return con.execute(
            "SELECT case_id, candidate, repeat, status, correct, infra_error, failure_reason FROM results "
            "WHERE run_id = ? ORDER BY case_id, candidate, repeat", [run_id]).fetchall()
    finally:
        con.close()
