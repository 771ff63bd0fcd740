"""``--shard I/N`` and ``eval merge``: shards of the demo merge into the unsharded run exactly."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from agentctl.config.loader import load_suite_and_dataset
from agentctl.main import app
from agentctl.merge import merge_shards
from agentctl.plan import _in_shard, make_plan, parse_shard
from agentctl.runner import RunOptions, run_suite
from agentctl.store.export import EXPORTED_TABLES
from support.suites import make_suite


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_suite(tmp_path_factory.mktemp("suite"))


def snapshot(db: Path, run_id: str) -> dict[str, list[Any]]:
    """Every derived and copied row of a run, run_id left out, in a stable order."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        out = {}
        for table in ("results", "steps", "scores", "cases", "metrics", "gates", "comparisons", "comparison_cases"):
            cols = [r[0] for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
                [table]).fetchall() if r[0] not in ("run_id", "finished_at")]
            rows = con.execute(f"SELECT {', '.join(cols)} FROM {table} WHERE run_id = ?", [run_id]).fetchall()
            out[table] = sorted(rows, key=repr)
        return out
    finally:
        con.close()


def test_shard_is_a_stable_hash_of_the_case_id() -> None:
    # sha256, not Python's per-process hash(): the same case lands in the same shard in every job.
    for case_id in ("T-863189", "T-1", "ü-case"):
        expected = int.from_bytes(hashlib.sha256(case_id.encode()).digest()[:8], "big") % 4 + 1
        assert [i for i in range(1, 5) if _in_shard(case_id, i, 4)] == [expected]
    assert parse_shard("2/4") == (2, 4)


def test_every_candidate_and_repeat_of_a_case_is_in_one_shard(small: Path) -> None:
    suite, dataset, _ = load_suite_and_dataset(small)
    full = make_plan(suite, dataset, list(suite.candidates), repeats=3)
    for n in (1, 2, 3, 4):
        owners: dict[str, int] = {}
        keys = set()
        for i in range(1, n + 1):
            plan = make_plan(suite, dataset, list(suite.candidates), repeats=3, shard=(i, n))
            for run in plan.runs:
                assert owners.setdefault(run.case.id, i) == i
                keys.add(run.key)
        assert keys == {r.key for r in full.runs}  # a partition: nothing lost, nothing twice


def _run(suite: Path, db: Path, shard: str | None = None, **kw: Any) -> str:
    outcome = run_suite(suite, db=db, options=RunOptions(shard=shard, **kw))
    return outcome.run_id


def test_merged_shards_equal_the_unsharded_run(small: Path, tmp_path: Path) -> None:
    whole_id = _run(small, tmp_path / "whole.duckdb")
    whole = snapshot(tmp_path / "whole.duckdb", whole_id)
    assert whole["comparisons"] and whole["gates"] and any(not g[2] for g in whole["gates"])
    for n in (1, 2, 3, 4):
        shards = [tmp_path / f"n{n}-s{i}.duckdb" for i in range(1, n + 1)]
        for i, path in enumerate(shards, 1):
            _run(small, path, f"{i}/{n}")
        out = tmp_path / f"merged-{n}.duckdb"
        outcome = merge_shards(out, shards)
        merged = snapshot(out, outcome.run_id)
        for table in whole:
            assert merged[table] == whole[table], f"N={n}: {table} differs"
        assert outcome.exit_code == 1  # like the unsharded demo: candidate fails its gates
        con = duckdb.connect(str(out), read_only=True)
        assert con.execute("SELECT status, exit_code, shard, planned_runs FROM eval_runs").fetchall() == [
            ("finished", 1, None, len(whole["results"]))]
        con.close()


def test_merging_twice_changes_nothing(small: Path, tmp_path: Path) -> None:
    shards = [tmp_path / f"s{i}.duckdb" for i in (1, 2)]
    for i, path in enumerate(shards, 1):
        _run(small, path, f"{i}/2")
    out = tmp_path / "merged.duckdb"
    first = merge_shards(out, shards)
    before = snapshot(out, first.run_id)
    runs_before = duckdb.connect(str(out), read_only=True).execute("SELECT * FROM eval_runs").fetchall()
    second = merge_shards(out, list(reversed(shards)))
    assert second.run_id == first.run_id
    assert snapshot(out, second.run_id) == before
    assert duckdb.connect(str(out), read_only=True).execute("SELECT * FROM eval_runs").fetchall() == runs_before


