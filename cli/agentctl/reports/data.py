"""Everything a report shows, read from the results store alone.

``load_report_data`` turns the DuckDB tables of one evaluation into :class:`ReportData`,
so ``eval report RUN`` works on any stored run, long after the suite and its process are
gone. Every renderer (HTML, Markdown, JUnit, JSON) reads only this.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from agentctl.core.errors import InputError
from agentctl.core.results import RunResult, ScoreResult
from agentctl.core.values import GateResult, MetricValue
from agentctl.reports.actions import ActionDiff, diff_actions
from agentctl.reports.redact import scrub_mapping

if TYPE_CHECKING:
    import duckdb

    from agentctl.metrics.history import History
    from agentctl.store.store import StoreHandle


@dataclass
class RunRow(RunResult):
    """A stored run (a row of the ``results`` table, its scores from ``scores``) and its steps."""

    timeline: list[dict[str, Any]] = field(default_factory=list)
    """Steps in order, as dicts of the ``steps`` table's non-null columns (only the runs a
    report shows in detail have them: see :data:`MAX_TIMELINE_RUNS`)."""
    user_turns: int = 0
    """Messages of the (simulated or recorded) user stored as steps: a conversation's turns
    (counted in the store for every run, timeline or not)."""


class CaseTally(NamedTuple):
    """A case's repeats counted (see :meth:`CaseOutcome.tally`)."""

    n: int
    correct: int
    escaped: int
    critical: int
    infra: int
    unverifiable: int
    verdict: str


@dataclass
class CaseOutcome:
    """A case for one candidate, its repeats folded: what JUnit and the case list show."""

    case_id: str
    candidate: str
    tags: list[str]
    runs: list[RunRow]
    change: str | None = None
    """``regressed`` | ``improved`` against the baseline, else ``None``."""
    diff: ActionDiff | None = None
    """Expected write actions against those of the first incorrect (else first) repeat."""

    def tally(self) -> CaseTally:
        """Counts and verdict in one pass over the repeats (renderers of 100,000 cases call this once)."""
        correct = escaped = critical = infra = unverifiable = 0
        wrong = False
        for r in self.runs:
            correct += r.correct
            escaped += r.escaped_error
            critical += r.critical_error
            infra += r.infra_error
            unverifiable += r.unverifiable
            wrong = wrong or (not r.correct and not r.infra_error)
        # One word for filters, the worst repeat winning.
        verdict = ("critical" if critical else "escaped" if escaped else "fail" if wrong
                   else "infra" if infra else "pass")
        return CaseTally(len(self.runs), correct, escaped, critical, infra, unverifiable, verdict)

    @property
    def n(self) -> int:
        return len(self.runs)

    @property
    def correct(self) -> int:
        return self.tally().correct

    @property
    def escaped(self) -> int:
        return self.tally().escaped

    @property
    def critical(self) -> int:
        return self.tally().critical

    @property
    def infra(self) -> int:
        return self.tally().infra

    @property
    def unverifiable(self) -> int:
        """Repeats with a tool call nothing could answer (their verdict is not verified)."""
        return self.tally().unverifiable

    @property
    def all_correct(self) -> bool:
        """Correct on every repeat that was not an infra error (and at least one was not)."""
        decided = [r for r in self.runs if not r.infra_error]
        return bool(decided) and all(r.correct for r in decided)

    @property
    def decided(self) -> bool:
        """Some repeat was not an infra error, so the case says something about the model."""
        return any(not r.infra_error for r in self.runs)

    @property
    def verdict(self) -> str:
        """One word for filters: critical | escaped | infra | fail | pass (worst repeat wins)."""
        return self.tally().verdict

    @property
    def reasons(self) -> list[str]:
        """Reasons of every repeat, each once, in order."""
        return list(dict.fromkeys(reason for r in self.runs for reason in r.reasons))


