"""Issue 11, hostile and broken input: exit 2 with file and line, never a traceback, bounded work.

Also what happens when the disk says no: unwritable outputs are refused before the first
call (exit 2); a write that fails at the end is exit 3 with the store intact.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import duckdb

from support.trust import case, invoke, recording, run, write_dataset, write_suite

BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8))


def _cli(*args: str, cwd: Path, limit_bytes: int | None = None, timeout: int = 120) -> subprocess.CompletedProcess[str]:
    """The CLI in a subprocess (a guard timeout only so a regression fails instead of hanging)."""
    def limits() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
        if limit_bytes is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    env = {**os.environ, "COLUMNS": "200", "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    return subprocess.run([sys.executable, "-m", "agentctl", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=timeout, preexec_fn=limits)


def _clean(proc: subprocess.CompletedProcess[str], code: int = 2) -> str:
    out = proc.stdout + proc.stderr
    assert proc.returncode == code, out[-3000:]
    assert "Traceback" not in out, out[-3000:]
    return out


# --- YAML: alias bombs, cycles, depth, huge integers -------------------------------------

def test_alias_bomb_in_a_suite_is_refused(tmp_path: Path) -> None:
    suite = write_suite(tmp_path)
    suite.write_text(suite.read_text() + "description: x\nx-bomb:\n" + "".join("  " + line + "\n" for line in BOMB.splitlines()))
    # the bomb under an unknown key: the loader must not expand it to say so
    out = _clean(_cli("suite", "validate", str(suite), cwd=tmp_path))
    assert "suite.yaml" in out and "alias" in out


def test_alias_bomb_in_tools_yaml_is_refused(tmp_path: Path) -> None:
    suite = write_suite(tmp_path)
    (tmp_path / "data" / "tools.yaml").write_text(BOMB + "tools: []\n")
    out = _clean(_cli("eval", "run", str(suite), "--db", str(tmp_path / "s.duckdb"), cwd=tmp_path))
    assert "tools.yaml" in out and "alias" in out


def test_self_referencing_alias_in_params_is_refused(tmp_path: Path) -> None:
    suite = write_suite(tmp_path, candidates=[{"name": "base", "model": "replay:prod"},
                                              {"name": "cand", "model": "replay:cand"}])
    text = suite.read_text().replace("- name: cand\n  model: replay:cand",
                                     "- name: cand\n  model: replay:cand\n  params: &p {temperature: 0, again: *p}")
    suite.write_text(text)
    code, out = invoke("eval", "run", str(suite), "--db", str(tmp_path / "s.duckdb"))
    assert code == 2, out
    assert "suite.yaml:" in out and "refers to itself" in out


def test_yaml_nested_5000_deep_is_refused(tmp_path: Path) -> None:
    suite = write_suite(tmp_path)
    suite.write_text(suite.read_text() + "description: " + "[" * 5000 + "]" * 5000 + "\n")
    code, out = invoke("suite", "validate", str(suite))
    assert code == 2, out
    assert "suite.yaml" in out and "nested" in out


def test_yaml_integer_of_5000_digits_is_refused_with_its_line(tmp_path: Path) -> None:
    suite = write_suite(tmp_path)
    lines = suite.read_text().splitlines()
    suite.write_text("\n".join(lines) + "\nrepeats: " + "9" * 5000 + "\n")
    code, out = invoke("suite", "validate", str(suite))
    assert code == 2, out
    assert f"suite.yaml:{len(lines) + 1}" in out and "digits" in out


# --- JSON: depth and huge integers in cases, recordings and tool arguments ---------------

def test_json_nested_1000_deep_in_a_case_is_refused_with_its_line(tmp_path: Path) -> None:
    root = write_dataset(tmp_path / "d")
    with (root / "cases.jsonl").open("a") as fh:
        fh.write('{"id": "deep", "input": "x", "metadata": {"m": ' + "[" * 1000 + "]" * 1000 + "}}\n")
    code, out = invoke("dataset", "validate", str(root))
    assert code == 2, out
    assert "cases.jsonl:3" in out and "nested" in out


def test_integer_of_5000_digits_in_a_case_is_refused_with_its_line(tmp_path: Path) -> None:
    root = write_dataset(tmp_path / "d")
    with (root / "cases.jsonl").open("a") as fh:
        fh.write('{"id": "big", "input": "x", "metadata": {"n": ' + "7" * 5000 + "}}\n")
    code, out = invoke("dataset", "validate", str(root))
    assert code == 2, out
    assert "cases.jsonl:3" in out and "digits" in out


def test_deeply_nested_recorded_tool_arguments_do_not_crash_a_replay(tmp_path: Path) -> None:
    deep = recording(2, "cand")
    deep["messages"][1]["tool_calls"][0]["function"]["arguments"] = '{"order_id": ' + "[" * 1000 + "]" * 1000 + "}"
    runs = [recording(1, "prod"), recording(2, "prod"), recording(1, "cand"), deep]
    code, out = run(write_suite(tmp_path, dataset={"runs": runs}), tmp_path)
    assert code == 1, out  # the deep call is an invalid call: the candidate regresses, no crash
    assert "nested" in out or "FAIL" in out
    with duckdb.connect(str(tmp_path / "s.duckdb"), read_only=True) as con:
        assert con.execute("SELECT status FROM eval_runs").fetchone() == ("finished",)


# --- files that are not what they seem ---------------------------------------------------

def test_symlink_loop_for_cases_jsonl(tmp_path: Path) -> None:
    root = write_dataset(tmp_path / "d")
    (root / "cases.jsonl").unlink()
    os.symlink(root / "cases.jsonl", root / "cases.jsonl")
    code, out = invoke("dataset", "validate", str(root))
    assert code == 2, out
    assert "cases.jsonl" in out and "symbolic links" in out


def test_symlink_loop_for_the_dataset_folder(tmp_path: Path) -> None:
    suite = write_suite(tmp_path)
    import shutil

    shutil.rmtree(tmp_path / "data")
    os.symlink(tmp_path / "data", tmp_path / "data")
    code, out = invoke("eval", "run", str(suite), "--db", str(tmp_path / "s.duckdb"))
    assert code == 2, out
    assert "suite.yaml" in out and "dataset" in out and "symbolic link" in out


def test_symlink_loop_for_a_prompt_file(tmp_path: Path) -> None:
    suite = write_suite(tmp_path, agent={"system_prompt": "prompt.md", "escalation_tool": "escalate"})
    os.symlink(tmp_path / "prompt.md", tmp_path / "prompt.md")
    code, out = invoke("suite", "validate", str(suite))
    assert code == 2, out
    assert "suite.yaml:" in out and "agent.system_prompt" in out and "symbolic link" in out


def test_prompt_file_that_is_not_utf8_fails_validation_not_the_run(tmp_path: Path) -> None:
    suite = write_suite(tmp_path, agent={"system_prompt": "prompt.md", "escalation_tool": "escalate"})
    (tmp_path / "prompt.md").write_bytes(b"You are \xff\xfe a support agent.")
    code, out = invoke("suite", "validate", str(suite))
    assert code == 2, out
    assert "suite.yaml:" in out and "agent.system_prompt" in out and "UTF-8" in out
    code, out = run(suite, tmp_path)
    assert code == 2, out


def test_case_line_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    root = write_dataset(tmp_path / "d")
    with (root / "cases.jsonl").open("ab") as fh:
        fh.write(b'{"id": "c3", "input": "caf\xe9"}\n')
    code, out = invoke("dataset", "validate", str(root))
    assert code == 2, out
    assert "cases.jsonl:3" in out and "UTF-8" in out


def test_cases_jsonl_that_is_a_fifo_does_not_hang(tmp_path: Path) -> None:
    root = write_dataset(tmp_path / "d")
    (root / "cases.jsonl").unlink()
    os.mkfifo(root / "cases.jsonl")
    out = _clean(_cli("dataset", "validate", str(root), cwd=tmp_path, timeout=60))
    assert "cases.jsonl" in out and "not a regular file" in out


# --- the results store ----------------------------------------------------------------

def test_the_expected_columns_read_off_the_ddl_are_those_duckdb_makes_of_it() -> None:
    """The schema check compares a store's tables with columns read off our DDL's text (no
    in-memory database per command): the same set DuckDB creates from it, table by table."""
    from agentctl.store.rows import expected_columns
    from agentctl.store.schema import ADDED_COLUMNS, TABLES

    made: dict[str, set[str]] = {}
    with duckdb.connect(":memory:") as con:
        for ddl in TABLES.values():
            con.execute(ddl)
        for table, column in con.execute("SELECT table_name, column_name FROM information_schema.columns "
                                         "WHERE table_schema = 'main'").fetchall():
            made.setdefault(table, set()).add(column)
    for table, column, _ in ADDED_COLUMNS:
        made[table].discard(column)
    assert expected_columns() == made
    assert sum(map(len, made.values())) > 100


def test_duckdb_file_with_an_incompatible_schema(tmp_path: Path) -> None:
    db = tmp_path / "other.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE results (id INTEGER, note VARCHAR)")
        con.execute("INSERT INTO results VALUES (1, 'someone else''s data')")
    code, out = invoke("eval", "run", str(write_suite(tmp_path)), "--db", str(db), "--no-report")
    assert code == 2, out
    assert "other.duckdb" in out and "results" in out and "not an agentctl results store" in out
    code, out = invoke("eval", "list", "--db", str(db))
    assert code == 2, out
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT note FROM results").fetchall() == [("someone else's data",)]


def test_full_disk_under_the_store_is_exit_3_without_a_traceback(tmp_path: Path) -> None:
    suite = write_suite(tmp_path)
    proc = _cli("eval", "run", str(suite), "--db", str(tmp_path / "s.duckdb"), "--no-report", cwd=tmp_path,
                limit_bytes=20_000)
    out = _clean(proc, 3)
    assert "s.duckdb" in out and "could not be written" in out


# --- output paths ------------------------------------------------------------------------

def test_report_dir_that_is_a_file_is_refused_before_running(tmp_path: Path) -> None:
    (tmp_path / "reports").write_text("not a folder")
    code, out = run(write_suite(tmp_path), tmp_path)
    assert code == 2, out
    assert "--report-dir" in out and "PASS" not in out
    assert not (tmp_path / "s.duckdb").exists()


def test_junit_path_that_is_a_directory_is_refused_before_running(tmp_path: Path) -> None:
    (tmp_path / "junit.xml").mkdir()
    code, out = run(write_suite(tmp_path), tmp_path, "--junit", str(tmp_path / "junit.xml"))
    assert code == 2, out
    assert "--junit" in out and "directory" in out
    assert not (tmp_path / "s.duckdb").exists()


def test_a_report_write_that_fails_at_the_end_is_exit_3_and_the_store_is_intact(tmp_path: Path) -> None:
    suite = write_suite(tmp_path)
    proc = _cli("eval", "run", str(suite), "--db", str(tmp_path / "s.duckdb"), "--report-dir",
                str(tmp_path / "reports"), "--junit", "/dev/full", cwd=tmp_path)
    out = _clean(proc, 3)
    assert "/dev/full" in out and "eval report" in out
    with duckdb.connect(str(tmp_path / "s.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM results").fetchone() == (4,)
        assert con.execute("SELECT status FROM eval_runs").fetchone() == ("finished",)
    assert all(p.stat().st_size > 0 for p in (tmp_path / "reports").iterdir())


# --- rich markup in user text ------------------------------------------------------------

def test_markup_in_case_ids_and_candidate_names_prints_literally(tmp_path: Path) -> None:
    cases = [case(1, id="c[/]1"), case(2, id="[bold]c2")]
    runs = [recording(i, label, case_id=cid) for label in ("prod", "cand") for i, cid in ((1, "c[/]1"), (2, "[bold]c2"))]
    runs[-1]["messages"][1]["tool_calls"][0]["function"]["arguments"] = json.dumps({"order_id": 99})
    suite = write_suite(tmp_path, dataset={"cases": cases, "runs": runs},
                        candidates=[{"name": "base", "model": "replay:prod"}, {"name": "[red]cand[/]", "model": "replay:cand"}],
                        gates=[{"metric": "success_rate", "min": 0.9, "tags": ["refund"]},
                               {"metric": "success_rate", "min": 0.9}])
    proc = _cli("eval", "run", str(suite), "--db", str(tmp_path / "s.duckdb"), "--report-dir",
                str(tmp_path / "reports"), cwd=tmp_path)
    out = _clean(proc, 1)
    assert "[red]cand[/]" in out and "[tags: refund]" in out
    assert len(list((tmp_path / "reports").iterdir())) == 3
    rid = duckdb.connect(str(tmp_path / "s.duckdb"), read_only=True).execute("SELECT run_id FROM eval_runs").fetchone()[0]
    proc = _cli("eval", "show", rid, "--db", str(tmp_path / "s.duckdb"), cwd=tmp_path)
    out = _clean(proc, 0)
    assert "[bold]c2" in out and "[red]cand[/]" in out
    proc = _cli("eval", "compare", rid, "--db", str(tmp_path / "s.duckdb"), cwd=tmp_path)
    assert "[bold]c2" in _clean(proc, 0)


def test_markup_in_a_problem_message_prints_literally(tmp_path: Path) -> None:
    root = write_dataset(tmp_path / "d", cases=[case(1, expected={"actions": [{"tool": "[bold]x[/]"}]})])
    code, out = invoke("dataset", "validate", str(root))
    assert code == 2 and "[bold]x[/]" in out, out


def test_remote_schema_reference_is_refused_not_fetched(tmp_path: Path) -> None:
    tools = [{"name": "get_order", "description": "x", "effect": "read",
              "parameters": {"type": "object", "properties": {"order_id": {"$ref": "http://127.0.0.1:9/schema.json"}}}}]
    root = write_dataset(tmp_path / "d", tools=tools, cases=[case(1, expected={})], runs=[])
    code, out = invoke("dataset", "validate", str(root))
    assert code == 2, out
    assert "tools.yaml" in out and "only local references" in out


def test_suite_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    suite = write_suite(tmp_path)
    suite.write_bytes(suite.read_bytes() + b"description: caf\xe9\n")
    code, out = invoke("suite", "validate", str(suite))
    assert code == 2, out
    lines = suite.read_bytes().count(b"\n")
    assert f"suite.yaml:{lines}" in out and "UTF-8" in out


def test_db_whose_folder_is_a_file_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    code, out = invoke("eval", "run", str(write_suite(tmp_path)), "--db", str(tmp_path / "afile" / "s.duckdb"),
                       "--no-report")
    assert code == 2, out
    assert "afile" in out and "--db" in out


def test_deep_json_in_a_recorded_tool_answer_does_not_crash(tmp_path: Path) -> None:
    deep = recording(2, "cand")
    deep["messages"][2]["content"] = '{"a": ' + "[" * 3000 + "]" * 3000 + "}"
    runs = [recording(1, "prod"), recording(2, "prod"), recording(1, "cand"), deep]
    code, out = run(write_suite(tmp_path, dataset={"runs": runs}), tmp_path, "--no-report")
    assert code in (0, 1) and "Traceback" not in out, out
    with duckdb.connect(str(tmp_path / "s.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM results").fetchone() == (4,)
