"""The JSON report: valid against its published schema, complete, and lossless for odd numbers."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import jsonschema
import pytest

from agentctl.core.errors import InputError
from agentctl.reports import REPORT_SCHEMA, load_report_data, render, render_json
from agentctl.store import Store
from support.reports import CANARY, RUN_ID, XSS_CASE, XSS_TAG, build_known_run


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    return build_known_run(tmp_path_factory.mktemp("known"))


@pytest.fixture(scope="module")
def report(con: duckdb.DuckDBPyConnection) -> dict:
    return json.loads(render_json(load_report_data(con, RUN_ID)))


def test_valid_against_the_published_schema(report: dict) -> None:
    jsonschema.Draft202012Validator.check_schema(REPORT_SCHEMA)
    jsonschema.validate(report, REPORT_SCHEMA)
    broken = {**report, "verdict": {"passed": "no"}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, REPORT_SCHEMA)


def test_whole_result_is_there(report: dict, con: duckdb.DuckDBPyConnection) -> None:
    counts = {t: con.execute(f"SELECT count(*) FROM {t} WHERE run_id = ?", [RUN_ID]).fetchone()[0]
              for t in ("results", "metrics", "gates")}
    assert (len(report["results"]), len(report["metrics"]), len(report["gates"])) == (
        counts["results"], counts["metrics"], counts["gates"])
    assert report["verdict"] == {"passed": False, "exit_code": 1, "failed_gates": [
        "mini: regression(success_rate)", "mini: success_rate >= 0.95"]}
    assert report["run"]["baseline"] == "prod" and report["run"]["started_at"] == "2026-05-14T10:00:00"
    t2 = next(c for c in report["cases"] if c["case_id"] == "T-2" and c["candidate"] == "mini")
    assert (t2["verdict"], t2["change"], t2["critical_errors"]) == ("critical", "regressed", 1)
    scored = next(r for r in report["results"] if r["case_id"] == "T-1" and r["candidate"] == "mini")
    assert scored["scores"][0]["scorer"] == "deepeval.g_eval" and scored["scores"][0]["score"] == 0.9
    assert any(c["case_id"] == XSS_CASE and c["tags"] == [XSS_TAG] for c in report["cases"])


def test_infinite_cost_per_success_is_a_string_not_invalid_json(report: dict) -> None:
    inf = [m for m in report["metrics"] if m["metric"] == "cost_per_success_usd" and m["tag"] == XSS_TAG]
    assert inf == [{"candidate": "mini", "tag": XSS_TAG, "metric": "cost_per_success_usd", "value": "inf",
                    "ci_low": None, "ci_high": None, "n": 1}]


def test_no_secret_in_json(con: duckdb.DuckDBPyConnection) -> None:
    text = render_json(load_report_data(con, RUN_ID))
    assert CANARY not in text
    assert json.loads(text)["run"]["candidates"][1]["params"] == {"temperature": 0, "api_key": "[redacted]"}


def test_unknown_format_is_an_input_error(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(InputError, match="unknown report format 'pdf'"):
        render(load_report_data(con, RUN_ID), "pdf")


def test_comparisons_table_rows_show_up_when_present(tmp_path: Path) -> None:
    con = build_known_run(tmp_path)
    with Store(con) as store:  # as eval run stores its comparisons
        store.replace_rows(RUN_ID, "comparisons", [{
            "run_id": RUN_ID, "baseline": "prod", "candidate": "mini", "tag": None, "metric": "success_rate", "baseline_value": 0.8333,
            "candidate_value": 0.6, "delta": -0.2333, "ci_low": -0.6, "ci_high": 0.1, "test": "mcnemar_exact",
            "p_value": 0.0312, "regressed": 2, "improved": 1, "worse": True, "significant": True, "n_pairs": 5}])
    data = load_report_data(con, RUN_ID)
    rows = json.loads(render_json(data))["comparisons"]
    assert [(r["metric"], r["delta"], r["p_value"], r["regressed"], r["improved"]) for r in rows] == [
        ("success_rate", -0.2333, 0.0312, 2, 1)]
    assert "Δ 95% CI -60.0% – 10.0%, McNemar p=0.0312, 2 regressed / 1 improved" in render(data, "html")


def test_entries_are_encoded_one_per_line_with_the_content_of_the_plain_dict(
    con: duckdb.DuckDBPyConnection, report: dict
) -> None:
    """The summary is indented and each case and result is one line, encoded an item at a time:
    the same JSON value (secrets scrubbed, key order kept) as the report built as one dict."""
    from agentctl.core.jsonvalues import json_ready
    from agentctl.reports.json_report import report_dict

    data = load_report_data(con, RUN_ID)
    text = render_json(data)
    assert report == json.loads(json.dumps(json_ready(report_dict(data))))
    assert list(report) == list(report_dict(data)) and list(report)[-1] == "results"
    lines = text.splitlines()
    start = lines.index('  "results": [')
    entries = lines[start + 1:start + 1 + len(report["results"])]
    assert [json.loads(line.strip().rstrip(",")) for line in entries] == report["results"]
    assert lines[start + 1 + len(report["results"]):] == ["  ]", "}"]
    assert '  "format": "agentctl.report",' in lines  # the summary stays indented for people
    empty = load_report_data(con, RUN_ID)
    empty.cases = []
    assert json.loads(render_json(empty))["results"] == [] and '  "results": []' in render_json(empty)
    data = load_report_data(con, RUN_ID)
    data.cases[0].runs[0].reasons.append(f"provider said {CANARY}")
    data.cases[0].runs[0].state_diff = [{"path": "a", "old": None, "new": {"api_key": "x" * 12}}]
    leaky = render_json(data)
    assert CANARY not in leaky and "x" * 12 not in leaky
    assert "provider said [redacted]" in leaky
    jsonschema.validate(report, REPORT_SCHEMA)


def test_formats_without_timelines_render_the_same_from_a_load_without_details(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """write_reports and eval report read runs' timelines and action diffs only for the formats
    that show them (DETAILED_FORMATS): every other format is the same text without them."""
    from agentctl.reports import DETAILED_FORMATS, FORMATS

    full, lean = load_report_data(con, RUN_ID), load_report_data(con, RUN_ID, details=False)
    assert any(r.timeline for c in full.cases for r in c.runs) and any(c.diff for c in full.cases)
    assert not any(r.timeline for c in lean.cases for r in c.runs) and not any(c.diff for c in lean.cases)
    assert DETAILED_FORMATS == {"html"}
    for fmt in FORMATS.keys() - DETAILED_FORMATS:
        assert render(lean, fmt) == render(full, fmt), fmt
    assert render(lean, "html") != render(full, "html")
