"""The HTML report, parsed: content of a known run, escaping of hostile strings, self-containment."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest

from agentctl.reports import load_report_data, render_html, write_reports
from agentctl.reports.html import json_for_script
from support.reports import (
    CANARY,
    PAYLOADS,
    RUN_ID,
    XSS_CASE,
    XSS_MODEL,
    XSS_TAG,
    XSS_TOOL,
    build_known_run,
)


class Page(HTMLParser):
    """Every element with its attributes, the text of each script, and the text by element id."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.text_by_id: dict[str, str] = {}
        self._open: list[tuple[str, str | None]] = []
        self._script: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.elements.append((tag, a))
        if tag == "script":
            self._script = a
            self.scripts.append((a, ""))
        if tag not in ("meta", "br", "img", "input", "link"):
            self._open.append((tag, a.get("id")))
            if a.get("id"):
                self.text_by_id.setdefault(str(a["id"]), "")

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            if self._open.pop()[0] == tag:
                break
        if tag == "script":
            self._script = None

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)
        for _, ident in self._open:
            if ident:
                self.text_by_id[ident] += " " + data  # element boundaries separate words


@pytest.fixture(scope="module")
def known(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    return build_known_run(tmp_path_factory.mktemp("known"))


@pytest.fixture(scope="module")
def html(known: duckdb.DuckDBPyConnection) -> str:
    return render_html(load_report_data(known, RUN_ID))


@pytest.fixture(scope="module")
def page(html: str) -> Page:
    p = Page()
    p.feed(html)
    return p


def _blob(page: Page) -> dict:
    (text,) = [t for a, t in page.scripts if a.get("type") == "application/json"]
    return json.loads(text)


def _details(page: Page) -> list:
    (text,) = [t for a, t in page.scripts if a.get("id") == "report-details"]
    return json.loads(gzip.decompress(base64.b64decode(text)))


def test_sections_come_in_the_order_the_issue_asks(page: Page) -> None:
    ids = [a.get("id") for _, a in page.elements if a.get("id") in
           ("verdict", "compare", "charts", "changed", "cases", "provenance")]
    assert ids == ["verdict", "compare", "charts", "changed", "cases", "provenance"]


def test_verdict_names_failed_gates_and_why(page: Page) -> None:
    verdict = [a for t, a in page.elements if a.get("id") == "verdict"][0]
    assert verdict["data-verdict"] == "fail"
    failed = page.text_by_id["failed-gates"]
    assert "success_rate >= 0.95" in failed and "success_rate 0.6 < 0.95 (point estimate, 5 runs)" in failed
    assert "regression(success_rate)" in failed and "critical_error_rate" not in failed


def test_side_by_side_shows_value_interval_gate_and_delta(page: Page) -> None:
    text = " ".join(page.text_by_id["compare"].split())
    assert "prod (baseline)" in text and text.index("prod") < text.index("mini")
    assert "60.0% [23.1% – 88.2%] −23.3 pt ✗ regression(success_rate) ✗ success_rate >= 0.95" in text
    assert "83.3% [43.6% – 97.0%]" in text
    assert "✓ critical_error_rate <= 0.5" in text


def test_charts_are_inline_svg_one_per_question(page: Page) -> None:
    labels = [a.get("aria-label") for t, a in page.elements if t == "svg"]
    assert labels == ["Success rate", "Escaped errors", "Critical errors",
                      "Cost per success against success rate per candidate", "Latency distribution per candidate",
                      "Success rate by tag (worst first)"]


def test_changed_cases_regressed_first_each_linking_to_its_detail(page: Page) -> None:
    links = [a for t, a in page.elements if t == "a" and a.get("data-case")]
    blob = _blob(page)
    linked = [(blob["cases"][int(a["data-case"])][0], blob["cases"][int(a["data-case"])][6]) for a in links]
    assert linked == [("T-2", "regressed"), ("T-4", "regressed"), (XSS_CASE, "improved")]
    assert all(a["href"] == f"#case-{a['data-case']}" for a in links)


def test_case_details_travel_as_data_and_round_trip_intact(page: Page, html: str) -> None:
    blob = _blob(page)
    assert blob["candidates"] == ["prod", "mini"] and XSS_TAG in blob["tags"]
    i = next(i for i, row in enumerate(blob["cases"]) if row[0] == "T-2" and blob["candidates"][row[1]] == "mini")
    details = _details(page)
    assert len(details) == len(blob["cases"])
    detail = details[i]
    assert [line["op"] for line in detail["diff"]] == ["changed"]
    steps = detail["runs"][0]["steps"]
    assert [s["kind"] for s in steps] == ["model", "tool", "tool", "model"]
    assert steps[0]["prompt_tokens"] == 800 and steps[0]["cost_usd"] == 0.004
    assert steps[0]["tool_calls"] == 'get_ticket({"ticket_id": 1})'
    assert json.loads(steps[2]["args"]) == {"charge_id": "ch_2", "amount_cents": 750}
    all_text = json.dumps([blob, details], ensure_ascii=False)
    for payload in (XSS_MODEL, XSS_TOOL, XSS_CASE):
        assert json.dumps(payload, ensure_ascii=False)[1:-1] in all_text
    # Lazy: details are not markup until a case is expanded.
    assert "I've refunded the duplicate charge." not in html.replace(_blob_text(page), "")


def _blob_text(page: Page) -> str:
    return [t for a, t in page.scripts if a.get("type") == "application/json"][0]


def test_payloads_cannot_become_markup(page: Page, html: str) -> None:
    assert [a.get("type") for a, _ in page.scripts] == ["application/json", "application/octet-stream", None], \
        "only the two data blobs and our script"
    assert re.fullmatch(r"[A-Za-z0-9+/=]+", [t for a, t in page.scripts if a.get("id") == "report-details"][0])
    for tag, attrs in page.elements:
        for name, value in attrs.items():
            assert not name.startswith("on"), f"<{tag} {name}> event handler in the page"
            if name in ("href", "src", "action", "xlink:href"):
                assert not (value or "").strip().lower().startswith("javascript:")
    assert not any(t in ("img", "iframe", "object", "embed", "svg") and a.get("onload") for t, a in page.elements)
    assert {t for t, _ in page.elements} <= {
        "html", "head", "meta", "title", "style", "body", "header", "div", "h1", "h2", "h3", "p", "code", "b",
        "ul", "li", "nav", "a", "section", "table", "thead", "tbody", "tr", "th", "td", "span", "small",
        "figure", "svg", "text", "rect", "path", "circle", "g", "label", "select", "option", "input",
        "noscript", "button", "dl", "dt", "dd", "script"}
    blob = _blob_text(page)
    assert "<" not in blob and ">" not in blob and "\u2028" not in blob
    for payload in PAYLOADS:
        assert payload not in html


def test_json_for_script_cannot_close_the_element() -> None:
    hostile = {"a": "</script><!--<script>", "b": "\u2028\u2029&amp;"}
    text = json_for_script(hostile)
    assert "</" not in text and "<!--" not in text and "\u2028" not in text and "&" not in text
    assert json.loads(text) == hostile


def test_self_contained_and_locked_down(page: Page, html: str) -> None:
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), "no external resources"
    assert "@import" not in html and "url(" not in html
    csp = next(a["content"] for t, a in page.elements if t == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    (code,) = [t for a, t in page.scripts if not a.get("type")]
    digest = base64.b64encode(hashlib.sha256(code.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in csp, "the CSP allows exactly our script"


def test_provenance_and_no_secrets(page: Page, html: str) -> None:
    prov = " ".join(page.text_by_id["provenance"].split())
    for needle in ("support-triage", "d" * 64, "abc1234def5678", "agentctl version 0.1.0", "replay:prod-2026-05",
                   "openai/gpt-4o-mini", "prompts/v4.md", "b" * 16, "12 stored of 12 planned"):
        assert needle in prov
    assert CANARY not in html and "[redacted]" in prov


def test_write_reports_names_files_by_suite_and_run(known: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    out = write_reports(known, RUN_ID, report_dir=tmp_path / "r", junit_path=tmp_path / "j" / "junit.xml",
                        formats=("html", "md", "json"))
    assert {k: p.name for k, p in out.items()} == {
        "html": "support-triage-r-known-0001.html", "md": "support-triage-r-known-0001.md",
        "json": "support-triage-r-known-0001.json", "junit": "junit.xml"}
    assert all(p.stat().st_size > 100 for p in out.values())
    assert out["html"].read_text().startswith("<!DOCTYPE html>")


def test_secrets_a_store_holds_reach_no_part_of_the_page(known: duckdb.DuckDBPyConnection) -> None:
    """The store scrubs on the way in; the page scrubs again what an older or imported store holds:
    in the changed-cases table, gate details, a run's model and a step's lists (policy notes)."""
    data = load_report_data(known, RUN_ID)
    case = next(c for c in data.cases if c.change == "regressed")
    run = case.runs[0]
    run.reasons.insert(0, f"provider said {CANARY}")
    run.model, run.failure_reason = f"gpt-4o {CANARY}", f"Bearer {CANARY}"
    run.timeline[0]["policy_notes"] = [f"note {CANARY}"]
    case.tags.append(f"t {CANARY}")
    data.gates[0].detail += f" {CANARY}"
    html = render_html(data)
    page = Page()
    page.feed(html)
    details = json.dumps(_details(page), ensure_ascii=False)
    assert CANARY not in html and CANARY not in details
    assert "provider said [redacted]" in html and "note [redacted]" in details and "gpt-4o [redacted]" in details


@pytest.mark.parametrize("count", [0, 1, 3, 5000])
def test_case_details_are_compressed_item_by_item_into_the_same_gzip_bytes(count: int) -> None:
    """Details are encoded and compressed one case at a time (never the whole list or its JSON
    in memory at once), and the page still gets exactly the gzip of the list's JSON."""
    from agentctl.reports.html import COMPRESS_LEVEL, gzip_base64

    items = [{"case": i, "text": "é\u2028" * (i % 97), "nested": [i, None, True, 0.5]} for i in range(count)]
    made = iter(items)  # a generator of details, as the report hands them over
    whole = json.dumps(items, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    packed = base64.b64decode(gzip_base64(made))
    assert packed == gzip.compress(whole.encode("utf-8"), compresslevel=COMPRESS_LEVEL, mtime=0)
    assert json.loads(gzip.decompress(packed)) == items


_PREPARE = """
import json, sys
from agentctl.commands.eval import prepare_reports
from agentctl.config.models import CandidateSpec
from agentctl.plan import Plan

replay = CandidateSpec(name="base", model="replay:base")
live = CandidateSpec(name="next", model="openai/gpt-4o-mini")
none_for_replay = prepare_reports(Plan(runs=[], candidates=[replay], cases=[])) is None
imported_for_replay = "agentctl.reports.html" in sys.modules
thread = prepare_reports(Plan(runs=[], candidates=[replay, live], cases=[]))
thread.join(60)
from agentctl.reports import html
print(json.dumps({"none_for_replay": none_for_replay, "imported_for_replay": imported_for_replay,
                  "prepared": bool(html._PAGE) and html.page() is html._PAGE[0]}))
"""


def test_a_live_run_prepares_the_page_template_while_its_workers_start_and_a_replay_does_not() -> None:
    """In a fresh interpreter: a plan with a live candidate imports the report code and
    compiles the page on a thread (off the run's tail); a replay-only plan leaves it alone."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _PREPARE], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out == {"none_for_replay": True, "imported_for_replay": False, "prepared": True}


def test_the_page_template_is_compiled_once_per_process(known: duckdb.DuckDBPyConnection) -> None:
    """Two pages of one run, rendered one after the other, are the same text from one
    compiled template."""
    from agentctl.reports import html as html_module

    data = load_report_data(known, RUN_ID)
    first = render_html(data)
    template = html_module.page()[0]
    assert render_html(data) == first and html_module.page()[0] is template
