"""Imports that find nothing write nothing; messages are kept without producer junk; the CLI says what it did.

Uses the committed producer exports (tests/data/traces/producers/out), so it needs no producer library.
"""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from agentctl.datasets.importers import import_traces
from agentctl.main import app

OUT = Path(__file__).parent / "data" / "traces" / "producers" / "out"
runner = CliRunner()


def test_an_import_that_writes_no_run_leaves_no_file(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    # the logs export alone: its records name spans that are not there, so nothing can be imported
    result = runner.invoke(app, ["dataset", "import", "--from", "otel", str(OUT / "otel-v2-event-only" / "logs.otlp.jsonl"),
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "0 run(s) written" in result.output and "nothing imported: nothing written" in result.output
    assert "pass the traces export beside the logs export" in result.output
    assert not out.exists()


def test_an_empty_tools_yaml_left_behind_is_inferred_anew(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    out.mkdir()
    (out / "tools.yaml").write_text("[]\n")
    report = import_traces("openai", [OUT / "openai-client-logs" / "calls.jsonl"], out, "prod", redact=False)
    assert report.tools_file == "inferred" and report.runs_written == 10
    names = {line.split(":", 1)[1].strip() for line in (out / "tools.yaml").read_text().splitlines()
             if line.startswith("- name:")}
    assert names == {"get_order", "issue_refund", "escalate_to_human", "get_account", "cancel_order", "update_address"}


def test_logged_openai_calls_import_without_junk_keys_or_false_warnings(tmp_path: Path) -> None:
    report = import_traces("openai", [OUT / "openai-client-logs" / "calls.jsonl"], tmp_path / "ds", "prod",
                           redact=False)
    assert not [p for p in report.problems if "function_call" in p.message]
    runs = [json.loads(line) for line in (tmp_path / "ds" / "runs.jsonl").read_text().splitlines()]
    keys = {k for r in runs for m in r["messages"] for k in m}
    assert not keys & {"refusal", "annotations", "audio", "function_call"}
    truth = json.loads((OUT / "openai-client-logs" / "truth.json").read_text())
    assert sum(r["usage"]["prompt_tokens"] for r in runs) == sum(t["usage"]["prompt_tokens"] for t in truth)


def test_failed_write_recorded_as_a_repr_is_not_drafted_as_an_expected_action(tmp_path: Path) -> None:
    import_traces("openinference", [OUT / "agents-oi-chat" / "otlp.jsonl"], tmp_path / "ds", "prod", redact=False)
    cases = [json.loads(line) for line in (tmp_path / "ds" / "cases.jsonl").read_text().splitlines()]
    refund = next(c for c in cases if "A102" in json.dumps(c["input"]))
    assert refund["expected"]["status"] == "escalated" and refund["expected"].get("actions", []) == []
    assert {"tool": "issue_refund", "args": {"order_id": "A102", "amount_cents": 15000},
            "output": {"error": "refund_limit_exceeded"}} in refund["fixtures"]
    hi = [c["input"] for c in cases if isinstance(c["input"], list)]
    assert [[m["content"] for m in i] for i in hi] == [["Hi", "Cancel order A104 please."],
                                                       ["Hi", "What is the status of order A105?"]]


def test_cli_reimport_and_validate_say_what_is_left_to_do(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    args = ["dataset", "import", "--from", "openai", str(OUT / "openai-client-logs" / "calls.jsonl"), "--out", str(out)]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "21 trace(s) or logged call(s) grouped auto (9 by message chaining, 1 by trace)" in first.output
    assert "spanned several traces" in first.output
    again = runner.invoke(app, args)
    assert "0 run(s) written" in again.output and "redacted" not in again.output
    checked = runner.invoke(app, ["dataset", "validate", str(out)])
    assert checked.exit_code == 0, checked.output
    assert '10 of 10 case(s) still "review": "pending"' in checked.output
