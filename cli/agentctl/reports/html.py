"""The self-contained HTML report: one file, no network, safe with hostile recorded outputs.

Safety, in layers: Jinja autoescaping for everything in the markup; case details travel as
one JSON blob in ``<script type="application/json">`` with ``<``, ``>``, ``&`` and U+2028/9
escaped so nothing can close the element; the page script builds details with
``textContent`` only; and a Content-Security-Policy allows exactly our one inline script
(by hash), so even an injection that slipped through could not run or load anything.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import threading
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from importlib import resources
from typing import Any

from markupsafe import Markup

from agentctl.core.jsonvalues import finite_or_none
from agentctl.core.metric_names import LOWER_IS_BETTER
from agentctl.reports import charts
from agentctl.reports.data import CaseOutcome, ReportData, fmt_number
from agentctl.reports.history import history_charts
from agentctl.reports.redact import scrub_mapping, scrub_text

MAX_TEXT = 4000
"""Characters kept of one tool output or model message; the store keeps the rest."""
MAX_CHANGED_LISTED = 200

SIDE_BY_SIDE_METRICS = (
    "success_rate", "escaped_error_rate", "critical_error_rate", "policy_violation_rate", "completion_rate",
    "escalation_rate", "infra_error_rate", "divergence_rate", "cost_usd", "cost_per_success_usd", "mean_cost_usd",
    "p50_latency_s", "p95_latency_s", "mean_steps", "mean_tool_calls", "runs",
)


def json_for_script(value: Any) -> str:
    """JSON that is inert inside ``<script type="application/json">``: no ``</script>``, no ``<!--``."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=str)
    return (
        text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
        .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    )


def gzip_base64(items: Iterable[Any]) -> str:
    """The list of ``items`` as gzip-compressed JSON in base64: inert in any element, and
    5-10x smaller. Encoded and compressed item by item, so neither the list nor its JSON is
    ever whole in memory (at 100,000 runs they were the biggest things the command held); the
    bytes are those of ``gzip.compress(json.dumps(list(items)), COMPRESS_LEVEL, mtime=0)``.

    Case details (timelines, outputs) are most of a big report; the page inflates them with
    the browser's own DecompressionStream the first time a case is opened.
    """
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=str).encode
    packer = zlib.compressobj(COMPRESS_LEVEL, zlib.DEFLATED, 31)  # 31: a gzip stream, mtime 0 (as gzip.compress)
    out, pending, size = [], ["["], 1
    for i, item in enumerate(items):
        text = encode(item)
        pending.append("," + text if i else text)
        size += len(text) + 1
        if size > _CHUNK:
            out.append(packer.compress("".join(pending).encode("utf-8")))
            pending, size = [], 0
    pending.append("]")
    out.append(packer.compress("".join(pending).encode("utf-8")))
    out.append(packer.flush())
    return base64.b64encode(b"".join(out)).decode("ascii")


_CHUNK = 1 << 16

COMPRESS_LEVEL = 1
"""zlib's fastest level: on a 10,000-run report, 0.35 s of CPU for the page where level 6
took 0.48 s, for a page 10% bigger (830 KB against 752 KB)."""
"""Characters of JSON handed to the compressor at a time."""


