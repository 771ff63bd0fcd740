"""JUnit XML, so CI systems list failing cases and gates natively.

One ``<testsuite>`` per candidate with one test case per case (repeats folded, counts in
the message), and a ``gates`` suite with one test case per gate. Valid against Jenkins'
junit-10.xsd, the schema most CI JUnit readers follow.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from agentctl.reports.data import CaseOutcome, ReportData
from agentctl.reports.redact import scrub_text

# Characters XML 1.0 cannot carry at all; a recorded output may contain them.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _x(text: object) -> str:
    return _INVALID_XML.sub("\ufffd", scrub_text(str(text)))


def _time(seconds: float) -> str:
    return f"{max(seconds, 0.0):.3f}"


def _case_element(case: CaseOutcome, suite: str) -> tuple[ET.Element, str | None]:
    seconds = sum(r.latency_s for r in case.runs)
    tc = ET.Element("testcase", name=_x(case.case_id), classname=_x(f"agentctl.{suite}.{case.candidate}"),
                    time=_time(seconds))
    wrong = [r for r in case.runs if not r.correct and not r.infra_error]
    counts = f"{case.correct}/{case.n} repeats correct"
    if case.infra:
        counts += f", {case.infra} infra errors"
    if case.unverifiable:
        counts += f", {case.unverifiable} unverifiable (a tool call nothing could answer)"
    outcome = None
    if wrong:
        kind = "critical_error" if case.critical else "escaped_error" if case.escaped else "incorrect"
        first = case.reasons[0] if case.reasons else f"status {wrong[0].status}"
        body = [counts, *(f"repeat {r.repeat}: {r.status}"
                          + (f" ({r.failure_reason})" if r.failure_reason else "")
                          + "".join(f"\n  - {x}" for x in r.reasons) for r in wrong)]
        ET.SubElement(tc, "failure", message=_x(f"{first} ({counts})"), type=kind).text = _x("\n".join(body))
        outcome = "failure"
    elif case.infra:
        reasons = "; ".join(dict.fromkeys(r.failure_reason or "provider_error" for r in case.runs if r.infra_error))
        ET.SubElement(tc, "error", message=_x(f"infra error: {reasons} ({counts})"), type="infra_error").text = \
            _x(counts)
        outcome = "error"
    tags = f"tags: {', '.join(case.tags)}\n" if case.tags else ""
    ET.SubElement(tc, "system-out").text = _x(f"{tags}{counts}; cost ${sum(r.cost_usd for r in case.runs):.4f}")
    return tc, outcome


def render_junit(data: ReportData) -> str:
    """The evaluation as JUnit XML text."""
    root = ET.Element("testsuites", name=_x(f"agentctl {data.suite}"))
    total = fails = errors = 0
    total_time = 0.0
    stamp = str(data.run.get("started_at") or "").replace(" ", "T")
    for cand in data.candidates:
        cases = [c for c in data.cases if c.candidate == cand]
        seconds = sum(r.latency_s for c in cases for r in c.runs)
        suite = ET.SubElement(root, "testsuite", name=_x(f"{data.suite}.{cand}"), tests=str(len(cases)),
                              failures="0", errors="0", skipped="0", time=_time(seconds), timestamp=_x(stamp))
        props = ET.SubElement(suite, "properties")
        for name, value in (("run_id", data.run_id), ("candidate", cand),
                            ("baseline", str(cand == data.baseline).lower()),
                            ("dataset_hash", data.run.get("dataset_hash") or "")):
            ET.SubElement(props, "property", name=name, value=_x(value))
        f = e = 0
        for case in cases:
            tc, outcome = _case_element(case, data.suite)
            suite.append(tc)
            f += outcome == "failure"
            e += outcome == "error"
        suite.set("failures", str(f))
        suite.set("errors", str(e))
        total, fails, errors, total_time = total + len(cases), fails + f, errors + e, total_time + seconds

    gates = ET.SubElement(root, "testsuite", name=_x(f"{data.suite}.gates"), tests=str(len(data.gates)),
                          failures=str(len(data.failed_gates)), errors="0", skipped="0", time="0.000",
                          timestamp=_x(stamp))
    for g in data.gates:
        tc = ET.SubElement(gates, "testcase", name=_x(f"{g.candidate}: {g.gate}"),
                           classname=_x(f"agentctl.{data.suite}.gates"), time="0.000")
        if not g.passed:
            ET.SubElement(tc, "failure", message=_x(g.detail or g.gate), type="gate").text = _x(
                f"{g.gate} for {g.candidate}: value {g.value}, threshold {g.threshold}\n{g.detail}"
                + (f"\nruns needed: {g.runs_needed}" if g.runs_needed else ""))
        else:
            ET.SubElement(tc, "system-out").text = _x(g.detail)
    total, fails = total + len(data.gates), fails + len(data.failed_gates)
    root.set("tests", str(total))
    root.set("failures", str(fails))
    root.set("errors", str(errors))
    root.set("time", _time(total_time))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
