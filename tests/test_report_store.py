"""Stores for the report tests: a small known run full of hostile strings, and synthetic big runs.

The builders are imported by the other ``test_report_*`` files and by tests/bench/bench_report.py;
the tests here check that ``load_report_data`` reads the known run back as stored.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from agentctl.core.errors import InputError
from agentctl.reports import load_report_data
from agentctl.store.schema import TABLES

RUN_ID = "r-known-0001"
SUITE = "support-triage"
XSS_CASE = "T-3<script>window.__xss=1</script>"
XSS_TAG = "<img src=x onerror=window.__xss=1>"
XSS_MODEL = "Done.</script><script>window.__xss=1;document.title='pwned'</script>"
XSS_TOOL = '<img src=x onerror="window.__xss=1;document.title=\'pwned\'"><a href="javascript:window.__xss=1">x</a>'
XSS_REASON = "[click me](javascript:window.__xss=1) <svg onload=window.__xss=1>"
CANARY = "sk-canary-0123456789abcdefghij"
PAYLOADS = (XSS_CASE, XSS_TAG, XSS_MODEL, XSS_TOOL, XSS_REASON)


def open_store(path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path))
    for ddl in TABLES.values():
        con.execute(ddl)
    return con


def _result(case_id: str, cand: str, repeat: int, *, correct: bool, status: str = "completed",
            critical: bool = False, infra: bool = False, tags: list[str], reasons: list[str] | None = None,
            cost: float = 0.01, latency: float = 2.0, failure_reason: str | None = None) -> dict[str, Any]:
    return {
        "run_id": RUN_ID, "case_id": case_id, "candidate": cand, "repeat": repeat, "status": status,
        "failure_reason": failure_reason, "correct": correct,
        "escaped_error": status == "completed" and not correct and not infra, "critical_error": critical,
        "infra_error": infra, "policy_violations": 0, "failed_writes": 0, "cost_usd": cost, "latency_s": latency,
        "steps": 2, "tool_calls": 1, "prompt_tokens": 900, "completion_tokens": 60, "model": cand,
        "tags": tags, "reasons": reasons or [],
    }


def _insert(con: duckdb.DuckDBPyConnection, table: str, row: dict[str, Any]) -> None:
    cols = list(row)
    con.execute(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                [json.dumps(v) if isinstance(v, dict) else v for v in row.values()])


def _steps(case_id: str, cand: str, repeat: int, refund: int | None, text: str, output: str) -> list[dict]:
    rows = [
        {"step": 0, "kind": "model", "content": None, "prompt_tokens": 800, "completion_tokens": 40,
         "cost_usd": 0.004, "latency_s": 1.1,
         "tool_calls": json.dumps([{"id": "c1", "name": "get_ticket", "arguments": '{"ticket_id": 1}'}])},
        {"step": 1, "kind": "tool", "tool": "get_ticket", "args": json.dumps({"ticket_id": 1}), "output": output,
         "effect": "read", "error": False},
    ]
    if refund is not None:
        rows.append({"step": 2, "kind": "tool", "tool": "issue_refund", "effect": "write", "error": False,
                     "args": json.dumps({"charge_id": "ch_2", "amount_cents": refund}), "output": '{"ok": true}'})
    rows.append({"step": len(rows), "kind": "model", "content": text, "prompt_tokens": 100,
                 "completion_tokens": 20, "cost_usd": 0.001, "latency_s": 0.9})
    return [{"run_id": RUN_ID, "case_id": case_id, "candidate": cand, "repeat": repeat, **r} for r in rows]


def build_known_run(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    """Two candidates (prod = baseline, mini), five cases, hostile strings, a failing gate."""
    dataset = tmp_path / "dataset"
    dataset.mkdir()
    expected = {"T-1": [], "T-2": [{"tool": "issue_refund", "args": {"charge_id": "ch_2", "amount_cents": 7500}}]}
    with (dataset / "cases.jsonl").open("w") as fh:
        for cid, actions in expected.items():
            fh.write(json.dumps({"id": cid, "input": "hi", "expected": {"actions": actions}}) + "\n")
    con = open_store(tmp_path / "known.duckdb")
    suite_config = {
        "name": SUITE, "baseline": "prod",
        "candidates": [{"name": "prod", "model": "replay:prod-2026-05"},
                       {"name": "mini", "model": "openai/gpt-4o-mini", "system_prompt": "prompts/v4.md"}],
        "gates": [{"metric": "success_rate", "min": 0.95}, {"regression": "success_rate", "max_drop": 0.02}],
    }
    started = datetime(2026, 5, 14, 10, 0, 0)
    _insert(con, "eval_runs", {
        "run_id": RUN_ID, "suite": SUITE, "suite_path": "evalsuites/support-triage.yaml",
        "suite_config": suite_config, "dataset_path": str(dataset), "dataset_hash": "d" * 64,
        "started_at": started, "finished_at": started + timedelta(minutes=3), "status": "finished",
        "exit_code": 1, "agentctl_version": "0.1.0", "git_commit": "abc1234def5678",
        "options": json.dumps({"concurrency": 4, "api_key": CANARY}),
        "candidates": json.dumps([
            {"name": "prod", "model": "replay:prod-2026-05", "params": {}, "system_prompt_sha": "a" * 64},
            {"name": "mini", "model": "openai/gpt-4o-mini", "params": {"temperature": 0, "api_key": CANARY},
             "system_prompt_sha": "b" * 64}]),
        "planned_runs": 12,
    })
    results = [
        _result("T-1", "prod", 0, correct=True, tags=["payments", "refund"]),
        _result("T-1", "mini", 0, correct=True, tags=["payments", "refund"], cost=0.002),
        _result("T-2", "prod", 0, correct=True, tags=["payments"]),
        _result("T-2", "mini", 0, correct=False, critical=True, tags=["payments"], cost=0.003, latency=4.0,
                reasons=["issue_refund: amount_cents expected 7500, got 750", XSS_REASON]),
        _result(XSS_CASE, "prod", 0, correct=False, tags=[XSS_TAG], reasons=["answer lacks 'refund'"]),
        _result(XSS_CASE, "mini", 0, correct=True, tags=[XSS_TAG]),
        _result("T-4", "prod", 0, correct=True, tags=["account"]),
        _result("T-4", "prod", 1, correct=True, tags=["account"]),
        _result("T-4", "mini", 0, correct=True, tags=["account"]),
        _result("T-4", "mini", 1, correct=False, status="escalated", tags=["account"],
                reasons=["status escalated, expected completed"]),
        _result("T-5", "prod", 0, correct=True, tags=["account"]),
        _result("T-5", "mini", 0, correct=False, status="failed", infra=True, tags=["account"],
                failure_reason="provider_error"),
    ]
    for row in results:
        _insert(con, "results", row)
        refund = None
        if row["case_id"] == "T-2":
            refund = 7500 if row["candidate"] == "prod" else 750
        text = XSS_MODEL if row["case_id"] == XSS_CASE else "I've refunded the duplicate charge."
        for step in _steps(row["case_id"], row["candidate"], row["repeat"], refund, text, XSS_TOOL):
            _insert(con, "steps", step)
    _insert(con, "scores", {"run_id": RUN_ID, "case_id": "T-1", "candidate": "mini", "repeat": 0,
                            "scorer": "deepeval.g_eval", "score": 0.9, "passed": True, "reason": XSS_REASON})
    metrics = [
        ("prod", None, "success_rate", 0.8333, 0.4365, 0.9699, 6), ("mini", None, "success_rate", 0.6, 0.2307, 0.8824, 5),
        ("prod", None, "escaped_error_rate", 0.1667, 0.0301, 0.5635, 6),
        ("mini", None, "escaped_error_rate", 0.2, 0.0362, 0.6245, 5),
        ("prod", None, "critical_error_rate", 0.0, 0.0, 0.3903, 6), ("mini", None, "critical_error_rate", 0.2, 0.0362, 0.6245, 5),
        ("prod", None, "cost_usd", 0.06, None, None, 6), ("mini", None, "cost_usd", 0.035, None, None, 6),
        ("prod", None, "cost_per_success_usd", 0.012, None, None, 6),
        ("mini", None, "cost_per_success_usd", 0.01167, None, None, 6),
        ("prod", None, "p95_latency_s", 2.0, None, None, 6), ("mini", None, "p95_latency_s", 3.5, None, None, 6),
        ("prod", "payments", "success_rate", 1.0, 0.3424, 1.0, 2), ("mini", "payments", "success_rate", 0.5, 0.0945, 0.9055, 2),
        ("prod", XSS_TAG, "success_rate", 0.0, 0.0, 0.7935, 1), ("mini", XSS_TAG, "success_rate", 1.0, 0.2065, 1.0, 1),
        ("mini", XSS_TAG, "cost_per_success_usd", float("inf"), None, None, 1),
    ]
    for cand, tag, metric, value, lo, hi, n in metrics:
        _insert(con, "metrics", {"run_id": RUN_ID, "candidate": cand, "tag": tag, "metric": metric,
                                 "value": value, "ci_low": lo, "ci_high": hi, "n": n})
    gates = [
        ("mini", "success_rate >= 0.95", False, 0.6, 0.95, "success_rate 0.6 < 0.95 (point estimate, 5 runs)"),
        ("mini", "regression(success_rate)", False, -0.2333, 0.02,
         "regression: success_rate 0.833 -> 0.6 (-0.233 > 0.02) " + XSS_REASON),
        ("mini", "critical_error_rate <= 0.5", True, 0.2, 0.5, "critical_error_rate 0.2 <= 0.5 (point estimate, 5 runs)"),
    ]
    for cand, gate, passed, value, threshold, detail in gates:
        _insert(con, "gates", {"run_id": RUN_ID, "candidate": cand, "gate": gate, "passed": passed,
                               "value": value, "threshold": threshold, "detail": detail, "decided_by": "point"})
    return con


_WORDS = ("refund charge order ticket customer duplicate invoice payment card account password reset shipping "
          "delayed package address update cancel subscription plan upgrade downgrade billing error twice "
          "please help urgent thanks hello issue resolved escalate manager store credit receipt").split()


def build_synthetic_run(path: Path, n_runs: int, *, seed: int = 7, run_id: str = "r-bench") -> duckdb.DuckDBPyConnection:
    """A store with ``n_runs`` runs over two candidates, realistic steps and outputs (for size and speed)."""
    rng = random.Random(seed)
    con = open_store(path)
    tags = [f"tag{i}" for i in range(10)]
    suite_config = {"name": "bench", "baseline": "prod",
                    "candidates": [{"name": "prod", "model": "replay:prod"}, {"name": "mini", "model": "openai/x"}]}
    _insert(con, "eval_runs", {"run_id": run_id, "suite": "bench", "suite_config": suite_config,
                               "started_at": datetime(2026, 1, 1), "status": "finished", "exit_code": 1})
    results, steps = [], []
    for i in range(n_runs // 2):
        case_tags = rng.sample(tags, 2)
        for cand in ("prod", "mini"):
            correct = rng.random() < (0.9 if cand == "prod" else 0.85)
            results.append((run_id, f"C-{i:05d}", cand, 0, "completed", None, correct, not correct, False, False,
                            0, 0, rng.uniform(0.001, 0.02), rng.lognormvariate(1, 0.5), 3, 2, 1200, 90, cand,
                            case_tags, [] if correct else ["issue_refund: amount_cents expected 7500, got 750"]))
            for s in range(5):
                kind = "model" if s % 2 == 0 else "tool"
                # Varied text, so compression in the report is measured on realistic entropy.
                words = " ".join(rng.choices(_WORDS, k=rng.randint(25, 60)))
                steps.append((run_id, f"C-{i:05d}", cand, 0, s, kind, None if kind == "model" else "get_ticket",
                              None if kind == "model" else json.dumps({"ticket_id": rng.randint(1, 10**6)}),
                              None if kind == "model" else json.dumps(
                                  {"status": rng.choice(["open", "pending"]), "customer": f"cus_{rng.getrandbits(40):x}",
                                   "body": words}),
                              words[: rng.randint(40, 160)] if kind == "model" else None,
                              "read" if kind == "tool" else None, round(rng.uniform(0.2, 3.0), 3)))
    # executemany is row by row in DuckDB (minutes for 50,000 steps); a DataFrame insert is one scan.
    import pandas as pd

    results_df = pd.DataFrame(results, columns=[
        "run_id", "case_id", "candidate", "repeat", "status", "failure_reason", "correct", "escaped_error",
        "critical_error", "infra_error", "policy_violations", "failed_writes", "cost_usd", "latency_s", "steps",
        "tool_calls", "prompt_tokens", "completion_tokens", "model", "tags", "reasons"])
    steps_df = pd.DataFrame(steps, columns=["run_id", "case_id", "candidate", "repeat", "step", "kind", "tool",
                                            "args", "output", "content", "effect", "latency_s"])
    con.register("results_df", results_df)
    con.register("steps_df", steps_df)
    con.execute(f"INSERT INTO results ({', '.join(results_df.columns)}) SELECT * FROM results_df")
    con.execute(f"INSERT INTO steps ({', '.join(steps_df.columns)}) SELECT * FROM steps_df")
    con.unregister("results_df")
    con.unregister("steps_df")
    for cand in ("prod", "mini"):
        _insert(con, "metrics", {"run_id": run_id, "candidate": cand, "tag": None, "metric": "success_rate",
                                 "value": 0.9, "ci_low": 0.89, "ci_high": 0.91, "n": n_runs // 2})
    return con


@pytest.fixture
def known(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    return build_known_run(tmp_path)


def test_load_reads_the_stored_run(known: duckdb.DuckDBPyConnection) -> None:
    data = load_report_data(known, RUN_ID)
    assert data.baseline == "prod" and data.candidates == ["prod", "mini"]
    assert not data.passed and {g.gate for g in data.failed_gates} == {"success_rate >= 0.95", "regression(success_rate)"}
    assert data.run_count() == 12
    t4 = next(c for c in data.cases if c.case_id == "T-4" and c.candidate == "mini")
    assert (t4.n, t4.correct, t4.verdict) == (2, 1, "fail")
    assert len(t4.runs[0].timeline) == 3 and t4.runs[0].timeline[0]["kind"] == "model"


def test_changed_cases_regressed_first_and_infra_is_not_a_regression(known: duckdb.DuckDBPyConnection) -> None:
    changed = load_report_data(known, RUN_ID).changed_cases()
    assert [(c.case_id, c.change) for c in changed] == [
        ("T-2", "regressed"), ("T-4", "regressed"), (XSS_CASE, "improved")]


def test_expected_actions_diff_shows_the_wrong_argument(known: duckdb.DuckDBPyConnection) -> None:
    data = load_report_data(known, RUN_ID)
    mini = next(c for c in data.cases if c.case_id == "T-2" and c.candidate == "mini")
    prod = next(c for c in data.cases if c.case_id == "T-2" and c.candidate == "prod")
    assert prod.diff is not None and prod.diff.clean
    assert mini.diff is not None and [line.op for line in mini.diff.lines] == ["changed"]
    bad = [a for a in mini.diff.lines[0].args if not a.same]
    assert [(a.key, a.expected, a.actual) for a in bad] == [("amount_cents", "7500", "750")]


def test_secrets_in_stored_options_are_scrubbed(known: duckdb.DuckDBPyConnection) -> None:
    data = load_report_data(known, RUN_ID)
    assert CANARY not in json.dumps(data.run, default=str)
    assert data.run["candidates"][1]["params"]["temperature"] == 0


def test_unknown_run_is_an_input_error(known: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(InputError, match="no evaluation with run_id 'nope'"):
        load_report_data(known, "nope")


def test_action_diff_pairs_by_tool_and_shows_missing_and_extra_writes() -> None:
    from agentctl.reports.actions import diff_actions

    expected = [{"tool": "issue_refund", "args": {"charge_id": {"$regex": "^ch_"}, "amount_cents": {"$approx": [7500, 1]}}},
                {"tool": "update_ticket", "args": {"ticket_id": 7, "priority": {"$in": ["high", "urgent"]}}}]
    timeline = [
        {"kind": "tool", "tool": "get_ticket", "effect": "read", "args": {"ticket_id": 7}},
        {"kind": "tool", "tool": "close_ticket", "effect": "write", "args": {"ticket_ids": [7, 8]}},
        {"kind": "tool", "tool": "issue_refund", "effect": "write", "args": {"amount_cents": 7500.0, "charge_id": "ch_9"}},
        {"kind": "tool", "tool": "update_ticket", "effect": "write", "policy": "forbid: x", "args": {"ticket_id": 7}},
        {"kind": "tool", "tool": "update_ticket", "effect": "write", "error": True, "args": {"ticket_id": 7}},
    ]
    diff = diff_actions(expected, timeline)
    assert [(line.op, line.tool) for line in diff.lines] == [
        ("same", "issue_refund"), ("missing", "update_ticket"), ("extra", "close_ticket")]
    assert not diff.clean
    assert diff.lines[2].args[0].actual == "[7, 8]" and diff.lines[2].args[0].expected is None


def test_importing_reports_stays_light() -> None:
    import subprocess
    import sys

    code = ("import sys, agentctl.reports; heavy = {'litellm', 'deepeval', 'ragas', 'pandas', 'scipy', 'jinja2'}"
            " & set(sys.modules); print(sorted(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