@dataclass
class ReportData:
    """One stored evaluation, ready to render."""

    run: dict[str, Any]
    """The ``eval_runs`` row; ``options`` and ``candidates`` parsed, secrets removed."""
    suite_config: dict[str, Any]
    baseline: str | None
    candidates: list[str]
    """Baseline first, then in the suite's order."""
    metrics: list[MetricValue]
    gates: list[GateResult]
    cases: list[CaseOutcome]
    """Sorted by case id, then candidate order."""
    comparisons: list[dict[str, Any]] = field(default_factory=list)
    """Rows of the ``comparisons`` table for this run, when that table exists."""
    history: History | None = None
    """The suite's last runs in this store up to this one (:mod:`agentctl.metrics.history`)."""

    @property
    def suite(self) -> str:
        return str(self.run.get("suite") or "suite")

    @property
    def run_id(self) -> str:
        return str(self.run["run_id"])

    @property
    def passed(self) -> bool:
        """Every gate passed and the run finished (or was never gated and finished)."""
        code = self.run.get("exit_code")
        if code is not None:
            return int(code) == 0
        return all(g.passed for g in self.gates)

    @property
    def failed_gates(self) -> list[GateResult]:
        return [g for g in self.gates if not g.passed]

    def metric(self, candidate: str, metric: str, tag: str | None = None) -> MetricValue | None:
        for m in self.metrics:
            if m.candidate == candidate and m.metric == metric and m.tag == tag:
                return m
        return None

    def changed_cases(self) -> list[CaseOutcome]:
        """Cases whose outcome changed against the baseline, regressed first, worst first."""
        changed = [c for c in self.cases if c.change is not None]
        return sorted(
            changed,
            key=lambda c: (c.change != "regressed", -c.critical, -c.escaped, c.correct / max(c.n, 1), c.case_id),
        )

    def run_count(self) -> int:
        return sum(c.n for c in self.cases)


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cur = con.execute(sql, params)
    names = [d[0] for d in cur.description or []]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    found = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
    ).fetchone()
    return bool(found and found[0])


def _json(value: Any, default: Any) -> Any:
    if value is None:
        return default
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return default
    return value


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def load_report_data(store: StoreHandle, run_id: str, *, details: bool = True) -> ReportData:
    """Read one evaluation from the results store (a :class:`Store` or a path); ``InputError``
    when the run is not there.

    ``details=False`` leaves out what only the HTML page shows (runs' step timelines, each case's
    diff of write actions): the JSON, Markdown and JUnit reports do not need them, and at 2,000
    runs they were most of the reading.
    """
    from agentctl.store.store import open_store

    with open_store(store, read_only=True) as opened:
        return _load(opened.con, run_id, details)


DETAILED_FORMATS = frozenset({"html"})
"""Report formats that show :attr:`RunRow.timeline` and :attr:`CaseOutcome.diff`."""


def _load(con: duckdb.DuckDBPyConnection, run_id: str, details: bool = True) -> ReportData:
    runs = _rows(con, "SELECT * FROM eval_runs WHERE run_id = ?", [run_id])
    if not runs:
        raise InputError(f"no evaluation with run_id '{run_id}' in the results store", key="run_id")
    run = runs[0]
    suite_config = _json(run.get("suite_config"), {}) or {}
    run["options"] = scrub_mapping(_json(run.get("options"), {}) or {})
    run["candidates"] = scrub_mapping(_json(run.get("candidates"), []) or [])
    run.pop("suite_config", None)

    results = _load_runs(con, run_id)
    candidates = _candidate_order(suite_config, run["candidates"], results)
    baseline = suite_config.get("baseline") if isinstance(suite_config, dict) else None
    if baseline not in candidates:
        baseline = None

    metrics = [
        MetricValue(r["candidate"], r["metric"], _float(r["value"]), _float(r["ci_low"]), _float(r["ci_high"]),
                  int(r.get("n") or 0), r["tag"])
        for r in _rows(con, "SELECT * FROM metrics WHERE run_id = ? ORDER BY candidate, metric", [run_id])
    ]
    gates = [
        GateResult(r["candidate"], r["gate"], bool(r["passed"]), _float(r["value"]), _float(r["threshold"]),
                r.get("detail") or "", r.get("decided_by") or "point", bool(r.get("insufficient")), r.get("runs_needed"))
        for r in _rows(con, "SELECT * FROM gates WHERE run_id = ? ORDER BY candidate, gate", [run_id])
    ]
    comparisons: list[dict[str, Any]] = []
    if _table_exists(con, "comparisons"):
        comparisons = _rows(con, "SELECT * FROM comparisons WHERE run_id = ?", [run_id])

    cases = _fold_cases(results, candidates)
    _mark_changes(cases, baseline)
    detailed = _load_timelines(con, run_id, cases, baseline) if details else set()
    expected = _load_expected(con, run_id, run.get("dataset_path"), detailed)
    for case in cases:
        if case.case_id in expected and case.case_id in detailed:
            shown = next((r for r in case.runs if not r.correct), case.runs[0])
            case.diff = diff_actions(expected[case.case_id], shown.timeline)
    return ReportData(run, suite_config, baseline, candidates, metrics, gates, cases, comparisons,
                      history=_load_history(con, run))


