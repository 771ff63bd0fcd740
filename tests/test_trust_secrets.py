"""Issue 11, secrets by structure: userinfo, header values, credential-shaped params, scorer errors.

The canaries here match none of the key-like text patterns (no ``sk-`` prefix): only
redaction by structure can keep them out.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from support.fake_openai import FakeOpenAI, Reply, error, text
from support.faults import all_rows, write_suite

PASSWORD = "pw-canary-Hq73LmZx91"
HEADER = "hdr-canary-Vb28KwPq55"
JUDGE_KEY = "judge-canary-Tn64RsYe07"
AWS = "aws-canary-Jm19XcUo42"


def _run(suite: Path, db: Path, reports: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "COLUMNS": "200", "OPENAI_API_KEY": "sk-dummy-0000"}
    return subprocess.run(
        [sys.executable, "-m", "agentctl", "eval", "run", str(suite), "--db", str(db), "--report-dir", str(reports),
         "--junit", str(reports / "junit.xml"), "--concurrency", "1"],
        capture_output=True, text=True, env=env, cwd=suite.parent, timeout=300)


def test_userinfo_headers_credential_params_and_judge_errors_reach_no_output(
        tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    def handler(body: dict) -> Reply:
        if body["model"] == "fake-judge":  # a judge endpoint that echoes the credential it was sent
            return error(401, body={"error": {"message": f"invalid credential {JUDGE_KEY} for tenant {HEADER}"}})
        return text("answer 0" if "number 0" in str(body["messages"]) else "answer 1")

    fake_openai.script(handler)
    host = fake_openai.base_url.split("://", 1)[1]
    params = {"api_base": fake_openai.base_url, "api_key": "sk-dummy-0000",
              "extra_headers": {"X-Tenant": HEADER}, "aws_secret_access_key": AWS}
    # userinfo in the endpoint: this candidate's calls fail, so its provider errors are checked too
    userinfo = {"api_base": f"http://svc:{PASSWORD}@{host}", "api_key": "sk-dummy-0000"}
    judge_params = {"api_base": fake_openai.base_url, "api_key": JUDGE_KEY}
    suite = write_suite(tmp_path, fake_openai.base_url, n_cases=2,
                        candidates=[{"name": "live", "model": "openai/fake-agent", "params": params},
                                    {"name": "userinfo", "model": "openai/fake-agent", "params": userinfo}],
                        execution={"retry": {"max_attempts": 1}},
                        scorers=[{"name": "deepeval.g_eval", "judge": "openai/fake-judge", "judge_params": judge_params,
                                  "args": {"criteria": "The reply is polite.", "threshold": 0.5}}],
                        pricing={"openai/fake-agent": {"input_usd_per_mtok": 1, "output_usd_per_mtok": 1},
                                 "openai/fake-judge": {"input_usd_per_mtok": 1, "output_usd_per_mtok": 1}})
    db, reports = tmp_path / "x.duckdb", tmp_path / "reports"
    proc = _run(suite, db, reports)
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    # the credentials did go out (so the test would see them if they leaked)
    assert any(h.get("x-tenant") == HEADER for h in fake_openai.request_headers)
    rows = all_rows(db)
    assert "invalid credential" in repr(rows["scores"]), rows["scores"]  # the judge error was stored...
    outputs = {"stdout": proc.stdout, "stderr": proc.stderr, "store": repr(rows),
               "store bytes": db.read_bytes().decode("latin-1")}
    for path in reports.rglob("*"):
        if path.is_file():
            outputs[str(path)] = path.read_text(encoding="utf-8", errors="replace")
    for secret in (PASSWORD, HEADER, JUDGE_KEY, AWS):  # ...but none of the secrets
        leaked = [name for name, value in outputs.items() if secret in value]
        assert not leaked, f"{secret} found in {leaked}"
    assert "svc:***@" in repr(rows["eval_runs"])  # the endpoint is still recognisable


def test_scrub_params_works_by_structure() -> None:
    from agentctl.core.secrets import scrub_params

    scrubbed = scrub_params({
        "api_base": f"https://svc:{PASSWORD}@host/v1", "extra_headers": {"X-Anything": HEADER},
        "vertex_credentials": AWS, "aws_access_key_id": AWS, "azure_ad_token": AWS, "client_secret": AWS,
        "max_tokens": 5, "temperature": 0.2, "nested": [{"api_key": AWS}],
    })
    assert scrubbed["api_base"] == "https://svc:***@host/v1"
    assert scrubbed["extra_headers"] == {"X-Anything": "***"}
    assert scrubbed["max_tokens"] == 5 and scrubbed["temperature"] == 0.2
    assert AWS not in repr(scrubbed)
