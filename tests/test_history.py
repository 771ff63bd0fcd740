"""``eval history`` and the report's History section, on a store built by real ``eval run``s."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from agentctl.main import app
from agentctl.metrics.history import fisher_exact, load_history
from agentctl.reports import load_report_data, render_html, render_markdown
from support.suites import build_history_store


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list[str]]]:
    yield build_history_store(tmp_path_factory.mktemp("history"))


def _success(db: Path, run_id: str, candidate: str) -> tuple[float, int]:
    con = duckdb.connect(str(db), read_only=True)
    row = con.execute("SELECT value, n FROM metrics WHERE run_id=? AND candidate=? AND metric='success_rate' "
                      "AND tag IS NULL", [run_id, candidate]).fetchone()
    con.close()
    assert row is not None
    return float(row[0]), int(row[1])


def test_fisher_exact_matches_known_values() -> None:
    from scipy.stats import fisher_exact as scipy_fisher

    for k1, n1, k2, n2 in ((1, 4, 4, 4), (96, 120, 115, 120), (0, 10, 0, 10), (3, 7, 9, 30)):
        expected = scipy_fisher([[k1, n1 - k1], [k2, n2 - k2]]).pvalue
        assert fisher_exact(k1, n1, k2, n2) == pytest.approx(expected, rel=1e-9)


def test_history_lists_runs_oldest_first_and_marks_significant_changes(store: tuple[Path, list[str]]) -> None:
    db, (a, b, c) = store
    con = duckdb.connect(str(db), read_only=True)
    history = load_history(con)
    con.close()
    assert history.suite == "triage-history"
    assert [r["run_id"] for r in history.runs] == [a, b, c]
    assert history.candidates == ["prod", "candidate"]
    before, n = _success(db, a, "candidate")
    after, _ = _success(db, c, "candidate")
    prod, _ = _success(db, a, "prod")
    assert after == prod and after > before  # the candidate now replays prod's recordings
    series = history.series("candidate", "success_rate")
    assert [p.value for p in series if p] == [before, before, after]
    assert [p.significant for p in series if p] == [False, False, True]
    last = series[2]
    assert last is not None and last.delta == pytest.approx(after - before)
    assert last.p_value == pytest.approx(fisher_exact(round(after * n), n, round(before * n), n))
    assert not any(p.significant for p in history.series("prod", "success_rate") if p)
    assert {p.metric for p in history.points} == {"success_rate", "escaped_error_rate", "critical_error_rate",
                                                  "cost_per_success_usd", "p95_latency_s"}
    # Cost and latency are shown, never marked: the runs are not paired across evaluations.
    assert not any(p.significant for p in history.points if p.metric in ("cost_per_success_usd", "p95_latency_s"))


def test_history_command_table_and_json(store: tuple[Path, list[str]]) -> None:
    db, (a, b, c) = store
    runner = CliRunner()
    result = runner.invoke(app, ["eval", "history", "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["test"] == "fisher_exact" and data["alpha"] == 0.05
    assert [r["run_id"] for r in data["runs"]] == [a, b, c]
    cand = [r["candidates"]["candidate"]["success_rate"] for r in data["runs"]]
    assert [x["significant"] for x in cand] == [False, False, True]
    assert cand[0]["value"] == _success(db, a, "candidate")[0] and cand[0]["ci_low"] < cand[0]["value"]

    two = json.loads(runner.invoke(app, ["eval", "history", "--db", str(db), "--json", "--last", "2", "--candidate",
                                         "prod", "--metric", "policy_violation_rate"]).output)
    assert [r["run_id"] for r in two["runs"]] == [b, c] and two["metrics"] == ["policy_violation_rate"]
    assert all(list(r["candidates"]) == ["prod"] and list(r["candidates"]["prod"]) == ["policy_violation_rate"]
               for r in two["runs"])

    table = runner.invoke(app, ["eval", "history", "--db", str(db), "--suite", "triage-history"],
                          env={"COLUMNS": "250"})
    assert table.exit_code == 0
    assert [line.split("│")[1].strip() for line in table.output.splitlines()
            if line.startswith("│ ev-")] == [a, a, b, b, c, c]
    assert "▲" in table.output

    bad = runner.invoke(app, ["eval", "history", "--db", str(db), "--suite", "nope"])
    assert bad.exit_code == 2 and "no finished evaluation of suite 'nope'" in bad.output
    assert "suites: triage-history" in bad.output


def test_report_history_section_and_markdown_line(store: tuple[Path, list[str]]) -> None:
    db, (a, b, c) = store
    con = duckdb.connect(str(db), read_only=True)
    data = load_report_data(con, c)
    html = render_html(data)
    section = re.search(r'<section id="history">(.*?)</section>', html, re.S)
    assert section is not None
    assert section.group(1).count('<svg class="chart"') == 5
    assert section.group(1).count('class="trend"') == 10  # 5 metrics x 2 candidates
    assert 'class="significant"' in section.group(1)
    assert "https://" not in section.group(1) and "<script" not in section.group(1)
    before, after = _success(db, a, "candidate")[0], _success(db, c, "candidate")[0]
    prod = _success(db, a, "prod")[0]
    md = render_markdown(data)
    assert (f"success prod {prod * 100:.1f}% → {prod * 100:.1f}%, candidate {before * 100:.1f}% → "
            f"{after * 100:.1f}% over the last 3 runs") in md
    # The report of the first run has no history before it: no section, no empty chart, no line.
    first = load_report_data(con, a)
    con.close()
    first_html = render_html(first)
    assert 'id="history"' not in first_html and 'class="trend"' not in first_html
    assert 'href="#history"' not in first_html
    assert "over the last" not in render_markdown(first)


def test_history_of_run_b_ends_at_run_b(store: tuple[Path, list[str]]) -> None:
    db, (a, b, _c) = store
    con = duckdb.connect(str(db), read_only=True)
    data: Any = load_report_data(con, b)
    con.close()
    assert [r["run_id"] for r in data.history.runs] == [a, b]