def test_each_mismatch_exits_2_naming_the_shard(small: Path, tmp_path: Path) -> None:
    s1, s2, s3 = (tmp_path / f"s{i}.duckdb" for i in (1, 2, 3))
    _run(small, s1, "1/2")
    _run(small, s2, "2/2")
    _run(small, s3, "1/2")  # another run of shard 1/2
    other = make_suite(tmp_path / "other", name="other-suite")
    _run(other, tmp_path / "suite.duckdb", "2/2")
    _run(small, tmp_path / "cands.duckdb", "2/2", candidates=["prod"])
    _run(small, tmp_path / "three.duckdb", "2/3")
    gated = tmp_path / "gated"
    text = make_suite(gated).read_text().replace("{metric: success_rate, min: 0.90}", "{metric: success_rate, min: 0.5}")
    (gated / "triage-small.yaml").write_text(text)
    _run(gated / "triage-small.yaml", tmp_path / "config.duckdb", "2/2")
    changed = tmp_path / "changed"
    make_suite(changed)
    with (changed / "dataset" / "cases.jsonl").open("a") as fh:
        fh.write(json.dumps({"id": "T-extra", "input": "hello", "expected": {"status": "completed"}}) + "\n")
    _run(make_suite(changed), tmp_path / "data.duckdb", "2/2")

    def merge(*paths: Path) -> str:
        result = CliRunner().invoke(app, ["eval", "merge", str(tmp_path / "out.duckdb"), *map(str, paths),
                                          "--no-report"])
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output
        return " ".join(result.output.split())

    assert "missing shard(s) 2/2" in merge(s1)
    assert f"shard {s1} is given twice" in merge(s1, s2, s1)
    assert f"shard {s3} is shard 1/2, given twice (also {s1})" in merge(s1, s2, s3)
    assert f"shard {tmp_path / 'suite.duckdb'}: suite 'other-suite' differs" in merge(s1, tmp_path / "suite.duckdb")
    assert f"shard {tmp_path / 'cands.duckdb'}: candidates" in merge(s1, tmp_path / "cands.duckdb")
    assert f"shard {tmp_path / 'three.duckdb'}: shard count 3 differs" in merge(s1, tmp_path / "three.duckdb")
    assert f"shard {tmp_path / 'data.duckdb'}: dataset hash" in merge(s1, tmp_path / "data.duckdb")
    assert f"shard {tmp_path / 'config.duckdb'}: suite configuration" in merge(s1, tmp_path / "config.duckdb")
    assert f"shard {tmp_path / 'nope.duckdb'}: no such results store" in merge(s1, tmp_path / "nope.duckdb")
    shutil.copy(s2, tmp_path / "stopped.duckdb")
    con = duckdb.connect(str(tmp_path / "stopped.duckdb"))
    con.execute("UPDATE eval_runs SET status = 'interrupted', run_id = 'ev-stopped'")
    con.close()
    assert f"shard {tmp_path / 'stopped.duckdb'}: run ev-stopped is interrupted, not finished" \
        in merge(s1, tmp_path / "stopped.duckdb")


def test_merge_command_writes_reports_and_exits_like_gate(small: Path, tmp_path: Path) -> None:
    shards = [tmp_path / f"s{i}.duckdb" for i in (1, 2)]
    for i, path in enumerate(shards, 1):
        _run(small, path, f"{i}/2")
    out = tmp_path / "merged.duckdb"
    result = CliRunner().invoke(app, ["eval", "merge", str(out), *map(str, shards), "--report-dir",
                                      str(tmp_path / "rep"), "--junit", str(tmp_path / "junit.xml")])
    assert result.exit_code == 1, result.output
    assert (tmp_path / "junit.xml").is_file() and len(list((tmp_path / "rep").glob("*.html"))) == 1
    run_id = duckdb.connect(str(out), read_only=True).execute("SELECT run_id FROM eval_runs").fetchone()[0]
    gate = CliRunner().invoke(app, ["eval", "gate", run_id, "--db", str(out)])
    assert gate.exit_code == 1


def test_parquet_export_round_trips_through_duckdb(small: Path, tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    run_id = _run(small, db)
    _run(small, db, limit=3)  # a second run in the same store stays out of the export
    out = tmp_path / "parquet"
    result = CliRunner().invoke(app, ["eval", "export", run_id, "--format", "parquet", "--out", str(out),
                                      "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert sorted(p.stem for p in out.glob("*.parquet")) == sorted(EXPORTED_TABLES)
    con = duckdb.connect(str(db), read_only=True)
    for table in EXPORTED_TABLES:
        stored = con.execute(f"SELECT * FROM {table} WHERE run_id = ?", [run_id]).fetchall()
        exported = con.execute(f"SELECT * FROM read_parquet('{out / (table + '.parquet')}')").fetchall()
        assert sorted(exported, key=repr) == sorted(stored, key=repr), table
        if table not in ("comparison_cases", "scores"):  # no library scorers in this suite
            assert stored, table
    bad = CliRunner().invoke(app, ["eval", "export", run_id, "--format", "csv", "--out", str(out), "--db", str(db)])
    assert bad.exit_code == 2 and "expected one of parquet" in bad.output


def test_an_empty_shard_is_a_run_that_merges(tmp_path: Path) -> None:
    # A matrix wider than the suite: some shards get no case. They finish (exit 0) and merge.
    suite = make_suite(tmp_path, name="tiny", cases=3)
    n = 8
    shards = [tmp_path / f"s{i}.duckdb" for i in range(1, n + 1)]
    outcomes = [run_suite(suite, db=p, options=RunOptions(shard=f"{i}/{n}")) for i, p in enumerate(shards, 1)]
    empty = [o for o in outcomes if not o.results]
    assert len(empty) >= n - 3 and all(o.exit_code == 0 and o.status == "finished" for o in empty)
    whole_id = _run(suite, tmp_path / "whole.duckdb")
    outcome = merge_shards(tmp_path / "merged.duckdb", shards)
    assert snapshot(tmp_path / "merged.duckdb", outcome.run_id) == snapshot(tmp_path / "whole.duckdb", whole_id)
    nothing = [tmp_path / f"none{i}.duckdb" for i in (1, 2)]
    for i, p in enumerate(nothing, 1):
        run_suite(suite, db=p, options=RunOptions(shard=f"{i}/2", tags=["no-such-tag"]))
    result = CliRunner().invoke(app, ["eval", "merge", str(tmp_path / "none.duckdb"), *map(str, nothing), "--no-report"])
    assert result.exit_code == 2 and "hold no runs: nothing to gate" in result.output
