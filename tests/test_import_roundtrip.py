"""Round trip through the CLI: import a recording, replay it with ``eval run``, get the same calls and answer."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb

from agentctl.datasets.redact import KEY_FILE, Redactor
from support.traces import TRACES, calls_of, final_text, runs_of, scenario_of

SOURCES = {
    "openai": ["openai/support.jsonl"],
    "otel": ["otel/collector_file.json", "otel/otlp_structured.json"],
    "otel-events": ["otel/deprecated_events.jsonl"],
    "openinference": ["openinference/phoenix_spans.jsonl"],
}


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "agentctl", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=240)


def _import(tmp_path: Path, fmt: str, files: list[str], label: str, *extra: str) -> Path:
    out = tmp_path / "datasets" / "imported"
    done = _cli("dataset", "import", "--from", fmt.split("-")[0], *[str(TRACES / f) for f in files],
                "--out", str(out), "--label", label, *extra, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def _replay(tmp_path: Path, labels: list[str]) -> duckdb.DuckDBPyConnection:
    suite = tmp_path / "suite.yaml"
    suite.write_text("version: 1\nname: imported\ndataset: datasets/imported\n"
                     "agent: {escalation_tool: escalate_to_human}\ncandidates:\n"
                     + "".join(f"  - {{name: {label}, model: 'replay:{label}'}}\n" for label in labels))
    run = _cli("eval", "run", str(suite), "--db", str(tmp_path / "x.duckdb"), "--report-dir",
               str(tmp_path / "reports"), cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr  # no gates: nothing can fail
    return duckdb.connect(str(tmp_path / "x.duckdb"), read_only=True)


def _replayed(db: duckdb.DuckDBPyConnection, candidate: str, case_id: str) -> tuple[list[tuple[str, object]], str | None]:
    where = "candidate = ? AND case_id = ?"
    tools = db.execute(f"SELECT tool, args FROM steps WHERE {where} AND kind = 'tool' ORDER BY step",
                       [candidate, case_id]).fetchall()
    texts = db.execute(f"SELECT content FROM steps WHERE {where} AND kind = 'model' AND content IS NOT NULL "
                       "ORDER BY step", [candidate, case_id]).fetchall()
    return [(t, json.loads(a)) for t, a in tools], (texts[-1][0] if texts else None)


def test_replay_reproduces_the_recorded_calls_and_answer(tmp_path: Path) -> None:
    # every format imported under its own label into one dataset, replayed by one candidate per label
    for fmt, files in SOURCES.items():
        out = _import(tmp_path, fmt, files, fmt, "--no-redact")
    db = _replay(tmp_path, list(SOURCES))
    runs = runs_of(out)
    assert sorted(r["label"] for r in runs) == sorted(list(SOURCES) * 3)
    for run in runs:
        sc = scenario_of(run)
        calls, answer = _replayed(db, run["label"], run["case_id"])
        assert calls == calls_of(sc["messages"]), (run["label"], sc["name"])
        assert answer == final_text(sc["messages"]), (run["label"], sc["name"])
        status, correct = db.execute("SELECT status, correct FROM results WHERE candidate = ? AND case_id = ?",
                                     [run["label"], run["case_id"]]).fetchone()
        assert status == ("escalated" if sc["name"] == "closure" else "completed")
        assert correct  # the drafts describe what the recording did, so the recording passes them


def test_redacted_import_leaks_nothing_and_still_replays(tmp_path: Path) -> None:
    out = _import(tmp_path, "openinference", SOURCES["openinference"], "prod")
    db = _replay(tmp_path, ["prod"])
    planted = ["jane.doe@example.com", "4111 1111 1111 1111", "sk-proj-Ab12Cd34Ef56Gh78Ij90Kl12Mn34",
               "DE89 3704 0044 0532 0130 00", "+1 415 555 0100"]
    stored = json.dumps(db.execute("SELECT * FROM steps").fetchall(), default=str)
    written = [p.read_text(errors="replace") for p in tmp_path.rglob("*")
               if p.is_file() and p.suffix != ".duckdb" and p.name != KEY_FILE]
    for value in planted:
        assert value not in stored and all(value not in text for text in written), value
    redactor = Redactor(key=(out / KEY_FILE).read_text().strip().encode())
    for run in runs_of(out):
        sc = scenario_of_redacted(run, redactor)
        calls, answer = _replayed(db, "prod", run["case_id"])
        assert calls == [(n, redactor.value(a)) for n, a in calls_of(sc["messages"])]
        assert answer == (redactor.text(final_text(sc["messages"]) or "") or None)
    assert db.execute("SELECT bool_and(correct) FROM results").fetchone() == (True,)


def scenario_of_redacted(run: dict[str, object], redactor: Redactor) -> dict[str, object]:
    from support.traces import scenarios

    user = next(m["content"] for m in run["messages"] if m["role"] == "user")  # type: ignore[attr-defined]
    return next(s for s in scenarios().values() if redactor.text(s["messages"][1]["content"]) == user)
