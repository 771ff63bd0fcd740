"""Command-line helpers for tests: invoke the app, write the demo suite, read the latest run id."""

from __future__ import annotations

from pathlib import Path

import duckdb
import yaml
from typer.testing import CliRunner

from agentctl.main import app

ROOT = Path(__file__).resolve().parents[2]
DEMO_SUITE = ROOT / "evalsuites" / "support-triage.yaml"
DEMO_DATA = ROOT / "datasets" / "support-triage"


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.output


def write_demo_suite(tmp_path: Path) -> Path:
    """The demo suite without scorers (fast), pointing at the demo dataset."""
    suite = yaml.safe_load(DEMO_SUITE.read_text())
    suite["dataset"] = str(DEMO_DATA)
    suite["agent"]["system_prompt"] = str(DEMO_DATA / "prompts" / "v3.md")
    for cand in suite["candidates"]:
        cand["system_prompt"] = str(DEMO_DATA / "prompts" / "v4.md")
    suite.pop("scorers", None)
    suite["gates"] = [g for g in suite["gates"] if not str(g.get("metric", "")).startswith(("mean:", "score:"))]
    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump(suite, sort_keys=False))
    return path


def latest_run_id(db: Path) -> str:
    with duckdb.connect(str(db), read_only=True) as con:
        row = con.execute("SELECT run_id FROM eval_runs ORDER BY started_at DESC LIMIT 1").fetchone()
        assert row is not None
        return str(row[0])
