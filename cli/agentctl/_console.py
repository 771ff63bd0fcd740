"""The only module that builds rich output (imported lazily by commands)."""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from agentctl.core.errors import Problem
    from agentctl.core.results import RunResult
    from agentctl.core.values import GateResult, MetricValue
    from agentctl.plan import Plan
    from agentctl.runner import EvalOutcome

console = Console()
err_console = Console(stderr=True)
for _c in (console, err_console):
    # rich pins the width when COLUMNS is set at construction; read it at each print instead,
    # so a library caller (or a test) that sets COLUMNS later is obeyed, whatever imported us first.
    _c._width = None

SUMMARY_METRICS = (
    "success_rate", "escaped_error_rate", "critical_error_rate", "policy_violation_rate",
    "escalation_rate", "completion_rate", "infra_error_rate", "divergence_rate", "cost_usd", "cost_per_success_usd",
    "p50_latency_s", "p95_latency_s", "mean_steps", "mean_tool_calls",
)
SPEND_APART = ("judge_cost_usd", "user_cost_usd")
"""Spend that ``cost_usd`` leaves out (LLM judges, simulated users): a row when any candidate spent some."""


def literal(value: Any) -> str:
    """User text (case ids, candidate and gate names, reasons, notes) made safe to print: rich
    markup in it is shown as written, never interpreted. Every such value goes through here."""
    return escape(str(value))


