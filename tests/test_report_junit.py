"""JUnit XML against Jenkins' junit-10.xsd (tests/data/junit/), the schema CI JUnit readers follow.

The .venv has no XML-schema library (neither lxml nor xmlschema), so ``XsdSubset`` below
checks what this XSD declares: which elements may appear where, required and declared
attributes, the SUREFIRE_TIME pattern, and text only in mixed or string elements. When
``xmlschema`` is installed it validates too.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest

from agentctl.reports import load_report_data, render_junit
from support.reports import CANARY, RUN_ID, XSS_CASE, build_known_run

XSD_PATH = Path(__file__).parent / "data" / "junit" / "junit-10.xsd"
XS = "{http://www.w3.org/2001/XMLSchema}"


@dataclass
class ElementRule:
    children: set[str] = field(default_factory=set)
    attributes: dict[str, str] = field(default_factory=dict)
    required: set[str] = field(default_factory=set)
    text_allowed: bool = True


class XsdSubset:
    """The parts of an XSD that junit-10.xsd uses, enough to reject what it rejects."""

    def __init__(self, path: Path) -> None:
        root = ET.parse(path).getroot()
        self.patterns = {
            st.get("name"): re.compile(f"(?:{st.find(f'{XS}restriction/{XS}pattern').get('value')})\\Z")
            for st in root.findall(f"{XS}simpleType")
        }
        named = {ct.get("name"): ct for ct in root.findall(f"{XS}complexType")}
        self.rules: dict[str, ElementRule] = {}
        for el in root.findall(f"{XS}element"):
            ctype = el.find(f"{XS}complexType")
            if ctype is None and el.get("type") in named:
                ctype = named[el.get("type")]
            self.rules[el.get("name")] = self._rule(ctype)

    def _rule(self, ctype: ET.Element | None) -> ElementRule:
        if ctype is None:  # xs:string
            return ElementRule()
        rule = ElementRule(text_allowed=ctype.get("mixed") == "true")
        for child in ctype.iter(f"{XS}element"):
            rule.children.add(child.get("ref") or child.get("name"))
        for attr in ctype.findall(f"{XS}attribute"):
            rule.attributes[attr.get("name")] = attr.get("type")
            if attr.get("use") == "required":
                rule.required.add(attr.get("name"))
        return rule

    def errors(self, xml_text: str) -> list[str]:
        root = ET.fromstring(xml_text)
        if root.tag not in self.rules:
            return [f"root <{root.tag}> is not a declared element"]
        out: list[str] = []
        self._check(root, out)
        return out

    def _check(self, el: ET.Element, out: list[str]) -> None:
        rule = self.rules[el.tag]
        for name in rule.required - set(el.attrib):
            out.append(f"<{el.tag}> lacks required attribute {name}")
        for name, value in el.attrib.items():
            if name not in rule.attributes:
                out.append(f"<{el.tag}> has undeclared attribute {name}")
            elif rule.attributes[name] in self.patterns and not self.patterns[rule.attributes[name]].match(value):
                out.append(f"<{el.tag} {name}={value!r}> does not match {rule.attributes[name]}")
        if not rule.text_allowed and (el.text or "").strip():
            out.append(f"<{el.tag}> may not contain text")
        for child in el:
            if child.tag not in rule.children:
                out.append(f"<{child.tag}> not allowed in <{el.tag}>")
            elif child.tag in self.rules:
                self._check(child, out)


@pytest.fixture(scope="module")
def junit(tmp_path_factory: pytest.TempPathFactory) -> str:
    con: duckdb.DuckDBPyConnection = build_known_run(tmp_path_factory.mktemp("known"))
    return render_junit(load_report_data(con, RUN_ID))


def test_valid_against_junit_xsd(junit: str) -> None:
    assert XsdSubset(XSD_PATH).errors(junit) == []
    try:
        import xmlschema
    except ImportError:
        return
    xmlschema.XMLSchema(str(XSD_PATH)).validate(junit)


def test_the_schema_check_rejects_what_the_xsd_rejects(junit: str) -> None:
    xsd = XsdSubset(XSD_PATH)
    bad_time = junit.replace('time="', 'time="1.5s', 1).replace('time="1.5s', 'time="x', 1)
    assert any("SUREFIRE_TIME" in e for e in xsd.errors(bad_time))
    assert xsd.errors('<testsuites><testsuite name="a" tests="1" failures="0"/></testsuites>') == [
        "<testsuite> lacks required attribute errors"]
    assert xsd.errors('<testsuite name="a" tests="1" failures="0" errors="0"><testcase/></testsuite>') == [
        "<testcase> lacks required attribute name"]
    assert xsd.errors('<testsuite name="a" tests="0" failures="0" errors="0" color="red">x<bogus/></testsuite>') == [
        "<testsuite> has undeclared attribute color", "<testsuite> may not contain text",
        "<bogus> not allowed in <testsuite>"]


def test_one_testcase_per_case_and_candidate_with_repeats_folded(junit: str) -> None:
    root = ET.fromstring(junit)
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert list(suites) == ["support-triage.prod", "support-triage.mini", "support-triage.gates"]
    mini = suites["support-triage.mini"]
    cases = {c.get("name"): c for c in mini.findall("testcase")}
    assert sorted(cases) == sorted(["T-1", "T-2", XSS_CASE, "T-4", "T-5"])
    assert (mini.get("tests"), mini.get("failures"), mini.get("errors")) == ("5", "2", "1")
    t2 = cases["T-2"].find("failure")
    assert t2.get("type") == "critical_error"
    assert t2.get("message") == "issue_refund: amount_cents expected 7500, got 750 (0/1 repeats correct)"
    t4 = cases["T-4"].find("failure")
    assert "1/2 repeats correct" in t4.get("message") and "repeat 1: escalated" in t4.text
    t5 = cases["T-5"].find("error")
    assert t5.get("type") == "infra_error" and "provider_error" in t5.get("message")
    assert cases["T-1"].find("failure") is None and cases["T-1"].get("time") == "2.000"


def test_one_testcase_per_gate_failures_carry_the_detail(junit: str) -> None:
    root = ET.fromstring(junit)
    gates = next(s for s in root.findall("testsuite") if s.get("name") == "support-triage.gates")
    by_name = {c.get("name"): c for c in gates.findall("testcase")}
    assert set(by_name) == {"mini: success_rate >= 0.95", "mini: regression(success_rate)",
                            "mini: critical_error_rate <= 0.5"}
    assert by_name["mini: success_rate >= 0.95"].find("failure").get("message") == \
        "success_rate 0.6 < 0.95 (point estimate, 5 runs)"
    assert by_name["mini: critical_error_rate <= 0.5"].find("failure") is None
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("13", "5", "1")


def test_control_characters_and_secrets_never_reach_the_xml(tmp_path: Path) -> None:
    con = build_known_run(tmp_path, reasons={"T-2": [f"bell \x07 and nul-ish \x0b {CANARY}"]})
    text = render_junit(load_report_data(con, RUN_ID))
    assert XsdSubset(XSD_PATH).errors(text) == []
    assert CANARY not in text and "\x07" not in text
