"""Traces from the real producer libraries import exactly: one run per conversation, with the user turns,
tool calls, tool outputs, final text and usage that the agent actually sent and received.

The producers (``requirements-dev.txt``) run the support agent of ``tests/data/traces/producers`` against
the local fake OpenAI server once per session; every mode's export is imported and compared with the
ground truth the server recorded. The committed exports of the same generator are checked too, so the
importers stay tested where the producer libraries are not installed.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest

PRODUCERS = Path(__file__).parent / "data" / "traces" / "producers"
COMMITTED = PRODUCERS / "out"
sys.path.insert(0, str(PRODUCERS))
check = importlib.import_module("check")
generate = importlib.import_module("generate")

MODES = [m.name for m in generate.MODES]
REQUIRED = ("openai", "opentelemetry.sdk", "opentelemetry.instrumentation.openai_v2", "openinference.instrumentation.openai",
            "agents", "openinference.instrumentation.openai_agents", "opentelemetry.instrumentation.openai_agents",
            "langgraph", "langchain_openai", "openinference.instrumentation.langchain")


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every producer mode run once for real, every export format written."""
    for module in REQUIRED:
        pytest.importorskip(module)
    out = tmp_path_factory.mktemp("producers")
    generate.generate(out, all_formats=True)
    return out


def _truth(mode_dir: Path) -> list[dict[str, Any]]:
    return json.loads((mode_dir / "truth.json").read_text())


def _assert_exact(mode_dir: Path, out: Path) -> None:
    truth = _truth(mode_dir)
    assert len(truth) == 10
    report, runs = check.import_mode(mode_dir, out, mode_dir.name)
    assert check.differences(runs, truth) == []
    assert report.runs_written == 10 and len(report.cases_drafted) == 10
    again, new = check.import_mode(mode_dir, out, mode_dir.name)
    assert (again.runs_written, again.already_imported, new) == (0, 10, [])
    assert again.tools_file == "kept"


@pytest.mark.producers
@pytest.mark.timeout(900)  # the first one generates every producer's export (a few minutes on 2 cores)
@pytest.mark.parametrize("mode", MODES)
def test_producer_export_imports_exactly(generated: Path, mode: str, tmp_path: Path) -> None:
    _assert_exact(generated / mode, tmp_path / "dataset")


@pytest.mark.parametrize("mode", MODES)
def test_committed_export_imports_exactly(mode: str, tmp_path: Path) -> None:
    _assert_exact(COMMITTED / mode, tmp_path / "dataset")


@pytest.mark.producers
@pytest.mark.timeout(900)  # the first one generates every producer's export (a few minutes on 2 cores)
@pytest.mark.parametrize("mode", [m.name for m in generate.MODES if m.instrument])
def test_sdk_span_json_and_console_output_import_like_otlp(generated: Path, mode: str, tmp_path: Path) -> None:
    from agentctl.datasets.importers import import_traces

    mode_dir = generated / mode
    meta = json.loads((mode_dir / "producer.json").read_text())
    logs = [mode_dir / "logs.otlp.jsonl"] if (mode_dir / "logs.otlp.jsonl").exists() else []
    for name in ("to_json.jsonl", "console.json"):
        out = tmp_path / name
        report = import_traces(meta["format"], [mode_dir / name, *logs], out, mode, redact=False)
        runs = [json.loads(line) for line in (out / "runs.jsonl").read_text().splitlines()]
        assert check.differences(runs, _truth(mode_dir)) == [], name
        assert report.runs_written == 10


def test_client_instrumentation_alone_is_grouped_by_message_chaining(tmp_path: Path) -> None:
    from agentctl.datasets.importers import import_traces

    mode_dir = COMMITTED / "otel-v2-span-only"
    report = import_traces("otel", [mode_dir / "otlp.jsonl"], tmp_path / "a", "x", redact=False)
    assert report.segments_read == sum(t["model_calls"] for t in _truth(mode_dir))
    assert report.grouping == "grouped auto (9 by message chaining, 1 by trace)"
    assert any("spanned several traces" in p.message for p in report.problems)
    per_trace = import_traces("otel", [mode_dir / "otlp.jsonl"], tmp_path / "b", "x", redact=False,
                              group_by="trace")
    assert per_trace.runs_written == report.segments_read


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "agentctl", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=240)


