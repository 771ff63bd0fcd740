"""The command line end to end: every exit code, and the commands that read the store."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
import yaml
from typer.testing import CliRunner

from agentctl.main import app
from support.golden import golden_text

ROOT = Path(__file__).resolve().parents[1]
DEMO_SUITE = ROOT / "evalsuites" / "support-triage.yaml"
DEMO_DATA = ROOT / "datasets" / "support-triage"


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.output


def write_suite(tmp_path: Path, **changes: object) -> Path:
    suite = yaml.safe_load(DEMO_SUITE.read_text())
    suite["dataset"] = str(DEMO_DATA)
    suite["agent"]["system_prompt"] = str(DEMO_DATA / "prompts" / "v3.md")
    for cand in suite["candidates"]:
        cand["system_prompt"] = str(DEMO_DATA / "prompts" / "v4.md")
    suite.pop("scorers", None)
    suite["gates"] = [g for g in suite["gates"] if not str(g.get("metric", "")).startswith(("mean:", "score:"))]
    suite.update(changes)
    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump(suite, sort_keys=False))
    return path


def run_id_of(db: Path) -> str:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT run_id FROM eval_runs ORDER BY started_at DESC LIMIT 1").fetchone()[0]


# Tests of the demo run share one worker under pytest-xdist (make test: --dist loadgroup), so
# the module fixture runs the demo once rather than once per worker.
DEMO = pytest.mark.xdist_group("cli-demo-run")


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    tmp = tmp_path_factory.mktemp("demo")
    db = tmp / "demo.duckdb"
    code, out = invoke("eval", "run", str(write_suite(tmp)), "--db", str(db), "--report-dir", str(tmp / "reports"),
                       "--junit", str(tmp / "junit.xml"), env={"GITHUB_STEP_SUMMARY": str(tmp / "step-summary.md")})
    assert code == 1, out  # the demo candidate fails its gates by design
    return db, run_id_of(db), out


@DEMO
def test_exit_1_when_a_gate_fails_and_everything_is_stored(demo_run: tuple[Path, str, str]) -> None:
    db, run_id, out = demo_run
    assert run_id in out and "FAIL" in out
    # on GitHub Actions the Markdown summary goes to the job summary too
    md = next((db.parent / "reports").glob("*.md")).read_text(encoding="utf-8")
    assert (db.parent / "step-summary.md").read_text(encoding="utf-8") == md
    with duckdb.connect(str(db), read_only=True) as con:
        runs = con.execute("SELECT count(*), count(DISTINCT (case_id, candidate, repeat)) FROM results").fetchone()
        assert runs == (440, 440)
        status, code = con.execute("SELECT status, exit_code FROM eval_runs").fetchone()
        assert (status, code) == ("finished", 1)
        failed = con.execute("SELECT gate FROM gates WHERE NOT passed ORDER BY gate").fetchall()
        assert ("regression(success_rate)",) in failed
        assert con.execute("SELECT count(*) FROM steps").fetchone()[0] == 4919  # 52 of them user turns of multi-message recordings
        assert con.execute("SELECT count(*) FROM metrics WHERE tag IS NULL AND metric='success_rate'"
                           ).fetchone()[0] == 2
        # The golden cases as evaluated are kept with the run (reports need not find the dataset).
        cases, with_actions = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE json_array_length(expected->'actions') > 0) FROM cases"
        ).fetchone()
        assert (cases, with_actions) == (220, 220)  # every demo case expects at least one write


def test_exit_0_when_every_gate_passes(tmp_path: Path) -> None:
    suite = write_suite(tmp_path, gates=[{"metric": "success_rate", "min": 0.9, "candidates": ["prod"]},
                                         {"metric": "critical_error_rate", "max": 0.05, "candidates": ["prod"]}])
    code, out = invoke("eval", "run", str(suite), "--db", str(tmp_path / "x.duckdb"), "--no-report",
                       "--candidate", "prod")
    assert code == 0, out
    assert "PASS" in out


def test_exit_2_for_a_bad_suite_names_file_line_and_key(tmp_path: Path) -> None:
    suite = write_suite(tmp_path)
    text = suite.read_text().replace("max_steps: 12", "max_steps: 12\n  max_stesp: 3")
    suite.write_text(text)
    line = text.splitlines().index("  max_stesp: 3") + 1
    code, out = invoke("eval", "run", str(suite), "--db", str(tmp_path / "x.duckdb"))
    assert code == 2
    assert f"suite.yaml:{line}: agent: unknown key 'max_stesp' (did you mean 'max_steps'?)" in out
    assert "Traceback" not in out
    assert not (tmp_path / "x.duckdb").exists()  # nothing was run


@pytest.mark.parametrize(
    "args, message",
    [
        (["eval", "run", "does/not/exist.yaml"], "exist.yaml"),
        (["eval", "run", str(DEMO_SUITE), "--shard", "5/4"], "--shard"),
        (["eval", "run", str(DEMO_SUITE), "--candidate", "nonesuch"], "nonesuch"),
        (["eval", "run", str(DEMO_SUITE), "--tag", "no-such-tag", "--dry-run"], "nothing to run"),
        (["suite", "validate", "does/not/exist.yaml"], "exist.yaml"),
    ],
)
def test_exit_2_for_bad_input(args: list[str], message: str) -> None:
    code, out = invoke(*args)
    assert code == 2, out
    assert message in out and "Traceback" not in out


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A port on 127.0.0.1 that refuses connections: bound (so no parallel test can take it), not listening."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield s.getsockname()[1]


def test_exit_3_when_the_provider_is_unreachable_for_every_call(tmp_path: Path, refused_port: int) -> None:
    port = refused_port
    suite = write_suite(tmp_path, candidates=[{
        "name": "live", "model": "openai/gpt-4o-mini",
        "params": {"api_base": f"http://127.0.0.1:{port}/v1", "api_key": "sk-test-unreachable-000"},
    }], baseline=None, gates=[{"metric": "success_rate", "min": 0.5}])
    db = tmp_path / "x.duckdb"
    code, out = invoke("eval", "run", str(suite), "--db", str(db), "--no-report", "--limit", "3",
                       "--max-attempts", "1", "--timeout", "5")
    assert code == 3, out
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("SELECT status, failure_reason, infra_error, correct FROM results").fetchall()
        assert rows == [("failed", "provider_error", True, False)] * 3  # each of the 3 runs, an infra error
        assert con.execute("SELECT exit_code FROM eval_runs").fetchone()[0] == 3
    assert "sk-test-unreachable-000" not in out


@DEMO
def test_list_show_gate_report_compare_read_the_store(demo_run: tuple[Path, str, str], tmp_path: Path) -> None:
    db, run_id, _ = demo_run
    code, out = invoke("eval", "list", "--db", str(db))
    assert code == 0 and run_id in out
    code, out = invoke("eval", "show", run_id[:12], "--db", str(db))
    assert code == 0 and "success_rate" in out and "Incorrect runs" in out
    code, out = invoke("eval", "gate", run_id, "--db", str(db))
    assert code == 1 and "regression(success_rate)" in out
    code, out = invoke("eval", "compare", run_id, "--db", str(db), "--json")
    assert code == 0, out
    comparison = json.loads(out)[0]
    assert comparison["baseline"] == "prod" and comparison["candidate"] == "candidate"
    assert comparison["metrics"]["success_rate"]["p_value"] < 0.05
    assert "refund" in comparison["significantly_worse_tags"]
    code, out = invoke("eval", "compare", run_id, run_id, "--db", str(db), "--candidate", "candidate", "--json")
    assert code == 0 and json.loads(out)[0]["metrics"]["success_rate"]["delta"] == 0
    md = tmp_path / "s.md"
    code, out = invoke("eval", "report", run_id, "--format", "md", "--out", str(md), "--db", str(db))
    summary = md.read_text()
    assert code == 0 and "FAILED" in summary and "regression" in summary and run_id in summary
    code, out = invoke("eval", "show", "ev-nonesuch", "--db", str(db))
    assert code == 2 and "no run" in out


def test_store_commands_without_a_store_exit_2(tmp_path: Path) -> None:
    # a usage problem (issue 11): exit 2 with a hint about --db, not 3
    code, out = invoke("eval", "list", "--db", str(tmp_path / "missing.duckdb"))
    assert code == 2 and "no results store" in out and "--db" in out


def test_dry_run_calls_nothing_and_writes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "x.duckdb"
    code, out = invoke("eval", "run", str(write_suite(tmp_path)), "--db", str(db), "--dry-run")
    assert code == 0, out
    # one plan row per candidate: 220 replayed runs each, no model call
    assert re.search(r"│ prod +│ replay:prod +│ 220 +│ 0 +│", out), out
    assert re.search(r"│ candidate +│ replay:candidate +│ 220 +│ 0 +│", out), out
    assert not db.exists()


def test_reports_keep_the_expected_actions_after_the_dataset_moves(tmp_path: Path) -> None:
    import shutil

    from agentctl.reports import load_report_data

    moved = tmp_path / "dataset"
    shutil.copytree(DEMO_DATA, moved)
    db = tmp_path / "x.duckdb"
    code, out = invoke("eval", "run", str(write_suite(tmp_path, dataset=str(moved))), "--db", str(db),
                       "--no-report", "--limit", "10")
    assert code == 1, out  # the demo candidate fails its gates on these cases too
    by_state = {c["id"] for c in map(json.loads, (moved / "cases.jsonl").read_text(encoding="utf-8").splitlines())
                if "state" in c["expected"]}
    shutil.rmtree(moved)
    with duckdb.connect(str(db), read_only=True) as con:
        data = load_report_data(con, run_id_of(db))
    # expected-vs-actual diffs come from the stored cases, not the gone folder: each of the 10
    # cases expects a write, so each of its 20 runs (2 candidates) judged by its writes has a
    # diff with lines; a case judged by its final state shows its runs' state diffs instead
    assert len(data.cases) == 20
    judged_by_state = [c.case_id in by_state for c in data.cases]
    assert 0 < sum(judged_by_state) < 20
    assert [bool(c.diff and c.diff.lines) for c in data.cases] == [not s for s in judged_by_state]
    assert all(r.state_diff for c in data.cases if c.case_id in by_state for r in c.runs)


GOLDEN = ROOT / "tests" / "golden" / "demo_results.json"


@DEMO
def test_demo_results_match_the_golden_file(demo_run: tuple[Path, str, str]) -> None:
    """The demo's stored metrics and gates, kept in a committed golden file so a change in
    scoring or statistics shows up as a diff. Regenerate on purpose with
    AGENTCTL_UPDATE_GOLDEN=1 pytest tests/test_cli.py -k golden."""

    db, run_id, _ = demo_run
    with duckdb.connect(str(db), read_only=True) as con:
        metrics = con.execute(
            "SELECT candidate, metric, value, ci_low, ci_high FROM metrics WHERE tag IS NULL ORDER BY 1, 2"
        ).fetchall()
        gates = con.execute("SELECT candidate, gate, passed, detail FROM gates ORDER BY 1, 2").fetchall()
        verdicts = con.execute(
            "SELECT candidate, count(*) FILTER (WHERE correct), count(*) FILTER (WHERE escaped_error), "
            "count(*) FILTER (WHERE critical_error), count(*) FILTER (WHERE status = 'escalated') "
            "FROM results GROUP BY 1 ORDER BY 1"
        ).fetchall()

    def r(x: float | None) -> float | None:
        return None if x is None else round(x, 6)

    current = {
        "metrics": {f"{c}/{m}": [r(v), r(lo), r(hi)] for c, m, v, lo, hi in metrics},
        "gates": {f"{c}/{g}": {"passed": p, "detail": d} for c, g, p, d in gates},
        "verdicts": {c: {"correct": a, "escaped": b, "critical": k, "escalated": e} for c, a, b, k, e in verdicts},
    }
    assert current == json.loads(golden_text(GOLDEN, json.dumps(current, indent=1, sort_keys=True) + "\n"))
