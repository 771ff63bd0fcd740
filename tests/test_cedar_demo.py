"""The demo's refund-threshold and bulk-close rules, as YAML and as Cedar, give identical results."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agentctl.config.loader import load_suite
from agentctl.config.models import Suite
from agentctl.runner import run_suite
from agentctl.store.store import Store

REPO = Path(__file__).resolve().parents[1]


def _offline(path: Path) -> Suite:
    """The suite without its deepeval/ragas scorers (and their gate): verdicts come from policy and outcome."""
    suite = load_suite(path)
    fast = suite.model_copy(update={"scorers": [], "gates": [g for g in suite.gates
                                                            if not (g.metric or "").startswith("mean:")]})
    fast._source = suite.source
    return fast


def _run(path: Path, db: Path) -> dict[str, Any]:
    outcome = run_suite(_offline(path), db=db)
    with Store(db, read_only=True) as store:
        steps = store.con.execute(
            "SELECT case_id, candidate, step, policy IS NOT NULL FROM steps WHERE run_id=? AND kind='tool' "
            "ORDER BY ALL", [outcome.run_id]).fetchall()
    return {
        "exit": outcome.exit_code,
        "results": sorted((r.case_id, r.candidate, r.repeat, r.status, r.correct, r.escaped_error, r.critical_error,
                           r.policy_violations, r.failed_writes) for r in outcome.results),
        "metrics": sorted((m.candidate, m.tag or "", m.metric, m.value, m.ci_low, m.ci_high) for m in outcome.metrics),
        "gates": sorted((g.candidate, g.gate, g.passed, g.value) for g in outcome.gates),
        "refused_steps": steps,
    }


def test_yaml_and_cedar_rules_give_the_same_verdicts_on_the_demo(tmp_path: Path) -> None:
    yaml_rules = _run(REPO / "evalsuites" / "support-triage.yaml", tmp_path / "yaml.duckdb")
    cedar_rules = _run(REPO / "evalsuites" / "support-triage-cedar.yaml", tmp_path / "cedar.duckdb")
    assert cedar_rules == yaml_rules
    # Not vacuous: the demo's candidate makes refunds above the threshold and bulk closes.
    assert sum(r[7] for r in yaml_rules["results"]) > 0
    assert sum(r[6] for r in yaml_rules["results"] if r[7]) > 0