@pytest.mark.producers
@pytest.mark.timeout(900)  # the first one generates every producer's export (a few minutes on 2 cores)
def test_replaying_every_imported_label_reproduces_the_conversations(generated: Path, tmp_path: Path) -> None:
    dataset = tmp_path / "datasets" / "support"
    labels = [m.replace("+", "-plus-") for m in MODES]
    for mode, label in zip(MODES, labels, strict=True):
        check.import_mode(generated / mode, dataset, label)
    suite = tmp_path / "suite.yaml"
    suite.write_text("version: 1\nname: producers\ndataset: datasets/support\n"
                     "agent: {escalation_tool: escalate_to_human}\ncandidates:\n"
                     + "".join(f"  - {{name: {label}, model: 'replay:{label}'}}\n" for label in labels))
    run = _cli("eval", "run", str(suite), "--db", str(tmp_path / "x.duckdb"), "--report-dir",
               str(tmp_path / "reports"), cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    db = duckdb.connect(str(tmp_path / "x.duckdb"), read_only=True)
    cases = {json.loads(line)["input"] if isinstance(json.loads(line)["input"], str)
             else json.loads(line)["input"][-1]["content"]: json.loads(line)["id"]
             for line in (dataset / "cases.jsonl").read_text().splitlines()}
    assert len(cases) == 10  # every producer's recordings joined the same ten drafted cases
    for mode, label in zip(MODES, labels, strict=True):
        success = db.execute("SELECT value FROM metrics WHERE candidate = ? AND metric = 'success_rate' AND tag IS NULL",
                             [label]).fetchone()
        assert success == (1.0,), label
        for t in _truth(generated / mode):
            case_id = cases[t["user_turns"][-1]]
            where = "candidate = ? AND case_id = ?"
            tools = db.execute(f"SELECT tool, args FROM steps WHERE {where} AND kind = 'tool' ORDER BY step",
                               [label, case_id]).fetchall()
            assert [{"name": n, "args": json.loads(a)} for n, a in tools] == t["tool_calls"], (label, case_id)
            texts = db.execute(f"SELECT content FROM steps WHERE {where} AND kind = 'model' AND content IS NOT NULL "
                               "ORDER BY step", [label, case_id]).fetchall()
            assert texts[-1][0] == t["final_text"], (label, case_id)


MODEL_SPANS = ("ChatCompletion", "chat gpt-4o-mini", "generation", "response")


def _split_by_end_time(export: Path, marker: str, a: Path, b: Path) -> None:
    """The export as two files, as a collector rotating its file mid-run would leave it: the spans that ended
    up to the first model call whose record holds ``marker`` in the first, the rest in the second."""
    spans = []
    for line in export.read_text().splitlines():
        doc = json.loads(line)
        for rs in doc["resourceSpans"]:
            for ss in rs["scopeSpans"]:
                for span in ss["spans"]:
                    spans.append(({"resource": rs["resource"], "scope": ss["scope"]}, span))
    spans.sort(key=lambda item: int(item[1]["endTimeUnixNano"]))
    n = 1 + next(i for i, (_, s) in enumerate(spans) if s["name"] in MODEL_SPANS and marker in json.dumps(s))
    for path, part in ((a, spans[:n]), (b, spans[n:])):
        path.write_text("".join(json.dumps({"resourceSpans": [{"resource": w["resource"], "scopeSpans": [
            {"scope": w["scope"], "spans": [s]}]}]}) + "\n" for w, s in part))


@pytest.mark.parametrize("mode", ["oi-openai-app-spans", "otel-v2-span-only", "agents-oi-chat"])
def test_a_trace_cut_across_two_exports_is_completed_by_the_second_import(mode: str, tmp_path: Path) -> None:
    from agentctl.datasets.importers import import_traces

    mode_dir = COMMITTED / mode
    fmt = json.loads((mode_dir / "producer.json").read_text())["format"]
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    _split_by_end_time(mode_dir / "otlp.jsonl", "A103", a, b)  # in the middle of the fourth conversation
    out = tmp_path / "ds"
    first = import_traces(fmt, [a], out, "prod", redact=False)
    second = import_traces(fmt, [b], out, "prod", redact=False)
    assert (first.runs_written, second.runs_written, second.runs_completed) == (4, 6, 1)
    runs = [json.loads(line) for line in (out / "runs.jsonl").read_text().splitlines()]
    assert check.differences(runs, _truth(mode_dir)) == []
    cases = [json.loads(line) for line in (out / "cases.jsonl").read_text().splitlines()]
    refund = next(c for c in cases if "A103" in json.dumps(c["input"]))
    assert refund["expected"]["actions"] == [{"tool": "issue_refund", "args": {"order_id": "A103", "amount_cents": 2000}}]


def test_logged_conversations_one_per_line_import_exactly(tmp_path: Path) -> None:
    from agentctl.datasets.importers import import_traces

    mode_dir = COMMITTED / "openai-client-logs"
    report = import_traces("openai", [mode_dir / "conversations.jsonl"], tmp_path / "ds", "prod", redact=False)
    runs = [json.loads(line) for line in (tmp_path / "ds" / "runs.jsonl").read_text().splitlines()]
    assert check.differences(runs, _truth(mode_dir)) == []
    assert report.grouping == "grouped auto (10 by conversation id)"