def _load_history(con: duckdb.DuckDBPyConnection, run: dict[str, Any]) -> History | None:
    from agentctl.metrics.history import load_history
    from agentctl.reports.history import HISTORY_RUNS

    try:
        history = load_history(con, suite=str(run.get("suite")), until_run=str(run["run_id"]), last=HISTORY_RUNS)
    except InputError:  # the suite has no finished run up to this one: no history
        return None
    # An unfinished run (or a shard) is not part of its suite's history: show none rather than others'.
    return history if history.runs[-1]["run_id"] == run["run_id"] else None


_RESULT_DEFAULTS: dict[str, str] = {
    "correct": "false", "escaped_error": "false", "critical_error": "false", "infra_error": "false",
    "unverifiable": "false", "policy_violations": "0", "failed_writes": "0", "steps": "0", "tool_calls": "0",
    "prompt_tokens": "0", "completion_tokens": "0", "cost_usd": "0::DOUBLE", "latency_s": "0::DOUBLE",
    "inference_cost_usd": "0::DOUBLE", "tool_cost_usd": "0::DOUBLE", "review_cost_usd": "0::DOUBLE",
    "judge_cost_usd": "0::DOUBLE", "user_cost_usd": "0::DOUBLE", "model": "''",
    "tags": "[]::VARCHAR[]", "reasons": "[]::VARCHAR[]", "user_turns": "0",
}
"""What a NULL (or a column an older store lacks) of ``results`` reads as, by :class:`RunRow` field."""
_FRESH_FIELDS = ("scores", "timeline")
"""RunRow fields that start empty and are filled after the row is read."""


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    cur = con.execute(f"SELECT * FROM {table} LIMIT 0")
    return [d[0] for d in cur.description or []]


def _load_runs(con: duckdb.DuckDBPyConnection, run_id: str) -> list[RunRow]:
    # One row tuple per run, its values already defaulted by DuckDB and in RunRow's field order,
    # so a run costs one positional constructor call (dicts per row were most of a big load).
    from dataclasses import fields

    have = set(_columns(con, "results"))
    names = [f.name for f in fields(RunRow) if f.init]
    select = []
    for name in names:
        default = _RESULT_DEFAULTS.get(name, "NULL")
        if name in _FRESH_FIELDS or name not in have:
            select.append("NULL" if name in _FRESH_FIELDS else default)
        else:
            select.append(f"coalesce({_quoted(name)}, {default})" if name in _RESULT_DEFAULTS else _quoted(name))
    rows = con.execute(f"SELECT {', '.join(select)} FROM results WHERE run_id = ? ORDER BY case_id, candidate, repeat",
                       [run_id]).fetchall()
    out: dict[tuple[Any, ...], RunRow] = {}
    for row in rows:
        r = RunRow(*row)
        r.scores, r.timeline = {}, []
        if r.state_diff is not None:
            r.state_diff = _json(r.state_diff, None)
        out[(r.case_id, r.candidate, r.repeat)] = r
    # Counted by DuckDB for every run: only conversations have user steps, so few rows come back.
    for case_id, candidate, repeat, turns in con.execute(
            "SELECT case_id, candidate, repeat, count(*) FROM steps WHERE run_id = ? AND kind = 'user' "
            "GROUP BY ALL", [run_id]).fetchall():
        target = out.get((case_id, candidate, int(repeat)))
        if target is not None:
            target.user_turns = int(turns)
    if _table_exists(con, "scores"):
        key = ("case_id", "candidate", "repeat")
        for s in _rows(con, "SELECT * FROM scores WHERE run_id = ?", [run_id]):
            target = out.get(tuple(s[k] for k in key))
            if target is not None:
                target.scores[s["scorer"]] = ScoreResult(
                    scorer=s["scorer"], score=_float(s.get("score")), passed=s.get("passed"),
                    reason=s.get("reason") or "", cost_usd=float(s.get("cost_usd") or 0.0), error=s.get("error"))
    return list(out.values())


