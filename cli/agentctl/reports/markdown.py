"""The Markdown summary for pull requests and CI job summaries.

GitHub renders HTML inside Markdown, so untrusted text is HTML-escaped as well as
Markdown-escaped, and kept on one line so it cannot break a table.
"""

from __future__ import annotations

import re

from agentctl.reports.data import ReportData, fmt_number
from agentctl.reports.html import side_by_side
from agentctl.reports.redact import scrub_text

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~>])")


def md(text: object, limit: int = 160) -> str:
    """Untrusted text made inert in a Markdown table cell."""
    s = scrub_text(" ".join(str(text).split()))
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", s)


def code(text: object) -> str:
    """Untrusted text in a code span: nothing is interpreted there except a closing backtick."""
    s = scrub_text(" ".join(str(text).split())).replace("`", "'").replace("|", "/")
    return f"`{s}`"


def render_markdown(data: ReportData, *, max_cases: int = 10) -> str:
    """Verdict, gates, the metric table and the top regressed cases."""
    icon = "✅" if data.passed else "❌"
    word = "PASSED" if data.passed else "FAILED"
    lines = [f"## {icon} agentctl: {md(data.suite)} {word}", ""]
    facts = [f"run {code(data.run_id)}", f"{len(data.candidates)} candidates", f"{data.run_count()} runs"]
    if data.baseline:
        facts.append(f"baseline **{md(data.baseline)}**")
    if data.run.get("dataset_hash"):
        facts.append(f"dataset {code(str(data.run['dataset_hash'])[:12])}")
    if data.run.get("git_commit"):
        facts.append(f"commit {code(str(data.run['git_commit'])[:12])}")
    if data.run.get("status") not in (None, "finished"):
        facts.append(f"run **{md(data.run['status'])}**")
    lines += [" · ".join(facts), ""]

    if data.gates:
        failed = len(data.failed_gates)
        lines += [f"### Gates: {len(data.gates) - failed} passed, {failed} failed", "",
                  "| | candidate | gate | value | threshold | detail |", "|---|---|---|---|---|---|"]
        for g in sorted(data.gates, key=lambda g: (g.passed, g.candidate, g.gate)):
            metric = g.gate.split(" ")[0]
            lines.append(
                f"| {'✅' if g.passed else '❌'} | {md(g.candidate)} | {md(g.gate)} | {md(fmt_number(g.value, metric))} "
                f"| {md(fmt_number(g.threshold, metric))} | {md(g.detail, 240)} |"
            )
        lines.append("")
    else:
        lines += ["No gates configured.", ""]

    table = side_by_side(data)
    if table:
        head = [md(c) + (" (baseline)" if c == data.baseline else "") for c in data.candidates]
        lines += ["### Metrics", "", "| metric | " + " | ".join(head) + " |",
                  "|---|" + "---|" * len(data.candidates)]
        for row in table:
            cells = []
            for cell in row["cells"]:
                text = cell["value"] + (f" [{cell['ci']}]" if cell["ci"] else "")
                if cell["delta"]:
                    text += f" ({cell['delta']}{' ⚠ ' + cell['flag'] if cell.get('flag') else ''})"
                cells.append(md(text))
            lines.append(f"| {md(row['metric'])} | " + " | ".join(cells) + " |")
        lines.append("")

    unverifiable = [c for c in data.cases if c.unverifiable]
    if unverifiable:
        lines += [f"### Unverifiable: {sum(c.unverifiable for c in unverifiable)} runs made a tool call nothing "
                  "could answer", "", "| case | candidate | verdict | correct |", "|---|---|---|---|"]
        for c in unverifiable[:max_cases]:
            lines.append(f"| {md(c.case_id)} | {md(c.candidate)} | {c.verdict} · unverifiable "
                         f"| {c.correct}/{c.n} ({c.unverifiable} unverifiable) |")
        if len(unverifiable) > max_cases:
            lines.append(f"\n…and {len(unverifiable) - max_cases} more in the HTML report.")
        lines.append("")

    regressed = [c for c in data.changed_cases() if c.change == "regressed"]
    improved = sum(c.change == "improved" for c in data.cases)
    if data.baseline:
        lines += [f"### Regressed cases: {len(regressed)} (improved: {improved})", ""]
        if regressed:
            lines += ["| case | candidate | tags | correct | reasons |", "|---|---|---|---|---|"]
            for c in regressed[:max_cases]:
                mark = f" ({c.unverifiable} unverifiable)" if c.unverifiable else ""
                lines.append(f"| {md(c.case_id)} | {md(c.candidate)} | {md(', '.join(c.tags))} | {c.correct}/{c.n}{mark} "
                             f"| {md('; '.join(c.reasons[:2]), 200)} |")
            if len(regressed) > max_cases:
                lines.append(f"\n…and {len(regressed) - max_cases} more in the HTML report.")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"
