"""The metrics table of ``eval run``: spend that ``cost_usd`` leaves out gets a row once it is spent."""

from __future__ import annotations

from rich.console import Console

from agentctl._console import metrics_table
from agentctl.core.values import MetricValue


def _rows(metrics: list[MetricValue], candidates: list[str]) -> dict[str, list[str]]:
    table = metrics_table(metrics, candidates)
    Console(width=200, record=True).print(table)  # renders: the table is well formed
    names = [str(c) for c in table.columns[0].cells]
    values = [[str(c) for c in col.cells] for col in table.columns[1:]]
    return {name: [col[i] for col in values] for i, name in enumerate(names)}


def _metrics(user: float, judge: float) -> list[MetricValue]:
    out = []
    for cand, scale in (("base", 1.0), ("cand", 2.0)):
        out += [MetricValue(cand, "success_rate", 0.9, 0.8, 0.95, 10),
                MetricValue(cand, "cost_usd", 0.5 * scale, n=10),
                MetricValue(cand, "user_cost_usd", user * scale if cand == "cand" else 0.0, n=10),
                MetricValue(cand, "judge_cost_usd", judge, n=10)]
    return out


def test_simulated_user_and_judge_spend_are_shown_when_spent() -> None:
    rows = _rows(_metrics(user=0.25, judge=0.01), ["base", "cand"])
    assert list(rows)[:2] == ["success_rate", "cost_usd"]
    assert "user_cost_usd" in rows and "judge_cost_usd" in rows
    assert rows["user_cost_usd"][0] != rows["user_cost_usd"][1]  # base spent nothing, cand did


def test_no_row_for_spend_nobody_made() -> None:
    rows = _rows(_metrics(user=0.0, judge=0.0), ["base", "cand"])
    assert "user_cost_usd" not in rows and "judge_cost_usd" not in rows
    assert "cost_usd" in rows
