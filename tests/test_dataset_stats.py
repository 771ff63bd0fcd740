"""``dataset stats`` and ``dataset validate`` on imported datasets."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentctl.commands.dataset import dataset_app
from agentctl.datasets.importers import import_traces
from agentctl.datasets.stats import dataset_stats
from support.traces import TRACES, runs_of, scenarios

runner = CliRunner()


def _list_price(model: str) -> tuple[float, float]:
    spec = importlib.util.find_spec("litellm")
    assert spec is not None and spec.origin is not None
    prices = json.loads((Path(spec.origin).parent / "model_prices_and_context_window_backup.json").read_text())
    return prices[model]["input_cost_per_token"], prices[model]["output_cost_per_token"]


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    out = tmp_path / "ds"
    import_traces("openinference", [TRACES / "openinference" / "phoenix_spans.jsonl"], out, "prod")
    import_traces("openai", [TRACES / "openai" / "support.jsonl"], out, "canary")
    return out


def test_counts_labels_tools_writes_and_review(dataset: Path) -> None:
    s = dataset_stats(dataset)
    # the same three requests under two labels; the canary refund names its case (T-883192), so it gets its own
    assert (s.cases, s.runs) == (4, 6)
    assert {k: (v.runs, v.cases) for k, v in s.labels.items()} == {"canary": (3, 3), "prod": (3, 3)}
    calls = {}
    for sc in scenarios().values():
        for m in sc["messages"]:
            for c in m.get("tool_calls") or []:
                calls[c["function"]["name"]] = calls.get(c["function"]["name"], 0) + 2
    assert {n: t["calls"] for n, t in s.tools.items()} == calls
    assert s.tools["issue_refund"]["effect"] == "write" and s.tools["get_ticket"]["effect"] == "read"
    # refund: 1 write; priority: 1 (the failed one changed nothing); closure: 0 (a hand-off is not a write)
    assert s.write_calls_per_run == {"mean": 0.6667, "median": 1.0, "max": 1.0}
    assert (s.pending_review, s.pending_review_share) == (4, 1.0)
    assert s.tags == {"support": 3, "refund": 1, "priority": 1, "closure": 1}
    lines = (dataset / "cases.jsonl").read_text().splitlines()
    reviewed = json.loads(lines[0])
    del reviewed["review"]
    (dataset / "cases.jsonl").write_text("\n".join([json.dumps(reviewed), *lines[1:]]) + "\n")
    assert dataset_stats(dataset).pending_review_share == 0.75


def test_recordings_with_invalid_tool_arguments(dataset: Path) -> None:
    s = dataset_stats(dataset)
    # the recorded catalog says priority is one of low/normal/urgent: the 'urgnt' attempts do not fit
    assert sorted((c.tool, c.reason) for c in s.invalid_calls) == [
        ("update_ticket", "priority: 'urgnt' is not one of ['low', 'normal', 'urgent']")] * 2
    assert s.runs_with_invalid_calls == 2
    runs = runs_of(dataset)
    broken = dict(runs[0], run_id="broken-args")
    broken["messages"] = [dict(m) for m in broken["messages"]]
    call_turn = next(m for m in broken["messages"] if m.get("tool_calls"))
    call_turn["tool_calls"] = [dict(call_turn["tool_calls"][0], function={"name": "get_ticket",
                                                                          "arguments": "{\"ticket_id\": 88"})]
    with (dataset / "runs.jsonl").open("a") as fh:
        fh.write(json.dumps(broken) + "\n")
    s = dataset_stats(dataset)
    bad = [c for c in s.invalid_calls if c.run_id == "broken-args"]
    assert len(bad) == 1 and bad[0].line == len(runs) + 1 and "not valid JSON" in bad[0].reason
    assert s.runs_with_invalid_calls == 3


def test_replay_cost_recorded_estimated_and_unpriced(dataset: Path) -> None:
    runs = runs_of(dataset)
    runs[0]["cost_usd"] = 0.5
    runs[1]["model"] = "not-a-known-model"
    (dataset / "runs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in runs))
    s = dataset_stats(dataset)
    inp, outp = _list_price("gpt-4o-2024-08-06")
    expected: dict[str, float] = {}
    for i, r in enumerate(runs):
        cost = 0.5 if i == 0 else (0.0 if i == 1 or "usage" not in r else
                                   r["usage"]["prompt_tokens"] * inp + r["usage"]["completion_tokens"] * outp)
        expected[r["label"]] = expected.get(r["label"], 0.0) + cost
    assert {k: v.cost_usd for k, v in s.labels.items()} == pytest.approx(expected)
    assert s.replay_cost_usd == pytest.approx(sum(expected.values()))
    assert s.labels["prod"].unpriced_runs == 1 and s.labels["prod"].estimated_runs == 1
    # the canary line without usage or model cannot be priced
    assert s.labels["canary"].unpriced_runs == 1


def test_cli_stats_and_validate(dataset: Path, tmp_path: Path) -> None:
    result = runner.invoke(dataset_app, ["stats", str(dataset), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["runs"] == 6
    human = runner.invoke(dataset_app, ["stats", str(dataset)])
    assert human.exit_code == 0 and "pending review" in human.output and "update_ticket" in human.output
    assert runner.invoke(dataset_app, ["validate", str(dataset)]).exit_code == 0
    missing = runner.invoke(dataset_app, ["stats", str(tmp_path / "nope")])
    assert missing.exit_code == 2
    (dataset / "cases.jsonl").write_text((dataset / "cases.jsonl").read_text() + '{"id": "x", "inptu": 1}\n')
    for command in ("stats", "validate"):
        bad = runner.invoke(dataset_app, [command, str(dataset)])
        assert bad.exit_code == 2 and "cases.jsonl:5" in bad.output, (command, bad.output)


def test_dataset_commands_import_no_heavy_library(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from agentctl.main import app\n"
        f"src = {str(TRACES / 'otel' / 'collector_file.json')!r}; out = {str(tmp_path / 'ds')!r}\n"
        "assert CliRunner().invoke(app, ['dataset', 'import', '--from', 'otel', src, '--out', out]).exit_code == 0\n"
        "assert CliRunner().invoke(app, ['dataset', 'stats', out]).exit_code == 0\n"
        "print(sorted(m for m in ('litellm', 'pandas', 'scipy', 'deepeval', 'ragas') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
