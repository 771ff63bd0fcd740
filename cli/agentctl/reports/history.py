"""The report's "History" section: key metrics over the suite's last runs in the same store.

Small inline SVG line charts (drawn like the other charts: no library, no CDN, no script), one
per metric, a line per candidate, whiskers for the 95% intervals and a ring on each change
Fisher's exact test finds significant. Nothing is drawn for a suite with a single run.
"""

from __future__ import annotations

import math

from markupsafe import Markup, escape

from agentctl.metrics.history import HISTORY_METRICS, History
from agentctl.reports import charts
from agentctl.reports.data import ReportData, fmt_number

HISTORY_RUNS = 10
"""Runs of the suite a report's history shows (the report's run the last)."""
TITLES = {"success_rate": "Success rate", "escaped_error_rate": "Escaped errors",
          "critical_error_rate": "Critical errors", "cost_per_success_usd": "Cost per success",
          "p95_latency_s": "p95 latency"}


def shown(data: ReportData) -> History | None:
    """The history worth drawing: at least two runs."""
    history = data.history
    return history if history is not None and len(history.runs) >= 2 else None


def _finite(v: float | None) -> bool:
    return v is not None and math.isfinite(v)


def line_chart(history: History, metric: str, candidates: list[tuple[str, int]]) -> Markup:
    """One metric over the runs: a line per (candidate, colour index)."""
    width, height, left, right, top, bottom = 340, 170, 52, 14, 22, 30
    pw, ph = width - left - right, height - top - bottom
    values: list[float] = [v for c, _ in candidates for p in history.series(c, metric) if p is not None
                           for v in (p.value, p.ci_high) if v is not None and math.isfinite(v)]
    if metric.endswith("_rate"):
        ymax = charts._rate_scale(list[float | None](values))
    else:
        ymax = (max(values, default=1.0) * 1.15) or 1.0
    n = len(history.runs)

    def x(i: int) -> float:
        return left + (pw * i / (n - 1) if n > 1 else pw / 2)

    def y(v: float) -> float:
        return top + ph * (1 - min(max(v / ymax, 0.0), 1.0))

    title = TITLES.get(metric, metric)
    body = [f'<text x="0" y="13" font-weight="600">{escape(title)}</text>',
            f'<path d="M{left} {top}V{top + ph}H{left + pw}" stroke="#999" fill="none"/>',
            f'<text x="{left - 4}" y="{top + 8}" fill="#666" text-anchor="end">{escape(fmt_number(ymax, metric))}</text>',
            f'<text x="{left - 4}" y="{top + ph}" fill="#666" text-anchor="end">{escape(fmt_number(0.0, metric))}</text>',
            f'<text x="{left}" y="{height - 8}" fill="#666">{escape(str(history.runs[0]["started_at"])[:16])}</text>',
            f'<text x="{left + pw}" y="{height - 8}" fill="#666" text-anchor="end">'
            f'{escape(str(history.runs[-1]["started_at"])[:16])}</text>']
    for cand, ci in candidates:
        series = history.series(cand, metric)
        points = [(i, p) for i, p in enumerate(series) if p is not None and _finite(p.value)]
        if len(points) >= 2:
            d = "M" + "L".join(f"{x(i):.1f} {y(p.value or 0.0):.1f}" for i, p in points)
            body.append(f'<path class="trend" d="{d}" stroke="{charts.color(ci)}" stroke-width="2" fill="none"/>')
        for i, p in points:
            value = p.value or 0.0
            tip = f"{cand} · {history.runs[i]['run_id']}: {fmt_number(value, metric)}"
            if _finite(p.ci_low) and _finite(p.ci_high):
                tip += f" (95% CI {fmt_number(p.ci_low, metric)} – {fmt_number(p.ci_high, metric)})"
                body.append(f'<path class="ci" d="M{x(i):.1f} {y(p.ci_low or 0.0):.1f}V{y(p.ci_high or 0.0):.1f}" '
                            f'stroke="{charts.color(ci)}" stroke-opacity="0.5"/>')
            if p.significant and p.p_value is not None:
                tip += f"; significant change (Fisher's exact p={p.p_value:.2g})"
                body.append(f'<circle class="significant" cx="{x(i):.1f}" cy="{y(value):.1f}" r="7" fill="none" '
                            f'stroke="#111" stroke-width="1.5"/>')
            body.append(f'<circle class="point" cx="{x(i):.1f}" cy="{y(value):.1f}" r="3.5" '
                        f'fill="{charts.color(ci)}"><title>{escape(tip)}</title></circle>')
    return charts._svg(width, height, body, f"{title} over the last {n} runs of {history.suite}")


def history_charts(data: ReportData) -> list[Markup]:
    history = shown(data)
    if history is None:
        return []
    # Colours follow the report's candidate order, so the charts' legend applies here too.
    order = {c: i for i, c in enumerate(data.candidates)}
    extra = [c for c in history.candidates if c not in order]
    candidates = [(c, order[c]) for c in data.candidates if c in history.candidates]
    candidates += [(c, len(order) + i) for i, c in enumerate(extra)]
    return [line_chart(history, metric, candidates) for metric in HISTORY_METRICS
            if any(p.metric == metric for p in history.points)]


def history_line(data: ReportData, metric: str = "success_rate") -> str | None:
    """``success 96.4% → 95.9% over the last 5 runs`` (per candidate when there are several)."""
    history = shown(data)
    if history is None:
        return None
    parts = []
    for cand in [c for c in data.candidates if c in history.candidates]:
        series = [p for p in history.series(cand, metric) if p is not None and _finite(p.value)]
        if len(series) < 2:
            continue
        arrow = f"{fmt_number(series[0].value, metric)} → {fmt_number(series[-1].value, metric)}"
        parts.append(arrow if len(data.candidates) == 1 else f"{cand} {arrow}")
    if not parts:
        return None
    return f"success {', '.join(parts)} over the last {len(history.runs)} runs"
