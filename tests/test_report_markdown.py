"""The Markdown summary: a golden file keeps it stable; hostile text stays inert.

Regenerate the golden file on purpose with ``AGENTCTL_UPDATE_GOLDEN=1 pytest tests/test_report_markdown.py``.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from agentctl.reports import append_step_summary, load_report_data, render_markdown
from agentctl.reports.markdown import md
from support.golden import golden_text
from support.reports import CANARY, RUN_ID, XSS_REASON, build_known_run

GOLDEN = Path(__file__).parent / "golden" / "report_summary.md"


@pytest.fixture(scope="module")
def summary(tmp_path_factory: pytest.TempPathFactory) -> str:
    con: duckdb.DuckDBPyConnection = build_known_run(tmp_path_factory.mktemp("known"))
    return render_markdown(load_report_data(con, RUN_ID), max_cases=10)


def test_summary_matches_golden_file(summary: str) -> None:
    assert summary == golden_text(GOLDEN, summary), "run with AGENTCTL_UPDATE_GOLDEN=1 if the change is meant"


def test_summary_has_verdict_gates_metrics_and_regressions_in_order(summary: str) -> None:
    heads = [line for line in summary.splitlines() if line.startswith("#")]
    assert heads == ["## ❌ agentctl: support-triage FAILED", "### Gates: 1 passed, 2 failed", "### Metrics",
                     "### Regressed cases: 2 (improved: 1)"]
    gate_rows = [line for line in summary.splitlines() if line.startswith("| ❌") or line.startswith("| ✅")]
    assert [r.startswith("| ❌") for r in gate_rows] == [True, True, False], "failed gates first"


def test_max_cases_limits_the_regressed_list(tmp_path: Path) -> None:
    data = load_report_data(build_known_run(tmp_path), RUN_ID)
    short = render_markdown(data, max_cases=1)
    assert "| T-2 | mini |" in short and "| T-4 | mini |" not in short and "and 1 more" in short


def test_untrusted_text_is_inert_in_tables() -> None:
    cell = md(XSS_REASON + " | col\nnext row")
    assert "<" not in cell and "](" not in cell and "\n" not in cell
    assert "\\|" in cell and cell.count("|") == cell.count("\\|")
    assert CANARY not in md(f"key {CANARY}")


def test_append_step_summary_only_when_github_sets_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    assert append_step_summary("# x") is None
    target = tmp_path / "summary.md"
    target.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(target))
    assert append_step_summary("## one") == target
    append_step_summary("## two\n")
    assert target.read_text() == "earlier step\n## one\n## two\n"
