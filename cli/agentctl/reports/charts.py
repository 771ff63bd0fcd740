"""Charts as inline SVG, drawn here so the report needs no library, no CDN and no script to show them.

Every label that came from data goes through ``markupsafe.escape``; numbers are formatted
by us. Each chart is a ``<figure>`` with an ``aria-label`` and a ``<title>`` per mark, so
hovering shows the exact numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape

from agentctl.reports.data import ReportData, fmt_number

PALETTE = ("#2563eb", "#d97706", "#059669", "#7c3aed", "#db2777", "#0891b2", "#65a30d", "#dc2626")
_FONT = 'font-family="system-ui,sans-serif" font-size="11"'
LABEL_W = 120


def color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _label(text: str, limit: int = 18) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _svg(width: int, height: int, body: Sequence[str], label: str) -> Markup:
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg" {_FONT}>' + "".join(body) + "</svg>"
    )


def _bar_rows(
    rows: list[tuple[str, int, float | None, float | None, float | None, str]], width: int, scale_max: float,
    title: str, tips: list[str] | None = None,
) -> Markup:
    """Horizontal bars with interval whiskers; rows are (label, color index, value, lo, hi, metric)."""
    row_h, top = 18, 22
    plot_w = width - LABEL_W - 60
    height = top + row_h * len(rows) + 18
    body = [f'<text x="0" y="13" font-weight="600">{escape(title)}</text>']

    def x(v: float) -> float:
        return LABEL_W + plot_w * min(max(v / scale_max, 0.0), 1.0)

    for i, (label, ci, value, lo, hi, metric) in enumerate(rows):
        y = top + i * row_h
        body.append(f'<text x="{LABEL_W - 6}" y="{y + 12}" text-anchor="end">{escape(_label(label))}</text>')
        if value is None or not math.isfinite(value):
            body.append(f'<text x="{LABEL_W + 4}" y="{y + 12}">n/a</text>')
            continue
        tip = f"{tips[i] if tips else label}: {fmt_number(value, metric)}"
        if lo is not None and hi is not None:
            tip += f" (95% CI {fmt_number(lo, metric)} – {fmt_number(hi, metric)})"
        body.append(
            f'<rect class="bar" x="{LABEL_W}" y="{y + 3}" width="{x(value) - LABEL_W:.1f}" height="{row_h - 6}" '
            f'fill="{color(ci)}"><title>{escape(tip)}</title></rect>'
        )
        if lo is not None and hi is not None:
            ym = y + row_h / 2
            body.append(
                f'<path class="ci" d="M{x(lo):.1f} {ym}H{x(hi):.1f}M{x(lo):.1f} {ym - 5}V{ym + 5}'
                f'M{x(hi):.1f} {ym - 5}V{ym + 5}" stroke="#111" stroke-width="1.2" fill="none"/>'
            )
        body.append(f'<text x="{x(max(value, hi or value)) + 4:.1f}" y="{y + 12}">{escape(fmt_number(value, metric))}</text>')
    axis_y = top + row_h * len(rows) + 12
    body.append(f'<text x="{LABEL_W}" y="{axis_y}" fill="#666">0</text>')
    body.append(f'<text x="{LABEL_W + plot_w}" y="{axis_y}" fill="#666" text-anchor="end">'
                f'{escape(fmt_number(scale_max, rows[0][5] if rows else ""))}</text>')
    return _svg(width, height, body, title)


def _rate_scale(values: list[float | None]) -> float:
    top = max((v for v in values if v is not None and math.isfinite(v)), default=0.0)
    if top >= 0.5:
        return 1.0
    return max(0.01, min(1.0, math.ceil(top * 1.2 * 100) / 100))


def rate_charts(data: ReportData) -> list[Markup]:
    """Success, escaped-error and critical-error rates per candidate, each on its own scale."""
    charts = []
    for metric, title in (("success_rate", "Success rate"), ("escaped_error_rate", "Escaped errors"),
                          ("critical_error_rate", "Critical errors")):
        rows = []
        for i, cand in enumerate(data.candidates):
            m = data.metric(cand, metric)
            rows.append((cand, i, m.value if m else None, m.ci_low if m else None, m.ci_high if m else None, metric))
        scale = _rate_scale([r[4] if r[4] is not None else r[2] for r in rows])
        charts.append(_bar_rows(rows, 340, scale, title))
    return charts


def cost_chart(data: ReportData) -> Markup:
    """Cost per success (y) against success rate (x), one point per candidate."""
    width, height, left, bottom, top, right = 360, 220, 56, 30, 22, 16
    points = []
    for i, cand in enumerate(data.candidates):
        s, c = data.metric(cand, "success_rate"), data.metric(cand, "cost_per_success_usd")
        if s is not None and s.value is not None:
            points.append((cand, i, s.value, c.value if c else None))
    finite = [p[3] for p in points if p[3] is not None and math.isfinite(p[3])]
    ymax = max(finite, default=1.0) * 1.25 or 1.0
    pw, ph = width - left - right, height - top - bottom
    body = ['<text x="0" y="13" font-weight="600">Cost per success vs success rate</text>',
            f'<path d="M{left} {top}V{top + ph}H{left + pw}" stroke="#999" fill="none"/>',
            f'<text x="{left}" y="{height - 8}" fill="#666">0%</text>',
            f'<text x="{left + pw}" y="{height - 8}" fill="#666" text-anchor="end">success rate 100%</text>',
            f'<text x="{left - 4}" y="{top + 8}" fill="#666" text-anchor="end">{escape(fmt_number(ymax, "_usd"))}</text>',
            f'<text x="{left - 4}" y="{top + ph}" fill="#666" text-anchor="end">$0</text>']
    for cand, ci, rate, cost in points:
        cx = left + pw * min(max(rate, 0.0), 1.0)
        infinite = cost is None or not math.isfinite(cost)
        cy = top if cost is None or infinite else top + ph * (1 - min(cost / ymax, 1.0))
        tip = f"{cand}: success {fmt_number(rate, 'success_rate')}, cost/success {fmt_number(cost, '_usd')}"
        body.append(f'<circle class="point" cx="{cx:.1f}" cy="{cy:.1f}" r="6" fill="{color(ci)}">'
                    f'<title>{escape(tip)}</title></circle>')
        anchor = "end" if cx > left + pw * 0.7 else "start"
        dx = -9 if anchor == "end" else 9
        body.append(f'<text x="{cx + dx:.1f}" y="{cy + 4:.1f}" text-anchor="{anchor}">'
                    f'{escape(_label(cand))}{" (∞)" if infinite else ""}</text>')
    return _svg(width, height, body, "Cost per success against success rate per candidate")


def _quantile(sorted_values: list[float], q: float) -> float:
    pos = (len(sorted_values) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def latency_chart(data: ReportData) -> Markup:
    """Box plot of run wall time per candidate: whiskers p5–p95, box p25–p75, line at the median."""
    per = {c: sorted(r.latency_s for case in data.cases if case.candidate == c for r in case.runs)
           for c in data.candidates}
    width, row_h, top = 560, 24, 22
    plot_w = width - LABEL_W - 70
    xmax = max((_quantile(v, 0.95) for v in per.values() if v), default=1.0) * 1.1 or 1.0
    height = top + row_h * len(per) + 18
    body = ['<text x="0" y="13" font-weight="600">Latency per run (p5 · p25 · median · p75 · p95)</text>']

    def x(v: float) -> float:
        return LABEL_W + plot_w * min(v / xmax, 1.0)

    for i, (cand, values) in enumerate(per.items()):
        y, ym = top + i * row_h, top + i * row_h + row_h / 2
        body.append(f'<text x="{LABEL_W - 6}" y="{ym + 4}" text-anchor="end">{escape(_label(cand))}</text>')
        if not values:
            continue
        q = [_quantile(values, p) for p in (0.05, 0.25, 0.5, 0.75, 0.95)]
        tip = f"{cand}: " + ", ".join(f"{n} {v:.2f}s" for n, v in zip(("p5", "p25", "p50", "p75", "p95"), q, strict=True))
        body.append(
            f'<g class="box"><title>{escape(tip)}</title>'
            f'<path d="M{x(q[0]):.1f} {ym}H{x(q[1]):.1f}M{x(q[3]):.1f} {ym}H{x(q[4]):.1f}" stroke="#333"/>'
            f'<rect x="{x(q[1]):.1f}" y="{y + 4}" width="{max(x(q[3]) - x(q[1]), 1):.1f}" height="{row_h - 8}" '
            f'fill="{color(i)}" fill-opacity="0.35" stroke="{color(i)}"/>'
            f'<path d="M{x(q[2]):.1f} {y + 4}V{y + row_h - 4}" stroke="{color(i)}" stroke-width="2"/></g>'
            f'<text x="{x(q[4]) + 4:.1f}" y="{ym + 4}">{q[2]:.2f}s</text>'
        )
    body.append(f'<text x="{LABEL_W}" y="{height - 4}" fill="#666">0s</text>'
                f'<text x="{LABEL_W + plot_w}" y="{height - 4}" fill="#666" text-anchor="end">{xmax:.1f}s</text>')
    return _svg(width, height, body, "Latency distribution per candidate")


def tag_chart(data: ReportData, max_tags: int = 30) -> Markup | None:
    """Success rate by tag, one bar per candidate, worst tags first."""
    tags = sorted({m.tag for m in data.metrics if m.tag is not None and m.metric == "success_rate"})
    if not tags:
        return None

    def worst(tag: str) -> float:
        vals = [m.value for c in data.candidates if (m := data.metric(c, "success_rate", tag)) and m.value is not None]
        return min(vals, default=1.0)

    tags = sorted(tags, key=lambda t: (worst(t), t))[:max_tags]
    rows, tips = [], []
    for tag in tags:
        for i, cand in enumerate(data.candidates):
            m = data.metric(cand, "success_rate", tag)
            # The tag labels its first bar only; colours (see the legend) tell candidates apart.
            rows.append((tag if i == 0 else "", i, m.value if m else None, m.ci_low if m else None,
                         m.ci_high if m else None, "success_rate"))
            tips.append(f"{tag} · {cand}")
    return _bar_rows(rows, 560, 1.0, "Success rate by tag (worst first)", tips)
