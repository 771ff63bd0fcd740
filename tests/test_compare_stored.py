"""``eval compare RUN`` reads the comparison ``eval run`` stored, and prints exactly what
recomputing it prints; it recomputes when the stored one is missing, old-format or stale."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from agentctl.comparison import compare_stored
from agentctl.core.results import ScoreResult
from agentctl.metrics.compare import compare_candidates, comparison_from_rows, comparison_rows
from agentctl.store import Store
from agentctl.store.comparisons import load_comparisons
from support.cli import ROOT, invoke, latest_run_id, write_demo_suite
from support.runs import run

# One worker for the module under pytest-xdist: its fixtures run the two demo suites once.
pytestmark = pytest.mark.xdist_group("compare-stored")

TRIALS_SUITE = ROOT / "evalsuites" / "support-triage-trials.yaml"
NEW_COLUMNS = {
    "comparisons": ("ordinal", "pairs", "cases", "nonfinite"),
    "comparison_cases": ("ordinal", "regressed_repeats", "improved_repeats", "still_wrong_repeats",
                         "regressed_reasons", "still_wrong_reasons"),
}


def _evaluate(tmp: Path, suite: Path) -> tuple[Path, str]:
    db = tmp / "store.duckdb"
    code, out = invoke("eval", "run", str(suite), "--db", str(db), "--no-report")
    assert code == 1, out  # both demos' candidates fail a gate by design
    return db, latest_run_id(db)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    tmp = tmp_path_factory.mktemp("demo")
    return _evaluate(tmp, write_demo_suite(tmp))


@pytest.fixture(scope="module")
def trials(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    return _evaluate(tmp_path_factory.mktemp("trials"), TRIALS_SUITE)


def _copy(store: tuple[Path, str], tmp_path: Path) -> tuple[Path, str]:
    db = tmp_path / "copy.duckdb"
    shutil.copy(store[0], db)
    return db, store[1]


def _compare(db: Path, run_id: str, *args: str, columns: int = 120) -> str:
    code, out = invoke("eval", "compare", run_id, "--db", str(db), *args, env={"COLUMNS": str(columns)})
    assert code == 0, out
    return out


def _json(db: Path, run_id: str, *args: str) -> list[dict]:  # type: ignore[type-arg]
    return json.loads(_compare(db, run_id, "--json", *args))  # type: ignore[no-any-return]


def _sql(db: Path, sql: str, params: list[object] | None = None) -> None:
    with duckdb.connect(str(db)) as con:
        con.execute(sql, params or [])


@pytest.mark.parametrize("which", ["demo", "trials"])
def test_stored_and_recomputed_comparisons_print_the_same(which: str, request: pytest.FixtureRequest) -> None:
    db, run_id = request.getfixturevalue(which)
    for args in ([], ["--json"], ["--candidate", "candidate", "--baseline", "prod"]):
        for columns in (80, 120):  # the narrow (CI log) and the table layout
            assert _compare(db, run_id, *args, columns=columns) == _compare(db, run_id, *args, "--recompute",
                                                                           columns=columns)
    stored, computed = compare_stored(db, run_id), compare_stored(db, run_id, recompute=True)
    assert stored == computed  # every field, by_tag and consistency included
    assert stored[0].to_dict() == computed[0].to_dict()
    # the store held the comparison (not a recomputation that happens to agree)
    with Store(db, read_only=True) as store:
        assert set(load_comparisons(store, run_id, "prod")) == {"candidate"}


def test_the_trials_comparison_keeps_repeats_and_flaky_cases(trials: tuple[Path, str]) -> None:
    (stored,) = compare_stored(trials[0], trials[1])
    assert (stored.pairs, stored.cases) == (240, 60)
    assert any(len(c.repeats) > 1 for c in stored.regressed)  # a case regressed in several trials
    assert stored.flaky["baseline"] and stored.flaky["candidate"]
    assert stored.significantly_worse_tags == ["payments", "refund"]
    assert {t: (c.pairs, c.cases) for t, c in stored.by_tag.items()} == {
        t: (c.pairs, c.cases) for t, c in compare_stored(trials[0], trials[1], recompute=True)[0].by_tag.items()}


def test_eval_compare_prints_the_stored_rows(trials: tuple[Path, str], tmp_path: Path) -> None:
    """Edit the stored comparison in the file: the output follows it, so it is read, not recomputed."""
    db, run_id = _copy(trials, tmp_path)
    original = _json(db, run_id)[0]
    _sql(db, "UPDATE comparisons SET delta = 0.5, p_value = 0.25 WHERE run_id = ? AND tag IS NULL "
             "AND metric = 'success_rate'", [run_id])
    case = original["regressed"][0]["case_id"]
    _sql(db, "UPDATE comparison_cases SET regressed_reasons = ['edited reason'], regressed_repeats = [7] "
             "WHERE run_id = ? AND case_id = ?", [run_id, case])
    _sql(db, "UPDATE comparison_pairings SET dropped_cases_baseline = 3 WHERE run_id = ?", [run_id])
    edited = _json(db, run_id)[0]
    assert (edited["metrics"]["success_rate"]["delta"], edited["metrics"]["success_rate"]["p_value"]) == (0.5, 0.25)
    assert edited["regressed"][0] == {**original["regressed"][0], "reasons": ["edited reason"], "repeats": [7]}
    assert edited["dropped_cases_baseline"] == 3
    text = _compare(db, run_id)
    assert "edited reason" in text and "3 case(s) only the baseline ran" in text
    assert _json(db, run_id, "--recompute")[0] == original  # --recompute ignores the stored rows


def test_a_stale_comparison_is_recomputed(trials: tuple[Path, str], tmp_path: Path) -> None:
    db, run_id = _copy(trials, tmp_path)
    original = _json(db, run_id)[0]
    _sql(db, "UPDATE comparisons SET delta = 0.5 WHERE run_id = ? AND metric = 'success_rate'", [run_id])
    # a result written after the comparison was computed (an edit, a resumed run)
    _sql(db, "UPDATE results SET finished_at = finished_at + INTERVAL 1 DAY WHERE run_id = ? AND candidate = "
             "'candidate' AND case_id = (SELECT min(case_id) FROM results WHERE run_id = ?)", [run_id, run_id])
    assert _json(db, run_id)[0] == original
    # a result removed: the stored pairing no longer counts the runs there are
    _sql(db, "UPDATE results SET finished_at = finished_at - INTERVAL 1 DAY WHERE run_id = ?", [run_id])
    _sql(db, "DELETE FROM results WHERE run_id = ? AND candidate = 'prod' AND repeat = 3 AND case_id = "
             "(SELECT min(case_id) FROM results WHERE run_id = ?)", [run_id, run_id])
    fresh = _json(db, run_id)[0]
    assert fresh["pairs"] == 239 and fresh["metrics"]["success_rate"]["delta"] != 0.5
    assert fresh == _json(db, run_id, "--recompute")[0]


def test_a_store_without_the_new_columns_still_compares(demo: tuple[Path, str], tmp_path: Path) -> None:
    """A store written before comparisons were stored in full: read-only it is recomputed; opened
    for writing it is migrated, and eval gate --store then stores the full comparison."""
    db, run_id = _copy(demo, tmp_path)
    expected = _compare(db, run_id, "--json")
    _sql(db, "DROP TABLE comparison_pairings")
    for table, columns in NEW_COLUMNS.items():
        for column in columns:
            _sql(db, f"ALTER TABLE {table} DROP COLUMN {column}")
    assert _compare(db, run_id, "--json") == expected
    with Store(db, read_only=True) as store:
        assert load_comparisons(store, run_id, "prod") == {}
    Store(db).close()  # a writer migrates: the columns are there, the old rows lack them
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*), count(ordinal) FROM comparisons WHERE run_id = ?",
                           [run_id]).fetchone() == (con.execute("SELECT count(*) FROM comparisons").fetchone()[0], 0)
    assert _compare(db, run_id, "--json") == expected
    code, out = invoke("eval", "gate", run_id, "--db", str(db), "--store")
    assert code == 1, out
    with Store(db, read_only=True) as store:
        assert set(load_comparisons(store, run_id, "prod")) == {"candidate"}
    assert _compare(db, run_id, "--json") == expected


def test_rows_round_trip_through_a_duckdb_file(tmp_path: Path) -> None:
    """Infinite figures, infra errors, scorers, dropped cases and repeats come back as they were."""
    score = {"helpful": ScoreResult(scorer="helpful", score=0.7, passed=True)}
    runs = [run(f"c{i}", "base", r, correct=False, tags=["a"], scores=score, reasons=[f"base wrong {r}"])
            for i in range(3) for r in range(2)]
    runs += [run(f"c{i}", "new", r, correct=(i + r) % 2 == 0, infra=(i, r) == (2, 1), tags=["a", f"t{i}"],
                 scores=score, reasons=None if (i + r) % 2 == 0 else [f"new wrong {i}"]) for i in range(4)
             for r in range(2)]
    cmp = compare_candidates(runs, "base", "new")
    assert cmp.metrics["cost_per_success_usd"].baseline == float("inf") and cmp.dropped_cases_candidate == 1
    with Store(tmp_path / "x.duckdb") as store:
        for table, rows in comparison_rows("r1", cmp).items():
            store.replace_rows("r1", table, rows)
    with Store(tmp_path / "x.duckdb", read_only=True) as store:
        found = load_comparisons(store, "r1", "base")["new"]
    rebuilt = comparison_from_rows(found.pairing, found.metrics, found.cases)
    assert rebuilt == cmp
    assert json.dumps(rebuilt.to_dict(), allow_nan=False) == json.dumps(cmp.to_dict(), allow_nan=False)
