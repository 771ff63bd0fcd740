"""Compare what ``agentctl dataset import`` made of a producer's export with the ground truth.

    python tests/data/traces/producers/check.py [OUT]     # a table: mode, conversations, runs, exact

Used by tests/test_import_producers.py; also handy after a producer upgrade.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def sources(mode_dir: Path) -> list[Path]:
    meta = json.loads((mode_dir / "producer.json").read_text())
    files = [mode_dir / f for f in meta["files"] if f != "calls.jsonl" or meta["format"] != "openai"]
    if meta["format"] == "openai":
        return [mode_dir / "calls.jsonl"]
    return files if "otlp.jsonl" not in meta["files"] else [mode_dir / "otlp.jsonl", *(
        [mode_dir / "logs.otlp.jsonl"] if (mode_dir / "logs.otlp.jsonl").exists() else [])]


def imported_view(run: dict[str, Any]) -> dict[str, Any]:
    """A run of runs.jsonl in the terms of the ground truth."""
    messages = run["messages"]
    texts = [m.get("content") for m in messages if m["role"] == "assistant" and m.get("content")]
    return {
        "user_turns": [m.get("content") for m in messages if m["role"] == "user"],
        "tool_calls": [{"name": c["function"]["name"], "args": json.loads(c["function"]["arguments"] or "{}")}
                       for m in messages if m["role"] == "assistant" for c in m.get("tool_calls") or []],
        "tool_outputs": [m.get("content") for m in messages if m["role"] == "tool"],
        "final_text": texts[-1] if texts and not messages[-1].get("tool_calls") else None,
        "usage": run.get("usage"),
    }


KEYS = ("user_turns", "tool_calls", "tool_outputs", "final_text", "usage")


def output_value(text: Any) -> Any:
    """A tool output as a value: JSON, or the Python repr some producers record (``str(dict)``), else the text.
    Producers differ in how they serialise the same output (the Agents SDK sends ``str(dict)`` to the model,
    its instrumentation records ``json.dumps``); the value is what must survive the import."""
    import ast

    if isinstance(text, str):
        try:
            return json.loads(text)
        except ValueError:
            try:
                return ast.literal_eval(text)
            except (ValueError, SyntaxError):
                return text
    return text


def differences(runs: list[dict[str, Any]], truth: list[dict[str, Any]]) -> list[str]:
    """What differs, conversation by conversation ([] when the import is exact)."""
    out: list[str] = []
    if len(runs) != len(truth):
        out.append(f"{len(runs)} runs for {len(truth)} conversations")
    views = [imported_view(r) for r in runs]
    for t in truth:
        match = [v for v in views if v["user_turns"] and v["user_turns"][-1:] == t["user_turns"][-1:]]
        if len(match) != 1:
            out.append(f"{t['conversation']}: {len(match)} runs")
            continue
        for key in KEYS:
            got, sent = match[0][key], t[key]
            if key == "tool_outputs":
                got, sent = [output_value(x) for x in got], [output_value(x) for x in sent]
            if got != sent:
                out.append(f"{t['conversation']}: {key}: imported {match[0][key]!r}, sent {t[key]!r}")
    return out


def import_mode(mode_dir: Path, out: Path, label: str) -> tuple[Any, list[dict[str, Any]]]:
    from agentctl.datasets.importers import import_traces

    meta = json.loads((mode_dir / "producer.json").read_text())
    before = _runs(out)
    report = import_traces(meta["format"], sources(mode_dir), out, label, redact=False)
    return report, [r for r in _runs(out)[len(before):]]


def _runs(out: Path) -> list[dict[str, Any]]:
    path = out / "runs.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "out"
    with tempfile.TemporaryDirectory() as tmp:
        for mode_dir in sorted(p for p in root.iterdir() if (p / "producer.json").exists()):
            truth = json.loads((mode_dir / "truth.json").read_text())
            report, runs = import_mode(mode_dir, Path(tmp) / mode_dir.name, mode_dir.name)
            diffs = differences(runs, truth)
            print(f"{mode_dir.name:28} conversations {len(truth):2}  runs {len(runs):2}  "
                  f"{'exact' if not diffs else 'NOT exact'}  grouped by {getattr(report, 'grouping', '?')}")
            for d in diffs[:int(sys.argv[2]) if len(sys.argv) > 2 else 3]:
                print("    " + d[:300])


if __name__ == "__main__":
    main()
