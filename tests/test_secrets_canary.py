"""A canary API key, planted in the environment and in candidate params, never reaches any output."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from support.fake_openai import FakeOpenAI, Reply, error
from support.faults import FaultSchedule, all_rows, write_suite

CANARY = "sk-canary-7Qx2ZpL9mW4rT8vY1nB6"
ENV_CANARY = "sk-canary-env-K3j8Hs5Df2Ga9Lq4"


def _run(suite: Path, db: Path, reports: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "OPENAI_API_KEY": ENV_CANARY,
           "LITELLM_LOG": "DEBUG", "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "agentctl", "eval", "run", str(suite), "--db", str(db), "--report-dir", str(reports),
         "--junit", str(reports / "junit.xml"), *extra],
        capture_output=True, text=True, env=env, cwd=suite.parent, timeout=120)


def test_canary_key_reaches_no_store_report_log_or_error(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    def handler(body: dict) -> Reply:
        if body["model"] == "fake-other":  # the provider echoes the key back, as some do
            return error(401, body={"error": {"message": f"Incorrect API key provided: {CANARY}"}})
        return schedule(body)

    # the healthy model fails each call once, with the key in the error message
    schedule = FaultSchedule(lambda c, t, a: error(500, body={"error": {"message": f"boom {CANARY} {ENV_CANARY}"}})
                             if a == 1 else None)

    fake_openai.script(handler)
    params = {"api_base": fake_openai.base_url, "api_key": CANARY, "extra_headers": {"Authorization": f"Bearer {CANARY}"}}
    suite = write_suite(tmp_path, fake_openai.base_url, n_cases=3, candidates=[
        {"name": "ok", "model": "openai/fake-agent", "params": params},
        {"name": "unauthorised", "model": "openai/fake-other", "params": params},
        {"name": "env-key", "model": "openai/fake-agent", "params": {"api_base": fake_openai.base_url}},
    ], execution={"retry": {"max_attempts": 2, "backoff_s": 0.01}})
    db, reports = tmp_path / "x.duckdb", tmp_path / "reports"
    proc = _run(suite, db, reports, "--concurrency", "1", "--no-cache")  # env-key must really call
    assert proc.returncode == 3, proc.stderr[-3000:]  # the unauthorised candidate's breaker opened
    # the keys did go out on the wire (so the test would see them if they leaked)
    sent = {h.get("authorization") for h in fake_openai.request_headers}
    assert f"Bearer {CANARY}" in sent and f"Bearer {ENV_CANARY}" in sent

    outputs = {"stdout": proc.stdout, "stderr": proc.stderr}
    for path in reports.rglob("*"):
        if path.is_file():
            outputs[str(path)] = path.read_text(encoding="utf-8", errors="replace")
    outputs["store (every table)"] = repr(all_rows(db))
    outputs["store (raw bytes)"] = db.read_bytes().decode("latin-1")
    for secret in (CANARY, ENV_CANARY, "canary-7Qx2", "canary-env"):
        leaked = [name for name, text in outputs.items() if secret in text]
        assert not leaked, f"{secret} found in {leaked}"
    # every report was written (and so searched above), and the store holds the failing candidate
    assert sorted(Path(name).suffix for name in outputs if name.startswith(str(reports))) == [
        ".html", ".json", ".md", ".xml"]
    assert "unauthorised" in outputs["store (every table)"]


def test_litellm_debug_logs_are_redacted() -> None:
    import io
    import logging

    from agentctl.core.secrets import remember_secrets
    from agentctl.providers.litellm_setup import import_litellm

    import_litellm()
    remember_secrets([CANARY])
    logger = logging.getLogger("LiteLLM")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        logger.debug("POST Request Sent: curl -H 'Authorization: Bearer %s' -d '{\"api_key\": \"%s\"}'", CANARY, CANARY)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert "POST Request Sent" in stream.getvalue() and CANARY not in stream.getvalue()
