"""Bad input to ``dataset import``: each problem names file and line or span, the rest is imported."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from agentctl.commands.dataset import dataset_app
from agentctl.core.errors import InputError
from agentctl.datasets.importers import import_traces
from support.traces import TRACES, runs_of

runner = CliRunner()


def _messages(report) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(p) for p in report.problems]


def test_openai_file_with_every_kind_of_bad_line(tmp_path: Path) -> None:
    src = TRACES / "openai" / "broken.jsonl"
    report = import_traces("openai", [src], tmp_path, "prod")
    msgs = _messages(report)
    rel = "tests/data/traces/openai/broken.jsonl"

    def one(fragment: str) -> str:
        found = [m for m in msgs if fragment in m]
        assert len(found) == 1, (fragment, msgs)
        return found[0]

    assert one("call_zzz").startswith(f"{rel}:2: run conv_orphan: tool result for call call_zzz has no matching")
    assert one("got list").startswith(f"{rel}:3: ")
    assert one("not UTF-8").startswith(f"{rel}:4: warning: ")
    assert one("not valid JSON").startswith(f"{rel}:5: ")
    assert one("'channel'").startswith(f"{rel}:1: warning: unknown field")
    assert report.skipped == {"tool result without a call": 1, "not a conversation": 1, "invalid JSON line": 1}
    runs = {r["run_id"]: r for r in runs_of(tmp_path)}
    assert set(runs) == {"conv_ok", "conv_orphan", "conv_latin1"}
    assert [m.get("tool_call_id") for m in runs["conv_orphan"]["messages"] if m["role"] == "tool"] == ["call_o"]
    assert "cr\ufffdme" in runs["conv_latin1"]["messages"][0]["content"]


def test_otel_missing_parent_unknown_attribute_and_truncation(tmp_path: Path) -> None:
    report = import_traces("otel", [TRACES / "otel" / "broken.jsonl"], tmp_path, "prod")
    msgs = _messages(report)
    rel = "tests/data/traces/otel/broken.jsonl"
    assert any(m.startswith(f"{rel}:1: warning: span 02f92f3577b34da6 (trace 5cf92f3577b34da6a3ce929d0e0e4737): "
                            "parent span deadbeefdeadbeef is not in the export") for m in msgs), msgs
    assert any(m.startswith(f"{rel}:1: warning: span ") and "unknown attribute 'gen_ai.agent.mood'" in m
               for m in msgs), msgs
    assert any(m.startswith(f"{rel}:2: line is not valid JSON") for m in msgs), msgs
    assert report.skipped == {"invalid JSON line": 1} and report.runs_written == 1
    (run,) = runs_of(tmp_path)
    # the orphaned tool span still answered its call
    assert any(m.get("tool_call_id") == "call_1" for m in run["messages"])


def test_openinference_missing_parent_unknown_attribute_and_truncation(tmp_path: Path) -> None:
    report = import_traces("openinference", [TRACES / "openinference" / "broken.jsonl"], tmp_path, "prod")
    msgs = _messages(report)
    rel = "tests/data/traces/openinference/broken.jsonl"
    assert any(m.startswith(f"{rel}:3: warning: span 02f92f3577b34da6") and "parent span cafebabecafebabe" in m
               for m in msgs), msgs
    assert any(m.startswith(f"{rel}:2: warning: span 01f92f3577b34da6: unknown attribute 'llm.temperature_guess'")
               for m in msgs), msgs
    assert any(m.startswith(f"{rel}:7: line is not valid JSON") for m in msgs), msgs
    assert report.runs_written == 1


def test_truncated_json_document_and_runs_without_content(tmp_path: Path) -> None:
    whole = (TRACES / "otel" / "otlp_structured.json").read_text()
    cut = tmp_path / "cut.json"
    cut.write_text(whole[: len(whole) // 2])
    empty_user = tmp_path / "nouser.jsonl"
    empty_user.write_text(json.dumps({"id": "r1", "messages": [{"role": "assistant", "content": "hi"}]}) + "\n")
    report = import_traces("otel", [cut], tmp_path / "a", "prod")
    (problem,) = report.problems
    assert str(problem).startswith(f"{cut}:") and "truncated" in str(problem) and problem.line
    report = import_traces("openai", [empty_user], tmp_path / "b", "prod")
    assert any("run r1: no user message recorded" in m for m in _messages(report))
    assert report.runs_written == 0


def test_cli_reports_skips_and_exits_by_strictness(tmp_path: Path) -> None:
    src = str(TRACES / "openai" / "broken.jsonl")
    ok = runner.invoke(dataset_app, ["import", "--from", "openai", src, "--out", str(tmp_path / "a")])
    assert ok.exit_code == 0, ok.output
    assert "broken.jsonl:5:" in ok.output and "skipped: " in ok.output
    strict = runner.invoke(dataset_app, ["import", "--from", "openai", src, "--out", str(tmp_path / "b"), "--strict"])
    assert strict.exit_code == 2


def test_cli_usage_errors_exit_2_with_a_message(tmp_path: Path) -> None:
    src = str(TRACES / "openai" / "support.jsonl")
    bad = runner.invoke(dataset_app, ["import", "--from", "otl", src, "--out", str(tmp_path)])
    assert bad.exit_code == 2 and "did you mean 'otel'" in bad.output
    missing = runner.invoke(dataset_app, ["import", "--from", "openai", str(tmp_path / "nope.jsonl"),
                                          "--out", str(tmp_path)])
    assert missing.exit_code == 2 and "source not found" in missing.output
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "cases.jsonl").write_text('{"id": "a", "input": "x"}\n{"id": "b", "inptu": "y"}\n')
    broken = runner.invoke(dataset_app, ["import", "--from", "openai", src, "--out", str(tmp_path / "ds")])
    assert broken.exit_code == 2 and "cases.jsonl:2" in broken.output
    nothing = tmp_path / "nothing.jsonl"
    nothing.write_text('{"messages": [\n')
    empty = runner.invoke(dataset_app, ["import", "--from", "openai", str(nothing), "--out", str(tmp_path / "e")])
    assert empty.exit_code == 2 and "nothing.jsonl:1:" in empty.output


def test_unknown_format_is_an_input_error() -> None:
    try:
        import_traces("jaeger", [TRACES], Path("unused"), "prod")
    except InputError as exc:
        assert "expected one of openai, openinference, otel" in str(exc)
    else:
        raise AssertionError("no error for an unknown format")
