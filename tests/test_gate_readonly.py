"""``eval gate`` reads the store and writes nothing, unless ``--store``; one pass computes all."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from agentctl.measure import measure
from agentctl.metrics.compare import build_comparison, pair_runs
from agentctl.store.store import Store
from support.cli import invoke, latest_run_id, write_demo_suite


def test_gate_is_read_only_unless_store(tmp_path: Path) -> None:
    db = tmp_path / "r.duckdb"
    code, out = invoke("eval", "run", str(write_demo_suite(tmp_path)), "--db", str(db), "--no-report")
    assert code == 1, out
    run_id = latest_run_id(db)
    with duckdb.connect(str(db)) as con:
        gates_before = con.execute("SELECT count(*) FROM gates WHERE run_id = ?", [run_id]).fetchone()[0]
        con.execute("DELETE FROM gates WHERE run_id = ?", [run_id])
    os.chmod(db, 0o444)  # a reader needs no write access at all
    try:
        code, out = invoke("eval", "gate", run_id, "--db", str(db))
    finally:
        os.chmod(db, 0o644)
    assert code == 1 and "regression(success_rate)" in out, out
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM gates WHERE run_id = ?", [run_id]).fetchone()[0] == 0
    code, out = invoke("eval", "gate", run_id, "--db", str(db), "--store")
    assert code == 1, out
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM gates WHERE run_id = ?", [run_id]).fetchone()[0] == gates_before


def test_one_pairing_gives_the_gate_and_the_comparison_the_same_numbers(tmp_path: Path) -> None:
    db = tmp_path / "r.duckdb"
    suite_path = write_demo_suite(tmp_path)
    code, _ = invoke("eval", "run", str(suite_path), "--db", str(db), "--no-report")
    from agentctl.config.loader import load_suite_and_dataset

    suite, _, _ = load_suite_and_dataset(suite_path)
    with Store(db, read_only=True) as store:
        results = store.load_results(latest_run_id(db))
    m = measure(results, suite)
    (comparison,) = m.comparisons
    gate = next(g for g in m.gates if g.gate == "regression(success_rate)")
    assert gate.extra["p_value"] == comparison.metrics["success_rate"].p_value
    # The same figures as a comparison built on its own pairing.
    alone = build_comparison(pair_runs([r for r in results if r.candidate == "prod"],
                                       [r for r in results if r.candidate == "candidate"]), "prod", "candidate")
    assert alone.to_dict() == comparison.to_dict()
