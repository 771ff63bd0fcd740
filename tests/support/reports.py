"""Stores for the report tests, written through :class:`agentctl.store.Store` (the real write path).

``build_known_run`` is a small known run full of hostile strings; ``build_synthetic_run`` a big
synthetic one for tests/bench/bench_report.py.
"""

from __future__ import annotations

import json
import random
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from agentctl.core.results import RunResult, ScoreResult
from agentctl.core.trajectory import Step, ToolCall, Trajectory
from agentctl.core.values import GateResult, MetricValue
from agentctl.store.store import Store

RUN_ID = "r-known-0001"
SUITE = "support-triage"
XSS_CASE = "T-3<script>window.__xss=1</script>"
XSS_TAG = "<img src=x onerror=window.__xss=1>"
XSS_MODEL = "Done.</script><script>window.__xss=1;document.title='pwned'</script>"
XSS_TOOL = '<img src=x onerror="window.__xss=1;document.title=\'pwned\'"><a href="javascript:window.__xss=1">x</a>'
XSS_REASON = "[click me](javascript:window.__xss=1) <svg onload=window.__xss=1>"
CANARY = "sk-canary-0123456789abcdefghij"
PAYLOADS = (XSS_CASE, XSS_TAG, XSS_MODEL, XSS_TOOL, XSS_REASON)


def _result(case_id: str, cand: str, repeat: int, *, correct: bool, status: str = "completed",
            critical: bool = False, infra: bool = False, tags: list[str], reasons: list[str] | None = None,
            cost: float = 0.01, latency: float = 2.0, failure_reason: str | None = None,
            run_id: str = RUN_ID) -> RunResult:
    return RunResult(
        run_id=run_id, case_id=case_id, candidate=cand, repeat=repeat, status=status,
        failure_reason=failure_reason, correct=correct,
        escaped_error=status == "completed" and not correct and not infra, critical_error=critical,
        infra_error=infra, policy_violations=0, failed_writes=0, cost_usd=cost, latency_s=latency,
        steps=2, tool_calls=1, prompt_tokens=900, completion_tokens=60, model=cand,
        tags=tags, reasons=reasons or [],
    )


def _trajectory(result: RunResult, refund: int | None, text: str, output: str) -> Trajectory:
    steps = [
        Step(index=0, kind="model", prompt_tokens=800, completion_tokens=40, cost_usd=0.004, latency_s=1.1,
             tool_calls=[ToolCall(id="c1", name="get_ticket", raw_arguments='{"ticket_id": 1}',
                                  arguments={"ticket_id": 1})]),
        Step(index=1, kind="tool", tool="get_ticket", args={"ticket_id": 1}, output=output, effect="read"),
    ]
    if refund is not None:
        steps.append(Step(index=2, kind="tool", tool="issue_refund", effect="write", output='{"ok": true}',
                          args={"charge_id": "ch_2", "amount_cents": refund}))
    steps.append(Step(index=len(steps), kind="model", content=text, prompt_tokens=100, completion_tokens=20,
                      cost_usd=0.001, latency_s=0.9))
    return Trajectory(case_id=result.case_id, candidate=result.candidate, repeat=result.repeat,
                      model=result.model, steps=steps, status=result.status)  # type: ignore[arg-type]