MAX_TIMELINE_RUNS = 2000
"""Runs whose step timelines a report carries; beyond it, the cases that changed or went
wrong come first and the rest stay in the store (``eval show``, SQL), so a report of
100,000 runs stays bounded in size and time."""


def _load_timelines(
    con: duckdb.DuckDBPyConnection, run_id: str, cases: list[CaseOutcome], baseline: str | None
) -> set[str]:
    """Attach step timelines to the runs of at most MAX_TIMELINE_RUNS runs' cases; their case ids."""
    total = sum(len(c.runs) for c in cases)
    chosen: set[str] = set()
    params: list[Any]
    if total <= MAX_TIMELINE_RUNS:
        chosen = {c.case_id for c in cases}
        where, params = "", [run_id]
    else:
        runs_per_case: dict[str, int] = {}
        for c in cases:
            runs_per_case[c.case_id] = runs_per_case.get(c.case_id, 0) + len(c.runs)
        first = [c.case_id for c in cases if c.change or not c.all_correct]
        budget = MAX_TIMELINE_RUNS
        for cid in dict.fromkeys([*first, *runs_per_case]):
            if runs_per_case[cid] > budget:
                break
            chosen.add(cid)
            budget -= runs_per_case[cid]
        if not chosen:
            return chosen
        where = " AND list_contains(?, case_id)"
        params = [run_id, sorted(chosen)]
    by_key = {(r.case_id, r.candidate, r.repeat): r for c in cases if c.case_id in chosen for r in c.runs}
    keys = ("run_id", "case_id", "candidate", "repeat")
    names = [n for n in _columns(con, "steps") if n not in keys]  # the table's order is the timeline's key order
    # A column NULL in every step shown adds nothing to a timeline: leave it in the store.
    found = con.execute(f"SELECT {', '.join(f'count({_quoted(n)})' for n in names)} FROM steps "
                        f"WHERE run_id = ?{where}", params).fetchall()[0]
    names = [n for n, count in zip(names, found, strict=True) if count]
    if not names:
        return chosen
    listed = ", ".join(_quoted(n) for n in names)
    cur = con.execute(f"SELECT case_id, candidate, repeat, {listed} FROM steps WHERE run_id = ?{where} "
                      "ORDER BY case_id, candidate, repeat, step", params)
    parsed = [i for i, n in enumerate(names) if n in ("args", "tool_calls")]
    while batch := cur.fetchmany(20000):
        for row in batch:
            target = by_key.get((row[0], row[1], int(row[2])))
            if target is None:
                continue
            values = row[3:]
            item = {k: v for k, v in zip(names, values, strict=True) if v is not None}
            for i in parsed:
                v = values[i]
                if v is not None:
                    item[names[i]] = _json(v, v)
            target.timeline.append(item)
    return chosen


