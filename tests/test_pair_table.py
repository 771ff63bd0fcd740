"""A pairing's numbers are read once into arrays: each column is the per-run rule it stands for,
and a tag's pairs (sliced from the whole pairing's arrays) give what pairing those runs afresh gives."""

from __future__ import annotations

import numpy as np

from agentctl.core.results import RunResult, ScoreResult
from agentctl.metrics.compare import COMPARED_METRICS, build_comparison, pair_runs
from agentctl.metrics.compute import FLAG_COLUMNS, RUN_FLAGS, RUN_VALUES, VALUE_COLUMNS
from support.runs import run


def _varied(candidate: str, seed: int) -> list[RunResult]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(120):
        infra = i % 17 == 0
        scores = {} if i % 5 == 0 else {"judge": ScoreResult("judge", float(rng.random()), bool(rng.random() < 0.6))}
        status = "failed" if infra else ("escalated" if i % 11 == 0 else "completed")
        out.append(run(f"c{i % 40}", candidate, repeat=i // 40, correct=bool(rng.random() < 0.8), status=status,
                       escaped=bool(rng.random() < 0.1), critical=bool(rng.random() < 0.05), infra=infra,
                       violations=int(rng.random() < 0.1), cost=float(rng.random() / 100), latency=float(rng.random() * 4),
                       steps=int(rng.integers(1, 6)), tool_calls=int(rng.integers(0, 4)),
                       tags=[f"t{i % 3}"] + ([f"t{i % 4 + 3}"] if i % 2 else []), scores=scores))
    return out


def test_each_column_is_the_runs_rule() -> None:
    pairing = pair_runs(_varied("base", 1), _varied("new", 2))
    judged = [p for p in pairing.pairs if p.judged]
    assert set(FLAG_COLUMNS) == set(RUN_FLAGS) and set(VALUE_COLUMNS) == set(RUN_VALUES)
    for metric, fn in RUN_FLAGS.items():
        over = pairing.pairs if metric == "infra_error_rate" else judged
        x, y = pairing.table.flag(metric)
        assert x.tolist() == [float(fn(p.base)) for p in over], metric
        assert y.tolist() == [float(fn(p.cand)) for p in over], metric
    for metric, (get, _) in RUN_VALUES.items():
        x, y = pairing.table.value(metric)
        assert x.tolist() == [float(get(p.base)) for p in pairing.pairs], metric
        assert y.tolist() == [float(get(p.cand)) for p in pairing.pairs], metric


def test_a_tags_pairs_sliced_from_the_whole_are_those_paired_afresh() -> None:
    base, new = _varied("base", 3), _varied("new", 4)
    whole = pair_runs(base, new)
    names = [*COMPARED_METRICS, "cost_per_success_usd", "score:judge", "mean:judge", "pass^1", "pass^2", "pass^3",
             "case_pass_rate", "runs"]
    for tags in (["t1"], ["t4"], ["t0", "t6"], ["missing"], []):
        sliced = whole.restrict(tags)
        wanted = set(tags)
        afresh = pair_runs([r for r in base if wanted & set(r.tags)], [r for r in new if wanted & set(r.tags)])
        assert [(p.case_id, p.repeat) for p in sliced.pairs] == [(p.case_id, p.repeat) for p in afresh.pairs]
        assert sliced.deltas(names) == afresh.deltas(names), tags


def test_comparison_by_tag_is_each_tag_compared_alone() -> None:
    base, new = _varied("base", 5), _varied("new", 6)
    cmp = build_comparison(pair_runs(base, new), "base", "new")
    assert sorted(cmp.by_tag) == ["t0", "t1", "t2", "t4", "t6"]
    for tag, by_tag in cmp.by_tag.items():
        alone = pair_runs([r for r in base if tag in r.tags], [r for r in new if tag in r.tags])
        assert (by_tag.pairs, by_tag.cases) == (len(alone.pairs), alone.cases)
        assert by_tag.metrics == alone.deltas(list(by_tag.metrics)), tag