def _known_results() -> list[RunResult]:
    return [
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


def build_known_run(tmp_path: Path, *, reasons: dict[str, list[str]] | None = None) -> duckdb.DuckDBPyConnection:
    """Two candidates (prod = baseline, mini), five cases, hostile strings, a failing gate.

    Written through ``Store`` as ``eval run`` writes; the returned connection is the store's.
    """
    dataset = tmp_path / "dataset"
    dataset.mkdir()
    expected = {"T-1": [], "T-2": [{"tool": "issue_refund", "args": {"charge_id": "ch_2", "amount_cents": 7500}}]}
    with (dataset / "cases.jsonl").open("w") as fh:
        for cid, actions in expected.items():
            fh.write(json.dumps({"id": cid, "input": "hi", "expected": {"actions": actions}}) + "\n")
    store = Store(tmp_path / "known.duckdb")
    suite_config = {
        "name": SUITE, "baseline": "prod",
        "candidates": [{"name": "prod", "model": "replay:prod-2026-05"},
                       {"name": "mini", "model": "openai/gpt-4o-mini", "system_prompt": "prompts/v4.md"}],
        "gates": [{"metric": "success_rate", "min": 0.95}, {"regression": "success_rate", "max_drop": 0.02}],
    }
    store.begin_run({
        "run_id": RUN_ID, "suite": SUITE, "suite_path": "evalsuites/support-triage.yaml",
        "suite_config": suite_config, "dataset_path": str(dataset), "dataset_hash": "d" * 64,
        "started_at": datetime(2026, 5, 14, 10, 0, 0), "agentctl_version": "0.1.0",
        "git_commit": "abc1234def5678",
        # a secret that slipped into the stored options: reports must scrub it
        "options": {"concurrency": 4, "api_key": CANARY},
        "candidates": [
            {"name": "prod", "model": "replay:prod-2026-05", "params": {}, "system_prompt_sha": "a" * 64},
            {"name": "mini", "model": "openai/gpt-4o-mini", "params": {"temperature": 0, "api_key": CANARY},
             "system_prompt_sha": "b" * 64}],
        "planned_runs": 12,
    })
    batch = []
    for result in _known_results():
        if reasons and result.candidate == "mini" and result.repeat == 0 and result.case_id in reasons:
            result.reasons = reasons[result.case_id]
        if result.case_id == "T-1" and result.candidate == "mini":
            result.scores["deepeval.g_eval"] = ScoreResult(scorer="deepeval.g_eval", score=0.9, passed=True,
                                                           reason=XSS_REASON)
        refund = None
        if result.case_id == "T-2":
            refund = 7500 if result.candidate == "prod" else 750
        text = XSS_MODEL if result.case_id == XSS_CASE else "I've refunded the duplicate charge."
        batch.append((result, _trajectory(result, refund, text, XSS_TOOL)))
    store.write_results(batch)
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
    store.replace_metrics(RUN_ID, [MetricValue(candidate=c, metric=m, value=v, ci_low=lo, ci_high=hi, n=n, tag=t)
                                   for c, t, m, v, lo, hi, n in metrics])
    gates = [
        ("mini", "success_rate >= 0.95", False, 0.6, 0.95, "success_rate 0.6 < 0.95 (point estimate, 5 runs)"),
        ("mini", "regression(success_rate)", False, -0.2333, 0.02,
         "regression: success_rate 0.833 -> 0.6 (-0.233 > 0.02) " + XSS_REASON),
        ("mini", "critical_error_rate <= 0.5", True, 0.2, 0.5, "critical_error_rate 0.2 <= 0.5 (point estimate, 5 runs)"),
    ]
    store.replace_gates(RUN_ID, [GateResult(candidate=c, gate=g, passed=p, value=v, threshold=t, detail=d)
                                 for c, g, p, v, t, d in gates])
    store.finish_run(RUN_ID, status="finished", exit_code=1)
    return store.con


_WORDS = ("refund charge order ticket customer duplicate invoice payment card account password reset shipping "
          "delayed package address update cancel subscription plan upgrade downgrade billing error twice "
          "please help urgent thanks hello issue resolved escalate manager store credit receipt").split()


def build_synthetic_run(path: Path, n_runs: int, *, seed: int = 7, run_id: str = "r-bench") -> duckdb.DuckDBPyConnection:
    """A store with ``n_runs`` runs over two candidates, realistic steps and outputs (for size and speed)."""
    rng = random.Random(seed)
    store = Store(path)
    tags = [f"tag{i}" for i in range(10)]
    suite_config = {"name": "bench", "baseline": "prod",
                    "candidates": [{"name": "prod", "model": "replay:prod"}, {"name": "mini", "model": "openai/x"}]}
    store.begin_run({"run_id": run_id, "suite": "bench", "suite_config": suite_config,
                     "started_at": datetime(2026, 1, 1)})
    batch: list[tuple[RunResult, Trajectory]] = []
    for i in range(n_runs // 2):
        case_tags = rng.sample(tags, 2)
        for cand in ("prod", "mini"):
            correct = rng.random() < (0.9 if cand == "prod" else 0.85)
            result = RunResult(
                run_id=run_id, case_id=f"C-{i:05d}", candidate=cand, repeat=0, status="completed",
                correct=correct, escaped_error=not correct, critical_error=False, infra_error=False,
                policy_violations=0, cost_usd=rng.uniform(0.001, 0.02), latency_s=rng.lognormvariate(1, 0.5),
                steps=3, tool_calls=2, prompt_tokens=1200, completion_tokens=90, model=cand, tags=case_tags,
                reasons=[] if correct else ["issue_refund: amount_cents expected 7500, got 750"])
            steps = []
            for s in range(5):
                # Varied text, so compression in the report is measured on realistic entropy.
                words = " ".join(rng.choices(_WORDS, k=rng.randint(25, 60)))
                if s % 2 == 0:
                    steps.append(Step(index=s, kind="model", content=words[: rng.randint(40, 160)],
                                      latency_s=round(rng.uniform(0.2, 3.0), 3)))
                else:
                    output: dict[str, Any] = {"status": rng.choice(["open", "pending"]),
                                              "customer": f"cus_{rng.getrandbits(40):x}", "body": words}
                    steps.append(Step(index=s, kind="tool", tool="get_ticket", effect="read",
                                      args={"ticket_id": rng.randint(1, 10**6)}, output=json.dumps(output),
                                      latency_s=round(rng.uniform(0.2, 3.0), 3)))
            batch.append((result, Trajectory(case_id=result.case_id, candidate=cand, repeat=0, model=cand,
                                             steps=steps, status="completed")))
    _bulk_write(store, batch)
    store.replace_metrics(run_id, [MetricValue(candidate=cand, metric="success_rate", value=0.9, ci_low=0.89,
                                               ci_high=0.91, n=n_runs // 2) for cand in ("prod", "mini")])
    store.finish_run(run_id, status="finished", exit_code=1)
    return store.con


def _bulk_write(store: Store, batch: list[tuple[RunResult, Trajectory]]) -> None:
    """The rows ``Store.write_results`` would write, loaded in one scan per table.

    ``write_results`` first deletes each run's old rows key by key (for resumes), which costs
    about 10 ms per run in DuckDB: minutes for a 10,000-run benchmark store. The rows are the
    store's own (``result_row``, ``step_rows``), so the file is what ``eval run`` would write.
    """
    import pandas as pd

    from agentctl.store.rows import now as _now
    from agentctl.store.rows import result_row as _result_row
    from agentctl.store.rows import step_rows as _step_rows

    finished = _now()
    results = pd.DataFrame([_result_row(r, finished) for r, _ in batch])
    steps = pd.DataFrame([row for r, t in batch for row in _step_rows(r, t)])
    for table, frame in (("results", results), ("steps", steps)):
        store.con.register("frame", frame)
        store.con.execute(f"INSERT INTO {table} ({', '.join(frame.columns)}) SELECT * FROM frame")
        store.con.unregister("frame")