def fmt_value(metric: str, value: float | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and math.isinf(value):
        return "∞"
    if metric.endswith("_usd"):
        return f"${value:,.4f}" if abs(value) < 1 else f"${value:,.2f}"
    if metric.endswith("_s"):
        return f"{value:.2f}s"
    if metric in ("runs",):
        return f"{value:.0f}"
    return f"{value:.3f}"


def fmt_metric(m: MetricValue) -> str:
    text = fmt_value(m.metric, m.value)
    if m.ci_low is not None and m.ci_high is not None:
        text += f" [{m.ci_low:.3f}, {m.ci_high:.3f}]"
    return text


def print_problems(problems: Iterable[Problem], *, stream: Console | None = None) -> None:
    out = stream or err_console
    for p in problems:
        style = "yellow" if p.severity == "warning" else "red"
        out.print(Text(str(p), style=style), soft_wrap=True)


def print_notes(notes: Iterable[str]) -> None:
    """Notes as ``note: ...``; a note that is a warning already says ``warning:`` and keeps it alone."""
    for note in notes:
        if note.startswith("warning: "):
            err_console.print(Text.assemble(("warning: ", "yellow"), note.removeprefix("warning: ")), soft_wrap=True)
        else:
            err_console.print(Text.assemble(("note: ", "yellow"), note), soft_wrap=True)


def print_error(message: str) -> None:
    err_console.print(Text(f"error: {message}", style="bold red"), soft_wrap=True)


class RichProgress:
    """Progress bar while runs execute (agentctl.runner.Progress protocol)."""

    def __init__(self) -> None:
        self._progress: Progress | None = None
        self._task: Any = None
        self._failed = 0
        self._status: Any = None
        # On stderr when it is a terminal; elsewhere (CI logs) only when asked.
        self.enabled = err_console.is_terminal or os.environ.get("AGENTCTL_PROGRESS", "") not in ("", "0")

    def phase(self, name: str | None) -> None:
        """A spinner naming the phase that runs now (loading, planning, metrics, reports); None ends it."""
        if not self.enabled:
            return
        if name is None:
            if self._status is not None:
                self._status.stop()
                self._status = None
            return
        if self._status is None:
            self._status = err_console.status(name + " …")
            self._status.start()
        else:
            self._status.update(name + " …")

    def start(self, total: int, done: int) -> None:
        self.phase(None)
        self._progress = Progress(
            TextColumn("[bold]running[/]"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"), TimeElapsedColumn(),
            console=err_console, transient=True, disable=not self.enabled,
        )
        self._progress.start()
        self._task = self._progress.add_task("runs", total=total, completed=done, detail="")

    def advance(self, result: RunResult) -> None:
        if self._progress is None:
            return
        if not result.correct:
            self._failed += 1
        self._progress.update(self._task, advance=1, detail=f"[red]{self._failed} incorrect[/]")

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def print_plan(plan: Plan, run_id: str) -> None:
    cands = ", ".join(f"{c.name} ({c.model})" for c in plan.candidates)
    err_console.print(f"[bold]{run_id}[/]: {len(plan.runs)} runs of {len(plan.cases)} cases × {literal(cands)}")


def metrics_table(metrics: list[MetricValue], candidates: list[str], title: str = "Metrics (95% intervals)",
                  names: Iterable[str] = SUMMARY_METRICS, tag: str | None = None) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("metric", no_wrap=True)
    for c in candidates:
        table.add_column(literal(c), justify="right")
    by_key = {(m.candidate, m.metric): m for m in metrics if m.tag == tag}
    extra = sorted({m.metric for m in metrics if m.tag == tag and (m.metric.startswith(("pass^", "score:", "mean:")))})
    spent = [n for n in SPEND_APART if n not in names and any(
        m.value for m in metrics if m.tag == tag and m.metric == n and m.candidate in candidates)]
    for name in [*names, *spent, *extra]:
        cells = [fmt_metric(by_key[(c, name)]) if (c, name) in by_key else "–" for c in candidates]
        if all(x == "–" for x in cells):
            continue
        table.add_row(name, *cells)
    return table


def gates_table(gates: list[GateResult]) -> Table:
    table = Table(title="Gates", title_justify="left")
    for col in ("", "candidate", "gate", "detail"):
        table.add_column(col)
    for g in gates:
        mark = Text("PASS", style="green") if g.passed else Text("FAIL", style="bold red")
        table.add_row(mark, literal(g.candidate), literal(g.gate), literal(g.detail))
    return table


def print_outcome(outcome: EvalOutcome) -> None:
    if outcome.status == "dry_run":
        print_dry_run(outcome)
        return
    order = [c.name for c in outcome.suite.candidates]
    candidates = sorted({r.candidate for r in outcome.results}, key=lambda c: (order.index(c) if c in order else 99, c))
    if outcome.metrics:
        console.print(metrics_table(outcome.metrics, candidates))
    if outcome.gates:
        console.print(gates_table(outcome.gates))
    for c in outcome.comparisons:
        print_comparison_summary(c)
    print_notes(outcome.notes)
    if outcome.message:
        err_console.print(Text(outcome.message, style="bold yellow"), soft_wrap=True)
    unverifiable = [r for r in outcome.results if r.unverifiable]
    if unverifiable:
        shown = ", ".join(f"{r.case_id} ({r.candidate}, {'correct' if r.correct else 'incorrect'})"
                          for r in unverifiable[:5]) + (" ..." if len(unverifiable) > 5 else "")
        console.print(Text(f"unverifiable: {len(unverifiable)} run(s) made a tool call nothing could answer; "
                           f"their verdicts are not verified: {shown}", style="yellow"), soft_wrap=True)
    failed = [g for g in outcome.gates if not g.passed]
    if outcome.status == "interrupted":
        verdict = Text("INTERRUPTED", style="bold yellow")
    elif outcome.exit_code == 3:
        verdict = Text("COULD NOT RUN", style="bold red")
    elif outcome.exit_code == 2:
        verdict = Text("NOTHING TO JUDGE: a gate applies to no candidate with runs", style="bold red")
    elif failed:
        verdict = Text(f"FAIL: {len(failed)} of {len(outcome.gates)} gates failed", style="bold red")
    else:
        verdict = Text(f"PASS: {len(outcome.gates)} gates passed", style="bold green")
    console.print(Text.assemble("verdict: ", verdict, f"  run {outcome.run_id}  exit {outcome.exit_code}"))


def print_dry_run(outcome: EvalOutcome) -> None:
    plan = outcome.plan
    assert plan is not None
    table = Table(title="Plan (dry run: nothing is called)", title_justify="left")
    for col in ("candidate", "model", "runs", "model calls (est.)", "cost (est.)"):
        table.add_column(col)
    for cand in plan.candidates:
        runs = [r for r in plan.runs if r.candidate.name == cand.name]
        calls, cost = _estimate(outcome, runs)
        table.add_row(literal(cand.name), literal(cand.model), str(len(runs)), str(calls), fmt_value("cost_usd", cost))
    console.print(table)
    print_notes(outcome.notes)


def _estimate(outcome: EvalOutcome, runs: list[Any]) -> tuple[int, float]:
    est = outcome.estimates
    calls = round(sum(est.get(("calls",) + r.key, 0) for r in runs))
    cost = sum(est.get(("cost",) + r.key, 0.0) for r in runs)
    return calls, cost


def print_runs(rows: list[dict[str, Any]]) -> None:
    table = Table(title="Evaluation runs", title_justify="left")
    for col in ("run id", "suite", "started", "status", "exit", "runs"):
        table.add_column(col, no_wrap=col in ("run id", "started"))
    for r in rows:
        table.add_row(literal(r["run_id"]), literal(r["suite"]), str(r["started_at"])[:19], r["status"],
                      "" if r["exit_code"] is None else str(r["exit_code"]), str(r["runs"]))
    console.print(table)


def print_run(row: dict[str, Any], results: list[RunResult], metrics: list[MetricValue],
              gates: list[GateResult]) -> None:
    console.print(f"[bold]{literal(row['run_id'])}[/]  suite [bold]{literal(row['suite'])}[/]  status "
                  f"{row['status']}  exit {row['exit_code']}  started {str(row['started_at'])[:19]}")
    if row.get("message"):
        console.print(Text(str(row["message"]), style="yellow"))
    order = [c.get("name") for c in (row.get("suite_config") or {}).get("candidates", [])]
    candidates = sorted({r.candidate for r in results}, key=lambda c: (order.index(c) if c in order else 99, c))
    if metrics:
        console.print(metrics_table(metrics, candidates))
    if gates:
        console.print(gates_table(gates))
    wrong = [r for r in results if not r.correct][:20]
    if wrong:
        table = Table(title=f"Incorrect runs (first {len(wrong)})", title_justify="left")
        for col in ("case", "candidate", "rep", "status", "reasons"):
            table.add_column(col)
        for r in wrong:
            table.add_row(literal(r.case_id), literal(r.candidate), str(r.repeat),
                          r.status + (" (escaped)" if r.escaped_error else "")
                          + (" (unverifiable)" if r.unverifiable else ""), literal(_cut("; ".join(r.reasons), 200)))
        console.print(table)


def _cut(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, the cut marked with an ellipsis."""
    return text if len(text) <= width else text[: width - 1] + "…"


def write_json(data: Any) -> None:
    import json

    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def print_comparison(c: Any) -> None:
    """A baseline-vs-candidate comparison (agentctl.metrics.compare.Comparison)."""
    where = (f" (runs {c.baseline_run_id} → {c.candidate_run_id})" if c.baseline_run_id else "")
    console.print(f"\n[bold]{literal(c.candidate)}[/] vs baseline [bold]{literal(c.baseline)}[/]{where}: "
                  f"{c.pairs} paired runs on {c.cases} cases")
    dropped = c.dropped_cases_baseline + c.dropped_cases_candidate
    if dropped:
        console.print(f"[yellow]{c.dropped_cases_baseline} case(s) only the baseline ran and "
                      f"{c.dropped_cases_candidate} only the candidate ran were left out[/]")
    tests = {"mcnemar_exact": "McNemar", "bootstrap": "bootstrap", "point": ""}
    rows = []
    for name, d in c.metrics.items():
        if d.baseline is None and d.candidate is None:
            continue
        change = "–" if d.delta is None else f"{d.delta:+.3f}"
        style = "red" if d.worse and d.significant else ("green" if (not d.worse and d.significant) else "")
        ci = "–" if d.ci_low is None else f"[{d.ci_low:+.2f},{d.ci_high:+.2f}]"
        test = tests.get(d.test, d.test) + (f" {d.regressed}↓ {d.improved}↑" if d.regressed is not None else "")
        p = "–" if d.p_value is None else ("<0.001" if d.p_value < 0.001 else f"{d.p_value:.2g}")
        rows.append((name, fmt_value(name, d.baseline), fmt_value(name, d.candidate), change, style, ci, test, p))
    if console.width < 110:
        # A CI log is often 80 columns: one line per metric, nothing wraps, a cut is marked "…".
        console.print("Paired differences: change [95% bootstrap interval], p (McNemar for rates,\n"
                      "bootstrap otherwise), cases regressed ↓ and improved ↑:")
        for name, base, cand, change, style, ci, test, p in rows:
            counts = test.split(" ", 1)[1].replace(" ", "") if " " in test else ""
            short_ci = "" if ci == "–" else ci.replace(".000", ".0")
            line = Text(f"{name:<21} {base:>7} → {cand:<7} ")
            line.append(f"{change:>7}", style=style)
            line.append(f" {short_ci:<16}" + (f" p{'=' if p[0] != '<' else ''}{p}" if p != "–" else "")
                        + (f" {counts}" if counts else ""))
            line.truncate(console.width - 1, overflow="ellipsis")
            console.print(line, no_wrap=True, overflow="ellipsis")
        table = None
    else:
        table = Table(title="Paired differences (95% bootstrap interval of the change)", title_justify="left")
        for col in ("metric", "baseline", "candidate", "change", "95% CI", "test", "p"):
            table.add_column(col, justify="right" if col != "metric" else "left", no_wrap=True, overflow="ellipsis")
        for name, base, cand, change, style, ci, test, p in rows:
            table.add_row(name, base, cand, Text(change, style=style), ci, test, p)
    if table is not None:
        console.print(table)
    if c.significantly_worse_tags:
        console.print(f"[bold red]significantly worse on tags:[/] {literal(', '.join(c.significantly_worse_tags))}")
    for title, cases, style in (("Regressed", c.regressed, "red"), ("Improved", c.improved, "green"),
                                ("Still wrong", c.still_wrong, "yellow")):
        if not cases:
            continue
        t = Table(title=f"{title} ({len(cases)})", title_justify="left", title_style=style)
        for col in ("case", "tags", "reasons"):
            t.add_column(col)
        for ch in cases[:25]:
            t.add_row(literal(ch.case_id), literal(", ".join(ch.tags)), literal(_cut("; ".join(ch.reasons), 160)))
        if len(cases) > 25:
            t.add_row(f"... {len(cases) - 25} more", "", "")
        console.print(t)
    flaky = {k: v for k, v in (c.flaky or {}).items() if v}
    for side, cases in flaky.items():
        name = c.baseline if side == "baseline" else c.candidate if side == "candidate" else side
        console.print(f"flaky on {literal(name)}: {literal(', '.join(cases[:20]))}" + (" ..." if len(cases) > 20 else ""))


def print_comparison_summary(c: Any) -> None:
    """Two lines per candidate: where it is significantly worse, and the first regressed cases."""
    d = c.metrics.get("success_rate")
    overall = ""
    if d is not None and d.delta is not None:
        sig = "significant" if d.significant else "not significant"
        overall = f"success {d.baseline:.3f} → {d.candidate:.3f} ({d.delta:+.3f}, {sig}, p={d.p_value:.2g})" \
            if d.p_value is not None else f"success {d.delta:+.3f}"
    console.print(f"[bold]{literal(c.candidate)}[/] vs [bold]{literal(c.baseline)}[/]: {overall}; "
                  f"{len(c.regressed)} regressed, {len(c.improved)} improved, {len(c.still_wrong)} still wrong")
    if c.significantly_worse_tags:
        console.print(f"  [bold red]significantly worse on tags:[/] {literal(', '.join(c.significantly_worse_tags))}")
    if c.regressed:
        first = ", ".join(ch.case_id for ch in c.regressed[:8])
        more = f" (+{len(c.regressed) - 8} more)" if len(c.regressed) > 8 else ""
        console.print(f"  regressed: {literal(first)}{more}  (agentctl eval compare for details)")
    for side, cases in (c.flaky or {}).items():
        if cases:
            more = f" (+{len(cases) - 8} more)" if len(cases) > 8 else ""
            name = c.baseline if side == "baseline" else c.candidate if side == "candidate" else side
            console.print(f"  flaky on {literal(name)} (right in some repeats, wrong in others): "
                          f"{len(cases)} cases: {literal(', '.join(cases[:8]))}{more}")


def print_dataset_stats(s: Any) -> None:
    """``agentctl dataset stats`` (agentctl.datasets.stats.DatasetStats)."""
    con = console
    con.print(f"[bold]{literal(s.path)}[/]: {s.cases} cases ({s.cases_without_runs} without recordings), {s.runs} runs, "
              f"{s.pending_review} pending review ({s.pending_review_share:.0%})")
    labels = Table("label", "runs", "cases", "writes/run", "max writes", "replay cost", title="Recordings")
    for name, lab in s.labels.items():
        note = f" ({lab.estimated_runs} estimated)" if lab.estimated_runs else ""
        note += f" ({lab.unpriced_runs} unpriced)" if lab.unpriced_runs else ""
        labels.add_row(literal(name), str(lab.runs), str(lab.cases), f"{lab.write_calls_mean:.2f}", str(lab.write_calls_max),
                       f"${lab.cost_usd:,.4f}{note}")
    con.print(labels)
    tools = Table("tool", "effect", "calls", title="Tools")
    for name, info in s.tools.items():
        tools.add_row(literal(name), str(info["effect"]), str(info["calls"]))
    con.print(tools)
    if s.tags:
        con.print("tags: " + literal(", ".join(f"{t} ({n})" for t, n in s.tags.items())))
    if s.invalid_calls:
        con.print(f"[yellow]{s.runs_with_invalid_calls} recording(s) with invalid tool arguments:[/]")
        for c in s.invalid_calls[:20]:
            con.print(f"  runs.jsonl:{c.line}: run {literal(c.run_id)}: {literal(c.tool)}: {literal(c.reason)}", soft_wrap=True)
        if len(s.invalid_calls) > 20:
            con.print(f"  ... and {len(s.invalid_calls) - 20} more (--json lists all)")
    con.print(f"estimated cost of the recordings: ${s.replay_cost_usd:,.4f} (recorded cost, else tokens at list "
              "price; replay itself calls no model)", soft_wrap=True)


def print_exported(tables: list[Any]) -> None:
    """``eval export``: the files written, with rows and bytes."""
    table = Table(title="Exported tables")
    for col in ("table", "rows", "bytes", "file"):
        table.add_column(col, justify="right" if col in ("rows", "bytes") else "left")
    for t in tables:
        table.add_row(t.table, str(t.rows), f"{t.bytes:,}", str(t.path))
    console.print(table)
    console.print(f"{sum(t.bytes for t in tables):,} bytes in {len(tables)} files")


def print_history(history: Any) -> None:
    """``eval history``: one row per run and candidate, oldest first; ▲/▼ marks a significant change."""
    table = Table(title=f"History of {history.suite} (95% intervals; ▲/▼ significant change, "
                        "Fisher's exact p < 0.05)")
    for col in ("run", "started", "candidate", *history.metrics):
        table.add_column(col)
    for run in history.runs:
        for cand in history.candidates:
            points = {p.metric: p for p in history.points if p.run_id == run["run_id"] and p.candidate == cand}
            if not points:
                continue
            cells = []
            for metric in history.metrics:
                p = points.get(metric)
                if p is None:
                    cells.append("")
                    continue
                text = fmt_value(metric, p.value)
                if p.ci_low is not None and p.ci_high is not None:
                    text += f" [{fmt_value(metric, p.ci_low)}, {fmt_value(metric, p.ci_high)}]"
                if p.significant and p.delta is not None:
                    text += " ▲" if p.delta > 0 else " ▼"
                cells.append(text)
            table.add_row(run["run_id"], str(run["started_at"])[:19], cand, *cells)
    console.print(table)
