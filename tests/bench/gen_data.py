"""Synthetic datasets and suites for the benchmarks (written into a temp dir, never committed).

    .venv/bin/python tests/bench/gen_data.py replay OUT_DIR RUNS     # 2 recorded labels, RUNS runs in all
    .venv/bin/python tests/bench/gen_data.py live OUT_DIR CASES CALLS API_BASE [CONCURRENCY]

Replay: RUNS/2 cases, each recorded once as ``base`` and once as ``cand`` (a read, a write and a
final message; the candidate gets 3% of the writes wrong), 10 tags, threshold gates, a
confidence gate and a regression gate with alpha (McNemar) and a latency regression (bootstrap).
Live: CASES cases whose model (the bench mock) makes CALLS-1 tool calls then answers.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

TAGS = [f"tag{i}" for i in range(10)]

TOOLS = """\
- name: get_ticket
  description: Fetch a ticket.
  effect: read
  parameters:
    type: object
    properties: {ticket_id: {type: integer}}
    required: [ticket_id]
- name: update_ticket
  description: Route a ticket.
  effect: write
  parameters:
    type: object
    properties: {ticket_id: {type: integer}, priority: {type: string}}
    required: [ticket_id, priority]
- name: escalate_to_human
  description: Hand off to a person.
  effect: write
  parameters: {type: object, properties: {reason: {type: string}}}
"""


def _call(cid: str, name: str, args: dict[str, object]) -> dict[str, object]:
    return {"id": cid, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}


def _case(i: int) -> dict[str, object]:
    return {
        "id": f"C-{i:06d}",
        "input": f"Ticket {i}: my order has not arrived, please help.",
        "tags": [TAGS[i % 10], TAGS[(i * 7 + 3) % 10]] if i % 3 else [TAGS[i % 10]],
        "expected": {"status": "completed",
                     "actions": [{"tool": "update_ticket", "args": {"ticket_id": i, "priority": "high"}}]},
        "fixtures": [{"tool": "get_ticket", "args": {"ticket_id": i}, "output": {"ticket_id": i, "status": "open"}}],
    }


def _run(i: int, label: str, wrong: bool) -> dict[str, object]:
    prio = "low" if wrong else "high"
    latency = 1.0 + (i % 17) * 0.1 + (0.05 if label == "cand" else 0.0)
    return {
        "run_id": f"{label}-{i:06d}", "case_id": f"C-{i:06d}", "label": label, "model": f"bench-{label}",
        "messages": [
            {"role": "system", "content": "You route support tickets."},
            {"role": "user", "content": f"Ticket {i}: my order has not arrived, please help."},
            {"role": "assistant", "content": None, "tool_calls": [_call("c1", "get_ticket", {"ticket_id": i})],
             "usage": {"prompt_tokens": 120, "completion_tokens": 12}},
            {"role": "tool", "tool_call_id": "c1", "content": json.dumps({"ticket_id": i, "status": "open"})},
            {"role": "assistant", "content": None,
             "tool_calls": [_call("c2", "update_ticket", {"ticket_id": i, "priority": prio})],
             "usage": {"prompt_tokens": 160, "completion_tokens": 14}},
            {"role": "tool", "tool_call_id": "c2", "content": "{\"ok\": true}"},
            {"role": "assistant", "content": f"Routed ticket {i} with priority {prio}."},
        ],
        "usage": {"prompt_tokens": 450, "completion_tokens": 40},
        "cost_usd": 0.002 if label == "base" else 0.0005, "latency_s": latency,
        "started_at": "2026-05-14T10:00:00Z",
    }


def write_replay(out: Path, runs: int) -> Path:
    cases = max(1, runs // 2)
    data = out / "data"
    data.mkdir(parents=True, exist_ok=True)
    (data / "tools.yaml").write_text(TOOLS)
    with (data / "cases.jsonl").open("w") as f:
        for i in range(1, cases + 1):
            f.write(json.dumps(_case(i)) + "\n")
    with (data / "runs.jsonl").open("w") as f:
        for i in range(1, cases + 1):
            f.write(json.dumps(_run(i, "base", False)) + "\n")
        for i in range(1, cases + 1):
            f.write(json.dumps(_run(i, "cand", i % 33 == 0)) + "\n")
    suite = out / "suite.yaml"
    suite.write_text(f"""\
version: 1
name: bench-replay
dataset: {data}
agent: {{system_prompt: "You route support tickets.", max_steps: 8, escalation_tool: escalate_to_human}}
candidates:
  - {{name: base, model: "replay:base"}}
  - {{name: cand, model: "replay:cand"}}
baseline: base
gates:
  - {{metric: success_rate, min: 0.9}}
  - {{metric: critical_error_rate, max: 0.05, confidence: 0.95}}
  - {{metric: p95_latency_s, max: 20}}
  - {{metric: success_rate, min: 0.9, tags: [tag3]}}
  - {{regression: success_rate, max_drop: 0.02, alpha: 0.05}}
  - {{regression: p95_latency_s, max_drop: 1.0, alpha: 0.05}}
""")
    return suite


def write_live(out: Path, cases: int, calls: int, api_base: str, concurrency: int = 32) -> Path:
    data = out / "data"
    data.mkdir(parents=True, exist_ok=True)
    (data / "tools.yaml").write_text(TOOLS)
    with (data / "cases.jsonl").open("w") as f:
        for i in range(1, cases + 1):
            case = _case(i)
            # The mock calls get_ticket with ticket_id 1 (it does not read the case).
            case["fixtures"] = [{"tool": "get_ticket", "args": {"ticket_id": 1}, "output": {"status": "open"}}]
            case["expected"] = {"status": "completed", "actions": []}
            f.write(json.dumps(case) + "\n")
    suite = out / "suite.yaml"
    suite.write_text(f"""\
version: 1
name: bench-live
dataset: {data}
agent: {{system_prompt: "You route support tickets.", max_steps: {calls + 2}}}
candidates:
  - name: live
    model: openai/bench-{calls}
    params: {{api_base: "{api_base}", api_key: sk-bench-not-a-key, temperature: 0}}
pricing:
  openai/bench-{calls}: {{input_usd_per_mtok: 0.15, output_usd_per_mtok: 0.6}}
gates:
  - {{metric: success_rate, min: 0.5}}
""")
    return suite


if __name__ == "__main__":
    kind, out = sys.argv[1], Path(sys.argv[2])
    if kind == "replay":
        print(write_replay(out, int(sys.argv[3])))
    else:
        print(write_live(out, int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]))