def _clip(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    text = scrub_text(text)
    if len(text) > MAX_TEXT:
        return text[:MAX_TEXT] + f"… ({len(text) - MAX_TEXT} more characters in the store)"
    return text


def _step_view(step: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in step.items():
        if key == "tool_calls" and isinstance(value, list):
            # What the model asked for, as a person reads a call: name(arguments).
            value = "\n".join(
                f"{c.get('name')}({c.get('arguments') if isinstance(c.get('arguments'), str) else json.dumps(c.get('arguments'))})"
                if isinstance(c, dict) else json.dumps(c, default=str)
                for c in scrub_mapping(value)
            )
        elif key in ("args", "tool_calls"):
            value = json.dumps(scrub_mapping(value), ensure_ascii=False, sort_keys=True, default=str)
        elif not isinstance(value, str):  # numbers and flags as they are, non-finite ones as null
            out[key] = finite_or_none(value) if isinstance(value, float) else (
                scrub_mapping(value) if isinstance(value, list | dict) else value)  # policy_notes
            continue
        out[key] = _clip(value)
    return out


def case_index(data: ReportData) -> tuple[dict[str, Any], Iterator[dict[str, Any]]]:
    """What the page script renders the case list from, and the case details (same order,
    made one at a time as they are read)."""
    shown = {t: scrub_text(t) for t in {t for c in data.cases for t in c.tags}}
    tags = sorted(set(shown.values()))
    tag_ix = {shown_tag: i for i, shown_tag in enumerate(tags)}
    cand_ix = {c: i for i, c in enumerate(data.candidates)}
    rows = []
    for case in data.cases:
        counts = case.tally()
        rows.append([
            case.case_id, cand_ix.get(case.candidate, 0), [tag_ix[shown[t]] for t in case.tags], counts.n, counts.correct,
            counts.verdict, case.change, finite_or_none(sum(r.cost_usd for r in case.runs) / max(counts.n, 1)),
            finite_or_none(sum(r.latency_s for r in case.runs) / max(counts.n, 1)),
            [_clip(r) for r in case.reasons[:3]], counts.unverifiable,
        ])
    return {"candidates": data.candidates, "tags": tags, "cases": rows}, (_detail(case) for case in data.cases)


def _detail(case: CaseOutcome) -> dict[str, Any]:
    runs = []
    for r in case.runs:
        runs.append({
            "repeat": r.repeat, "status": r.status, "failure_reason": _clip(r.failure_reason), "correct": r.correct,
            "escaped": r.escaped_error, "critical": r.critical_error, "infra": r.infra_error,
            "reasons": [_clip(x) for x in r.reasons], "cost": finite_or_none(r.cost_usd), "latency": finite_or_none(r.latency_s),
            "tokens": [r.prompt_tokens, r.completion_tokens], "model": _clip(r.model),
            "scores": [{k: _clip(v) if not isinstance(v, float) else finite_or_none(v)
                        for k, v in asdict(s).items() if v is not None} for s in r.scores.values()],
            "steps": [_step_view(s) for s in r.timeline],
            "user_turns": r.user_turns, "user_cost": finite_or_none(r.user_cost_usd),
            "unverifiable": r.unverifiable,
            "state_diff": None if r.state_diff is None else [
                {k: _clip(json.dumps(scrub_mapping(v), ensure_ascii=False, default=str)) if k != "path" else _clip(v)
                 for k, v in d.items()} for d in r.state_diff
            ],
        })
    diff = None
    if case.diff is not None:
        diff = [{**line, "args": [{k: _clip(v) for k, v in a.items()} for a in line["args"]]}
                for line in case.diff.to_dict()]
    return {"diff": diff, "runs": runs}


def _comparison_for(data: ReportData, candidate: str, metric: str) -> dict[str, Any] | None:
    """The stored baseline comparison of a metric (``comparisons`` table, overall, within this run)."""
    for row in data.comparisons:
        if (row.get("candidate") == candidate and row.get("metric") == metric and row.get("tag") is None
                and row.get("baseline") == data.baseline and not row.get("baseline_run_id")):
            return row
    return None


def _comparison_text(row: dict[str, Any], metric: str) -> str | None:
    parts = []
    lo, hi = row.get("ci_low"), row.get("ci_high")
    if lo is not None and hi is not None:
        parts.append(f"Δ 95% CI {fmt_number(lo, metric)} – {fmt_number(hi, metric)}")
    if row.get("p_value") is not None:
        test = {"mcnemar_exact": "McNemar", "bootstrap": "bootstrap"}.get(str(row.get("test")), str(row.get("test") or ""))
        p = float(row["p_value"])
        parts.append(f"{test} {'p<0.001' if p < 0.001 else f'p={p:.3g}'}".strip())
    if row.get("regressed") is not None and row.get("improved") is not None:
        parts.append(f"{row['regressed']} regressed / {row['improved']} improved")
    return ", ".join(parts) or None


def side_by_side(data: ReportData) -> list[dict[str, Any]]:
    """Rows of the metric table: per metric, per candidate the value, interval, gate and change."""
    present = {m.metric for m in data.metrics if m.tag is None}
    names = [m for m in SIDE_BY_SIDE_METRICS if m in present]
    if any(m.metric == "user_cost_usd" and m.tag is None and m.value for m in data.metrics):
        names.insert(names.index("mean_cost_usd") + 1 if "mean_cost_usd" in names else len(names), "user_cost_usd")
    names += sorted(m for m in present if m.startswith(("pass^", "score:", "mean:")))
    out = []
    for metric in names:
        cells = []
        base = data.metric(data.baseline, metric) if data.baseline else None
        for cand in data.candidates:
            m = data.metric(cand, metric)
            cell: dict[str, Any] = {"value": fmt_number(m.value if m else None, metric), "ci": None,
                                    "gates": [], "delta": None, "stat": None, "worse": False,
                                    "better": False, "flag": None}
            if m and m.ci_low is not None and m.ci_high is not None:
                cell["ci"] = f"{fmt_number(m.ci_low, metric)} – {fmt_number(m.ci_high, metric)}"
            for g in data.gates:
                if g.candidate == cand and (g.gate.startswith(metric + " ") or g.gate.startswith(f"regression({metric})")):
                    cell["gates"].append(g)
            if base and m and cand != data.baseline and metric != "runs" and base.value is not None and m.value is not None \
                    and math.isfinite(base.value) and math.isfinite(m.value):
                delta = m.value - base.value
                cell["worse"] = delta > 0 if metric in LOWER_IS_BETTER else delta < 0
                sign = "+" if delta >= 0 else "−"
                shown = fmt_number(abs(delta), metric)
                # Differences of shares are percentage points, not percent.
                cell["delta"] = f"{sign}{shown.replace('%', ' pt')}"
                comp = _comparison_for(data, cand, metric)
                if comp:
                    cell["stat"] = _comparison_text(comp, metric)
                # Flag a worse change only when it matters, and say why: a trivial +0.02 s is no alarm.
                failed_gate = any(not g.passed for g in cell["gates"])
                if cell["worse"] and comp and comp.get("significant"):
                    cell["flag"] = "significant"
                elif cell["worse"] and failed_gate:
                    cell["flag"] = "fails a gate"
                cell["worse"] = bool(cell.get("flag"))
                cell["better"] = not cell["worse"] and bool(comp and comp.get("significant")) and delta != 0
            cells.append(cell)
        out.append({"metric": metric, "cells": cells})
    return out


def _provenance(data: ReportData) -> list[tuple[str, str]]:
    run = data.run
    items = [
        ("Suite", f"{data.suite}" + (f" ({run['suite_path']})" if run.get("suite_path") else "")),
        ("Run", data.run_id), ("Status", f"{run.get('status')} (exit code {run.get('exit_code')})"),
        ("Dataset", str(run.get("dataset_path") or "n/a")), ("Dataset hash", str(run.get("dataset_hash") or "n/a")),
        ("Git commit", str(run.get("git_commit") or "not recorded")),
        ("agentctl version", str(run.get("agentctl_version") or "n/a")),
        ("Started", str(run.get("started_at") or "")), ("Finished", str(run.get("finished_at") or "not finished")),
        ("Runs", f"{data.run_count()} stored" + (f" of {run['planned_runs']} planned" if run.get("planned_runs") else "")),
    ]
    if run.get("message"):
        items.append(("Message", str(run["message"])))
    if run.get("options"):
        items.append(("Options", json.dumps(run["options"], ensure_ascii=False, sort_keys=True, default=str)))
    return [(k, scrub_text(v)) for k, v in items]


def _candidate_rows(data: ReportData) -> list[dict[str, str]]:
    stored = {c.get("name"): c for c in data.run.get("candidates") or [] if isinstance(c, dict)}
    config = {c.get("name"): c for c in (data.suite_config.get("candidates") or []) if isinstance(c, dict)}
    agent = data.suite_config.get("agent") if isinstance(data.suite_config.get("agent"), dict) else {}
    rows = []
    for name in data.candidates:
        s, c = stored.get(name, {}), config.get(name, {})
        prompt = c.get("system_prompt") or (agent or {}).get("system_prompt") or ""
        rows.append({
            "name": name, "model": str(s.get("model") or c.get("model") or ""),
            "params": json.dumps(scrub_mapping(s.get("params", c.get("params")) or {}), sort_keys=True, default=str),
            "prompt": scrub_text(str(prompt)[:200]), "prompt_sha": str(s.get("system_prompt_sha") or ""),
        })
    return rows


_PAGE: list[tuple[Any, str, str, str]] = []
"""The compiled page template, its CSS, script and the script's hash, once :func:`page` made them."""
_PAGE_LOCK = threading.Lock()


def page() -> tuple[Any, str, str, str]:
    """The page's compiled template (20 ms to compile), CSS, script and the script's CSP hash,
    made once per process; ``eval run`` makes them while its workers start
    (:func:`agentctl.reports.prepare`), so that they are not on the run's tail."""
    with _PAGE_LOCK:
        if not _PAGE:
            from jinja2 import Environment, PackageLoader

            env = Environment(loader=PackageLoader("agentctl.reports", "templates"), autoescape=True,
                              trim_blocks=True, lstrip_blocks=True)
            env.filters["scrub"] = lambda text: scrub_text(text) if isinstance(text, str) else text
            templates = resources.files("agentctl.reports") / "templates"
            css = (templates / "report.css").read_text(encoding="utf-8")
            script = (templates / "report.js").read_text(encoding="utf-8")
            script_hash = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
            _PAGE.append((env.get_template("report.html.j2"), css, script, script_hash))
        return _PAGE[0]


def render_html(data: ReportData) -> str:
    """The report as one self-contained HTML document."""
    template, css, script, script_hash = page()
    changed = data.changed_cases()
    index = {id(c): i for i, c in enumerate(data.cases)}
    case_rows, details = case_index(data)
    return template.render(
        data=data, fmt=fmt_number, css=Markup(css), script=Markup(script), script_hash=script_hash,
        rate_charts=charts.rate_charts(data), cost_chart=charts.cost_chart(data),
        latency_chart=charts.latency_chart(data), tag_chart=charts.tag_chart(data), color=charts.color,
        history_charts=history_charts(data),
        table=side_by_side(data), changed=[(index[id(c)], c) for c in changed[:MAX_CHANGED_LISTED]],
        changed_total=len(changed), regressed_total=sum(c.change == "regressed" for c in changed), provenance=_provenance(data), candidate_rows=_candidate_rows(data),
        blob=Markup(json_for_script(case_rows)), details=gzip_base64(details),
    )
