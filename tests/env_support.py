"""Shared by the environment tests (no tests here): a small stateful account service on disk.

``write_env_dataset`` writes tools.yaml, cases.jsonl, state.json and environment.py; the
suite's live candidates are the fake OpenAI server, scripted per case by the user's text.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import yaml

API_KEY = "sk-test-dummy-key-1234567890"
PRICING = {"input_usd_per_mtok": 1000, "output_usd_per_mtok": 2000}

TOOLS = [
    {"name": "get_account", "description": "Fetch an account.", "effect": "read",
     "parameters": {"type": "object", "properties": {"account_id": {"type": "string"}}, "required": ["account_id"]}},
    {"name": "set_plan", "description": "Change an account's plan.", "effect": "write",
     "parameters": {"type": "object", "properties": {"account_id": {"type": "string"}, "plan": {"type": "string"}},
                    "required": ["account_id", "plan"]}},
    {"name": "set_email", "description": "Change an account's email.", "effect": "write",
     "parameters": {"type": "object", "properties": {"account_id": {"type": "string"}, "email": {"type": "string"}},
                    "required": ["account_id", "email"]}},
    {"name": "add_credit", "description": "Add credit (cents) to an account.", "effect": "write",
     "parameters": {"type": "object", "properties": {"account_id": {"type": "string"}, "cents": {"type": "integer"}},
                    "required": ["account_id", "cents"]}},
    {"name": "get_weather", "description": "Not the environment's business.", "effect": "read",
     "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}},
    {"name": "audit", "description": "A tool whose implementation has a bug.", "effect": "read",
     "parameters": {"type": "object", "properties": {"account_id": {"type": "string"}}}},
    {"name": "notify", "description": "A write the environment does not model.", "effect": "write",
     "parameters": {"type": "object", "properties": {"text": {"type": "string"}}}},
    {"name": "escalate_to_human", "description": "Hand off.", "effect": "write",
     "parameters": {"type": "object", "properties": {"reason": {"type": "string"}}}},
]

STATE = {
    "accounts": {
        "acc_1": {"name": "Ada", "plan": "free", "email": "ada@example.com", "credit_cents": 0},
        "acc_2": {"name": "Bob", "plan": "pro", "email": "bob@example.com", "credit_cents": 250},
    },
    "log": [],
}

ENVIRONMENT = '''\
class Environment:
    def __init__(self, case, state):
        self.case = case
        self.state = state

    def snapshot(self):
        return self.state

    def call(self, tool, args):
        accounts = self.state["accounts"]
        if tool == "get_account":
            return accounts.get(args["account_id"]) or {"error": "not_found"}
        if tool == "set_plan":
            accounts[args["account_id"]]["plan"] = args["plan"]
            return {"ok": True}
        if tool == "set_email":
            accounts[args["account_id"]]["email"] = args["email"]
            return {"ok": True}
        if tool == "add_credit":
            accounts[args["account_id"]]["credit_cents"] += args["cents"]
            self.state["log"].append(args["account_id"])
            return {"ok": True, "credit_cents": accounts[args["account_id"]]["credit_cents"]}
        if tool == "audit":
            return self._audit(args["account_id"])
        raise NotImplementedError(tool)

    def _audit(self, account_id):
        raise ValueError("audit log unavailable for " + account_id)
'''


def write_env_dataset(root: Path, cases: list[dict[str, Any]], *, runs: list[dict[str, Any]] | None = None,
                      environment_py: str = ENVIRONMENT, state: Any = STATE) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "tools.yaml").write_text(yaml.safe_dump(TOOLS), encoding="utf-8")
    (root / "cases.jsonl").write_text("".join(json.dumps(c) + "\n" for c in cases), encoding="utf-8")
    (root / "state.json").write_text(state if isinstance(state, str) else json.dumps(state, indent=1), encoding="utf-8")
    (root / "environment.py").write_text(environment_py, encoding="utf-8")
    if runs is not None:
        (root / "runs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in runs), encoding="utf-8")
    return root


def live(name: str, base_url: str, model: str = "openai/fake-agent") -> dict[str, Any]:
    return {"name": name, "model": model, "params": {"api_base": base_url, "api_key": API_KEY, "temperature": 0}}


def write_env_suite(tmp: Path, cases: list[dict[str, Any]], candidates: list[dict[str, Any]], **extra: Any) -> Path:
    runs = extra.pop("runs", None)
    env_kwargs = {k: extra.pop(k) for k in ("environment_py", "state") if k in extra}
    write_env_dataset(tmp / "data", cases, runs=runs, **env_kwargs)
    spec: dict[str, Any] = {
        "version": 1, "name": "env", "dataset": "data",
        "agent": {"system_prompt": "You manage accounts.", "max_steps": 6, "escalation_tool": "escalate_to_human"},
        "candidates": candidates,
        "pricing": {"openai/fake-agent": PRICING, "openai/fake-a": PRICING, "openai/fake-b": PRICING},
        "execution": {"retry": {"max_attempts": 1}, "cache": False},
    }
    spec.update(extra)
    path = tmp / "suite.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


def rows(db: Path, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    with duckdb.connect(str(db), read_only=True) as con:
        cur = con.execute(sql, params or [])
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