def _candidate_order(suite_config: Any, stored: Any, results: list[RunRow]) -> list[str]:
    names: list[str] = []
    if isinstance(suite_config, dict):
        base = suite_config.get("baseline")
        if isinstance(base, str):
            names.append(base)
        names += [str(c.get("name")) for c in suite_config.get("candidates") or [] if isinstance(c, dict)]
    if isinstance(stored, list):
        names += [str(c.get("name")) for c in stored if isinstance(c, dict)]
    ran = {r.candidate for r in results}
    ordered = [n for n in dict.fromkeys(names) if n in ran]
    return ordered + sorted(ran - set(ordered))


def _fold_cases(results: list[RunRow], candidates: list[str]) -> list[CaseOutcome]:
    folded: dict[tuple[str, str], CaseOutcome] = {}
    for r in results:
        case = folded.get((r.case_id, r.candidate))
        if case is None:
            case = folded[(r.case_id, r.candidate)] = CaseOutcome(r.case_id, r.candidate, list(r.tags), [])
        case.runs.append(r)
    rank = {name: i for i, name in enumerate(candidates)}
    return sorted(folded.values(), key=lambda c: (c.case_id, rank.get(c.candidate, len(rank))))


def _mark_changes(cases: list[CaseOutcome], baseline: str | None) -> None:
    """Regressed: the baseline was correct on every repeat and the candidate is not; improved: the reverse."""
    if baseline is None:
        return
    base = {c.case_id: c for c in cases if c.candidate == baseline}
    for case in cases:
        ref = base.get(case.case_id)
        # Infra errors are the provider's fault, not the model's: they change nothing.
        if case.candidate == baseline or ref is None or not (ref.decided and case.decided):
            continue
        if ref.all_correct and not case.all_correct:
            case.change = "regressed"
        elif case.all_correct and not ref.all_correct:
            case.change = "improved"


def _load_expected(
    con: duckdb.DuckDBPyConnection, run_id: str, dataset_path: Any, only: set[str]
) -> dict[str, list[Any]]:
    """Expected write actions per case judged by them (not by state), of the cases in ``only``
    (those a report shows a diff for): a ``cases`` table if the store has one, else the dataset file.

    Best effort: a dataset that moved since the run only loses the diff, never the report.
    """
    if not only:
        return {}
    if _table_exists(con, "cases"):
        cols = {r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'cases'").fetchall()}
        if {"case_id", "expected"} <= cols:
            where = " WHERE run_id = ?" if "run_id" in cols else ""
            params: list[Any] = [run_id] if where else []
            rows = con.execute(f"SELECT case_id, expected FROM cases{where}{' AND' if where else ' WHERE'} "
                               "list_contains(?, case_id)", [*params, sorted(only)]).fetchall()
            # Runs stored before the table existed fall back to the dataset file.
            if rows or con.execute(f"SELECT count(*) FROM cases{where}", params).fetchall()[0][0]:
                parsed = [(cid, _json(exp, {}) or {}) for cid, exp in rows]
                # A case judged by its final state has no action diff: its runs show their state diff.
                return {cid: list(exp.get("actions") or []) for cid, exp in parsed if exp.get("state") is None}
    if not dataset_path:
        return {}
    path = Path(str(dataset_path)) / "cases.jsonl"
    out: dict[str, list[Any]] = {}
    try:
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                try:
                    case = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if (isinstance(case, dict) and isinstance(case.get("expected"), dict)
                        and case["expected"].get("state") is None):
                    out[str(case.get("id"))] = list(case["expected"].get("actions") or [])
    except OSError:
        return {}
    return out


def fmt_number(value: float | None, metric: str = "") -> str:
    """A metric value as people read it: rates as percentages, money with $, seconds with s."""
    if value is None:
        return "n/a"
    if math.isinf(value):
        return "∞"
    if math.isnan(value):
        return "n/a"
    if metric.endswith("_rate") or metric.startswith(("pass^", "pass@", "score:")):
        return f"{value * 100:.1f}%"
    if metric.endswith("_usd"):
        return f"${value:.4f}" if abs(value) < 1 else f"${value:,.2f}"
    if metric.endswith("_s"):
        return f"{value:.2f}s"
    if float(value).is_integer():
        return f"{int(value)}"
    return f"{value:.3g}"
