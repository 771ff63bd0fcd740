"""While ``eval run`` writes, other processes read the store; a second writer still gets exit 3."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from agentctl.store.store import Store
from support.cli import invoke
from support.fake_openai import FakeOpenAI, text

TOOLS = """\
- name: get_ticket
  description: Fetch a ticket.
  effect: read
  parameters: {type: object, properties: {ticket_id: {type: integer}}}
"""


def _suite(tmp: Path, base_url: str, cases: int) -> Path:
    data = tmp / "data"
    data.mkdir()
    (data / "tools.yaml").write_text(TOOLS)
    with (data / "cases.jsonl").open("w") as f:
        for i in range(cases):
            f.write(json.dumps({"id": f"C-{i:03d}", "input": f"ticket {i}",
                                "expected": {"status": "completed", "actions": []}}) + "\n")
    suite = tmp / "suite.yaml"
    suite.write_text(f"""\
version: 1
name: readers
dataset: {data}
agent: {{system_prompt: "Route tickets.", max_steps: 3}}
candidates:
  - name: live
    model: openai/fake-agent
    params: {{api_base: "{base_url}", api_key: sk-test-readers-0000000000}}
gates:
  - {{metric: success_rate, min: 0.5}}
""")
    return suite


def _wait_for(check, deadline_s: float = 120.0):  # type: ignore[no-untyped-def]
    """Poll ``check`` until it returns something truthy (bounded; not a timing assertion)."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        got = check()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError("condition not reached")


def test_list_show_report_read_a_run_in_progress_and_a_second_writer_gets_exit_3(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(lambda body: text("Routed.", delay_s=0.4))
    suite = _suite(tmp_path, fake_openai.base_url, cases=80)
    db = tmp_path / "r.duckdb"
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "NO_COLOR": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "agentctl", "eval", "run", str(suite), "--db", str(db),
                             "--no-report", "--concurrency", "1"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        def run_with_results() -> dict[str, object] | None:
            if not db.exists():
                return None
            try:
                with Store(db, read_only=True, wait_s=1) as store:
                    runs = store.list_runs()
            except Exception:
                return None
            return runs[0] if runs and runs[0]["status"] == "running" and runs[0]["runs"] >= 2 else None

        row = _wait_for(run_with_results)
        run_id = str(row["run_id"])
        code, out = invoke("eval", "list", "--db", str(db))
        assert code == 0 and run_id in out, out
        code, out = invoke("eval", "show", run_id, "--db", str(db))
        assert code == 0, out
        code, out = invoke("eval", "report", run_id, "--db", str(db), "--format", "json", "--out", "-")
        assert code == 0, out
        report = json.loads(out)
        assert report["run"]["status"] == "running" and len(report["results"]) >= 2
        # A second writer waits for the lock, then gives up with exit 3 while the first still runs.
        code, out = invoke("eval", "run", str(suite), "--db", str(db), "--no-report")
        assert code == 3 and "in use by another agentctl process" in out, out
        assert proc.poll() is None
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    with Store(db, read_only=True) as store:
        (row,) = store.list_runs()
        assert row["status"] == "interrupted" and 2 <= row["runs"] < 80
