"""The support-triage-trials demo: 4 recorded trials per case and label, replayed as repeats.

The dataset regenerates byte for byte, and the real evaluation of its suite gives the pass^k
values, flaky cases and gate results the demo is built to show.
"""

from __future__ import annotations

import subprocess
import sys
from collections import defaultdict
from math import comb
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentctl.main import app
from agentctl.metrics.compare import Comparison
from agentctl.outcome import EvalOutcome
from agentctl.runner import RunOptions, run_suite

# One worker for the whole module under pytest-xdist: its module fixture runs the suite once.
pytestmark = pytest.mark.xdist_group("trials-demo")

ROOT = Path(__file__).resolve().parents[1]
DATASET = ROOT / "datasets" / "support-triage-trials"
SUITE = ROOT / "evalsuites" / "support-triage-trials.yaml"
GENERATED = ("tools.yaml", "cases.jsonl", "runs.jsonl")
CANDIDATES = ("prod", "candidate")
TRIALS = 4
CASES = 60


def test_regenerates_byte_for_byte(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(DATASET / "generate.py"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for name in GENERATED:
        assert (tmp_path / name).read_bytes() == (DATASET / name).read_bytes(), name
    # the catalog is support-triage's, and the recordings stay small
    assert (DATASET / "tools.yaml").read_bytes() == (
        ROOT / "datasets" / "support-triage" / "tools.yaml"
    ).read_bytes()
    assert (DATASET / "runs.jsonl").stat().st_size < 2_500_000
    assert not (DATASET / "__pycache__").exists()
    assert not (ROOT / "datasets" / "support-triage" / "__pycache__").exists()


def test_suite_validates() -> None:
    result = CliRunner().invoke(app, ["suite", "validate", str(SUITE)])
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> EvalOutcome:
    db = tmp_path_factory.mktemp("trials") / "x.duckdb"
    return run_suite(SUITE, db=db, options=RunOptions())


def _counts(outcome: EvalOutcome) -> dict[str, dict[str, list[int]]]:
    """candidate -> case -> [runs, correct runs]."""
    out: dict[str, dict[str, list[int]]] = {c: defaultdict(lambda: [0, 0]) for c in CANDIDATES}
    for r in outcome.results:
        tally = out[r.candidate][r.case_id]
        tally[0] += 1
        tally[1] += bool(r.correct)
    return out


def _metric(outcome: EvalOutcome, candidate: str, name: str) -> float:
    values = [
        m.value for m in outcome.metrics if m.candidate == candidate and m.tag is None and m.metric == name
    ]
    assert len(values) == 1, (candidate, name, values)
    assert values[0] is not None
    return values[0]


def test_every_case_ran_every_recorded_trial(outcome: EvalOutcome) -> None:
    assert outcome.status == "finished"
    keys = [(r.case_id, r.candidate, r.repeat) for r in outcome.results]
    assert len(keys) == len(set(keys)) == 2 * CASES * TRIALS
    for cand in CANDIDATES:
        mine = [r for r in outcome.results if r.candidate == cand]
        assert len(mine) == CASES * TRIALS
        repeats: dict[str, set[int]] = defaultdict(set)
        for r in mine:
            repeats[r.case_id].add(r.repeat)
            assert not r.infra_error
        assert len(repeats) == CASES
        assert all(v == set(range(1, TRIALS + 1)) for v in repeats.values())


def test_pass_hat_k_from_the_recorded_trials(outcome: EvalOutcome) -> None:
    counts = _counts(outcome)
    for cand in CANDIDATES:
        values = [_metric(outcome, cand, f"pass^{k}") for k in range(1, TRIALS + 1)]
        assert values == sorted(values, reverse=True), (cand, values)
        for k, stored in enumerate(values, start=1):
            mine = [comb(c, k) / comb(n, k) for n, c in counts[cand].values()]
            assert stored == pytest.approx(sum(mine) / len(mine), abs=1e-12), (cand, k)
        assert values[0] == pytest.approx(_metric(outcome, cand, "success_rate"))
    # the demo's story: prod is reliable, the candidate much less so over four trials
    assert _metric(outcome, "prod", "pass^4") >= 0.8 > _metric(outcome, "candidate", "pass^4")
    assert _metric(outcome, "candidate", "pass^1") - _metric(outcome, "candidate", "pass^4") > 0.15


def test_flaky_cases_are_the_inconsistent_ones(outcome: EvalOutcome) -> None:
    counts = _counts(outcome)
    flaky = {c: {case for case, (n, ok) in counts[c].items() if 0 < ok < n} for c in CANDIDATES}
    assert len(outcome.comparisons) == 1
    comparison = outcome.comparisons[0]
    assert isinstance(comparison, Comparison)
    assert (comparison.baseline, comparison.candidate) == ("prod", "candidate")
    assert set(comparison.flaky["candidate"]) == flaky["candidate"]
    assert len(comparison.flaky["candidate"]) == len(flaky["candidate"])
    assert set(comparison.flaky["baseline"]) == flaky["prod"]
    # a realistic share of flaky cases for the candidate, a few for prod
    assert 10 <= len(flaky["candidate"]) <= 20
    assert 1 <= len(flaky["prod"]) <= 5


def test_gates_pass_for_prod_and_fail_for_the_candidate(outcome: EvalOutcome) -> None:
    counts = _counts(outcome)
    # gates apply to the candidate only (prod is the baseline)
    assert {g.candidate for g in outcome.gates} == {"candidate"}
    gates = {g.gate: g for g in outcome.gates}
    assert set(gates) == {
        "pass^4 >= 0.8",
        "case_pass_rate >= 0.75",
        "success_rate >= 0.9",
        "regression(success_rate)",
    }
    assert not gates["pass^4 >= 0.8"].passed
    assert gates["pass^4 >= 0.8"].value == pytest.approx(_metric(outcome, "candidate", "pass^4"))
    assert not gates["case_pass_rate >= 0.75"].passed
    assert set(gates["case_pass_rate >= 0.75"].extra["failing_cases"]) == {
        case for case, (n, ok) in counts["candidate"].items() if ok / n < 0.75
    }
    # right on average, not reliably: the mean clears its gate, pass^4 does not
    assert gates["success_rate >= 0.9"].passed
    assert not gates["regression(success_rate)"].passed
    assert outcome.exit_code == 1

    # prod's own numbers would pass every one of these gates
    assert _metric(outcome, "prod", "pass^4") >= 0.8
    assert all(ok / n >= 0.75 for n, ok in counts["prod"].values())
    assert _metric(outcome, "prod", "success_rate") >= 0.9
