"""Paired comparison of a candidate with a baseline, on the runs both made.

Runs are paired by (case_id, repeat) on the cases both sides ran. Rates are tested with the
exact McNemar test on discordant pairs; every metric gets a seeded paired bootstrap interval
of its difference. Pairs where either run had an infra error are left out of rates (not the
model's fault), as in ``compute``; cost, latency and steps use every pair.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from agentctl.core.errors import InputError
from agentctl.core.metric_names import RATE_METRICS
from agentctl.core.results import RunResult
from agentctl.core.values import MetricValue
from agentctl.metrics.comparison_types import (
    CaseChange,
    CaseConsistency,
    Comparison,
    MetricDelta,
    TagComparison,
    comparison_from_rows,
    comparison_rows,
    flaky_cases,
    lower_is_better,
    significantly_worse_tags,
)
from agentctl.metrics.compute import RUN_FLAGS, RUN_VALUES, compute_metrics, metrics_of_rows
from agentctl.metrics.intervals import (
    mcnemar_exact,
    paired_bootstrap_means,
    paired_bootstrap_quantiles,
)
from agentctl.metrics.pair_table import Columns, PairTable

__all__ = [
    "COMPARED_METRICS", "CaseChange", "CaseConsistency", "Comparison", "MetricDelta", "Pairing", "RunPair",
    "TagComparison", "build_comparison", "compare_candidates", "compare_runs", "comparison_from_rows", "comparison_rows",
    "lower_is_better", "pair_runs", "runs_of",
]

COMPARED_METRICS = (
    *RATE_METRICS,
    "cost_usd",
    "mean_cost_usd",
    "p50_latency_s",
    "p95_latency_s",
    "mean_steps",
    "mean_tool_calls",
)
"""Metrics every comparison reports, besides the scorers' and pass^k."""


@dataclass
class RunPair:
    case_id: str
    repeat: int
    tags: list[str]
    base: RunResult
    cand: RunResult

    @property
    def judged(self) -> bool:
        """Neither run is an infra error, so the pair says something about the models."""
        return not (self.base.infra_error or self.cand.infra_error)


@dataclass
class Pairing:
    """Runs of baseline and candidate paired by (case_id, repeat) on the cases both ran."""

    pairs: list[RunPair]
    dropped_cases_baseline: int = 0
    """Cases only the baseline ran."""
    dropped_cases_candidate: int = 0
    dropped_runs_baseline: int = 0
    """Baseline runs without a partner (a case or repeat the candidate did not run)."""
    dropped_runs_candidate: int = 0
    _points: tuple[list[MetricValue], list[MetricValue]] | None = field(default=None, repr=False)
    _deltas: dict[str, MetricDelta] = field(default_factory=dict, repr=False)
    """Deltas already computed: a comparison and the regression gates share one pairing."""
    _table: PairTable | None = field(default=None, repr=False)
    _by_tag: dict[str, list[int]] | None = field(default=None, repr=False)

    @property
    def table(self) -> PairTable:
        """The pairs' numbers as arrays (a restricted pairing slices its parent's)."""
        if self._table is None:
            self._table = PairTable.of(self.pairs)
        return self._table

    def restrict(self, tags: Iterable[str]) -> Pairing:
        """The pairs of cases having any of ``tags``."""
        if self._by_tag is None:
            self._by_tag = {}
            for i, p in enumerate(self.pairs):
                for tag in dict.fromkeys(p.tags):
                    self._by_tag.setdefault(tag, []).append(i)
        wanted = list(dict.fromkeys(tags))
        if len(wanted) == 1:
            positions = self._by_tag.get(wanted[0], [])
        else:
            positions = sorted({i for t in wanted for i in self._by_tag.get(t, [])})
        return Pairing([self.pairs[i] for i in positions], _table=self.table.take(positions))

    @property
    def cases(self) -> int:
        return len({p.case_id for p in self.pairs})

    def delta(self, metric: str) -> MetricDelta:
        """The paired comparison of one metric (any name compute_metrics produces)."""
        return self.deltas([metric])[metric]

    def deltas(self, metrics: Iterable[str]) -> dict[str, MetricDelta]:
        """Paired comparisons of several metrics, each computed once per pairing."""
        wanted = list(dict.fromkeys(metrics))
        missing = [m for m in wanted if m not in self._deltas]
        if missing:
            self._deltas.update(self._compute(missing))
        return {m: self._deltas[m] for m in wanted}

    def _compute(self, wanted: list[str]) -> dict[str, MetricDelta]:
        t = self.table
        out: dict[str, MetricDelta] = {}
        rates = [m for m in wanted if m in RUN_FLAGS and m != "infra_error_rate"]
        out.update(self._means(rates, [t.flag(m) for m in rates], binary=True))
        if "infra_error_rate" in wanted:  # infra errors are what this rate counts: every pair
            out.update(self._means(["infra_error_rate"], [t.flag("infra_error_rate")], binary=True))
        means = [m for m in wanted if m in RUN_VALUES and RUN_VALUES[m][1] in ("mean", "sum")]
        out.update(self._means(means, [t.value(m) for m in means], binary=False))
        quantiles = [m for m in wanted if m in RUN_VALUES and RUN_VALUES[m][1] in ("p50", "p95")]
        out.update(self._quantiles(quantiles))
        for m in wanted:
            if m.startswith(("score:", "mean:")):
                out.update(self._means([m], [t.score(m)], binary=m.startswith("score:")))
            elif m not in out:
                out[m] = self._point(m)
        return {m: out[m] for m in wanted}

    def _means(self, names: list[str], cols: list[Columns], *, binary: bool) -> dict[str, MetricDelta]:
        """Metrics that are a mean (or a sum) over the same pairs: one shared bootstrap."""
        import numpy as np

        if not names:
            return {}
        n = len(cols[0][0])
        test = "mcnemar_exact" if binary else "bootstrap"
        if n == 0:
            return {m: MetricDelta(m, None, None, None, 0, test=test) for m in names}
        boots = paired_bootstrap_means([x for x, _ in cols], [y for _, y in cols])
        out = {}
        for m, (x, y), boot in zip(names, cols, boots, strict=True):
            # A sum over n resampled pairs is n times their mean.
            scale = n if not binary and RUN_VALUES.get(m, (None, "mean"))[1] == "sum" else 1
            # Python's sum, one value after the other, as the figures have always been added.
            base, cand = sum(x.tolist()) / n * scale, sum(y.tolist()) / n * scale
            d = MetricDelta(m, base, cand, cand - base, n, test=test)
            if boot is not None:
                d.ci_low, d.ci_high, d.p_value = boot[0] * scale, boot[1] * scale, boot[2]
            if binary:
                bad = float(lower_is_better(m))  # the value of a bad outcome
                d.regressed = int(np.count_nonzero((x != y) & (y == bad)))
                d.improved = int(np.count_nonzero((x != y) & (x == bad)))
                d.p_value = mcnemar_exact(d.regressed, d.improved)
            out[m] = d
        return out

    def _quantiles(self, names: list[str]) -> dict[str, MetricDelta]:
        import numpy as np

        if not names:
            return {}
        x, y = self.table.value(names[0])  # every quantile metric is of latency
        if not len(x):
            return {m: MetricDelta(m, None, None, None, 0, test="bootstrap") for m in names}
        percents = [50.0 if RUN_VALUES[m][1] == "p50" else 95.0 for m in names]
        boots = paired_bootstrap_quantiles(x, y, percents)
        out = {}
        for m, q, boot in zip(names, percents, boots, strict=True):
            base, cand = float(np.percentile(x, q)), float(np.percentile(y, q))
            low, high, p = boot if boot else (None, None, None)
            out[m] = MetricDelta(m, base, cand, cand - base, len(x), low, high, "bootstrap", p)
        return out

    def _point(self, metric: str) -> MetricDelta:
        if self._points is None:
            self._points = self._overall()
        base = next((m for m in self._points[0] if m.tag is None and m.metric == metric), None)
        cand = next((m for m in self._points[1] if m.tag is None and m.metric == metric), None)
        bv = base.value if base else None
        cv = cand.value if cand else None
        known = bv is not None and cv is not None and math.isfinite(bv) and math.isfinite(cv)
        return MetricDelta(metric, bv, cv, cv - bv if known else None, cand.n if cand else 0)  # type: ignore[operator]

    def _overall(self) -> tuple[list[MetricValue], list[MetricValue]]:
        """Each side's overall metrics on the paired runs (the tags' are not asked for here)."""
        names = ({p.base.candidate for p in self.pairs}, {p.cand.candidate for p in self.pairs})
        if not self.pairs or len(names[0]) > 1 or len(names[1]) > 1:  # as compute_metrics groups them
            return (compute_metrics((p.base for p in self.pairs), by_tag=False),
                    compute_metrics((p.cand for p in self.pairs), by_tag=False))
        base, cand, case_idx, n_cases = self.table.rows()
        return (metrics_of_rows(self.pairs[0].base.candidate, None, base, case_idx, n_cases, []),
                metrics_of_rows(self.pairs[0].cand.candidate, None, cand, case_idx, n_cases, []))


def pair_runs(baseline: Iterable[RunResult], candidate: Iterable[RunResult]) -> Pairing:
    """Pair runs by (case_id, repeat) on the cases both sides ran; count what was left out."""
    base = {(r.case_id, r.repeat): r for r in baseline}
    cand = {(r.case_id, r.repeat): r for r in candidate}
    base_cases = {c for c, _ in base}
    cand_cases = {c for c, _ in cand}
    pairs = []
    for key in sorted(base.keys() & cand.keys()):
        b, c = base[key], cand[key]
        pairs.append(RunPair(key[0], key[1], list(dict.fromkeys([*b.tags, *c.tags])), b, c))
    return Pairing(
        pairs,
        dropped_cases_baseline=len(base_cases - cand_cases),
        dropped_cases_candidate=len(cand_cases - base_cases),
        dropped_runs_baseline=len(base) - len(pairs),
        dropped_runs_candidate=len(cand) - len(pairs),
    )


def _metric_names(pairing: Pairing) -> list[str]:
    scorers = sorted({s for p in pairing.pairs for s in (*p.base.scores, *p.cand.scores)})
    per_case: dict[str, int] = {}
    for p in pairing.pairs:
        per_case[p.case_id] = per_case.get(p.case_id, 0) + 1
    k_max = max(per_case.values(), default=0)
    return [
        *COMPARED_METRICS,
        "cost_per_success_usd",
        *(f"{kind}:{s}" for s in scorers for kind in ("score", "mean")),
        *(f"pass^{k}" for k in range(1, k_max + 1)),
    ]


def _cases(pairing: Pairing) -> tuple[list[CaseConsistency], dict[str, list[CaseChange]]]:
    cons: dict[str, CaseConsistency] = {}
    changes: dict[str, dict[str, CaseChange]] = {"regressed": {}, "improved": {}, "still_wrong": {}}
    for p in pairing.pairs:
        if not p.judged:
            continue
        c = cons.get(p.case_id)
        if c is None:
            c = cons[p.case_id] = CaseConsistency(p.case_id, p.tags, 0, 0, 0, 0, 0, 0, 0, 0)
        b_ok, c_ok = p.base.correct, p.cand.correct
        c.baseline_runs += 1
        c.candidate_runs += 1
        c.baseline_correct += b_ok
        c.candidate_correct += c_ok
        kind = ("both_correct" if c_ok else "regressed") if b_ok else ("improved" if c_ok else "still_wrong")
        setattr(c, kind, getattr(c, kind) + 1)
        if kind == "both_correct":
            continue
        source = p.base if kind == "improved" else p.cand
        change = changes[kind].setdefault(p.case_id, CaseChange(p.case_id, p.tags, [], []))
        change.repeats.append(p.repeat)
        change.reasons.extend(r for r in source.reasons if r not in change.reasons)
    return list(cons.values()), {k: list(v.values()) for k, v in changes.items()}


def build_comparison(pairing: Pairing, baseline: str, candidate: str, *, by_tag: bool = True) -> Comparison:
    """Every figure of a comparison from paired runs."""
    names = _metric_names(pairing)
    metrics = pairing.deltas(names)
    tags: dict[str, TagComparison] = {}
    if by_tag:
        for tag in sorted({t for p in pairing.pairs for t in p.tags}):
            sub = pairing.restrict([tag])
            tags[tag] = TagComparison(tag, len(sub.pairs), sub.cases, sub.deltas(names))
    consistency, changes = _cases(pairing)
    return Comparison(
        baseline,
        candidate,
        len(pairing.pairs),
        pairing.cases,
        pairing.dropped_cases_baseline,
        pairing.dropped_cases_candidate,
        pairing.dropped_runs_baseline,
        pairing.dropped_runs_candidate,
        metrics,
        tags,
        changes["regressed"],
        changes["improved"],
        changes["still_wrong"],
        significantly_worse_tags(tags),
        flaky_cases(consistency),
        consistency,
    )


def runs_of(results: Iterable[RunResult], name: str, role: str) -> list[RunResult]:
    """The runs of one candidate; an InputError (keyed by ``role``: ``baseline`` or ``candidate``)
    naming the candidates there are when it has none."""
    results = list(results)
    mine = [r for r in results if r.candidate == name]
    if not mine:
        have = ", ".join(sorted({r.candidate for r in results})) or "none"
        raise InputError(f"no results for candidate '{name}' (candidates: {have})", key=role)
    return mine


def compare_candidates(
    results: Iterable[RunResult], baseline: str, candidate: str, *, by_tag: bool = True
) -> Comparison:
    """Compare two candidates of one evaluation on the cases both ran."""
    results = list(results)
    pairing = pair_runs(runs_of(results, baseline, "baseline"), runs_of(results, candidate, "candidate"))
    return build_comparison(pairing, baseline, candidate, by_tag=by_tag)


def compare_runs(
    results_a: Iterable[RunResult],
    results_b: Iterable[RunResult],
    candidate: str,
    candidate_b: str | None = None,
    *,
    by_tag: bool = True,
) -> Comparison:
    """Compare ``candidate`` of run A (the baseline) with ``candidate_b`` (default the same) of run B."""
    base = runs_of(results_a, candidate, "candidate")
    cand = runs_of(results_b, candidate_b or candidate, "candidate")
    cmp = build_comparison(pair_runs(base, cand), candidate, candidate_b or candidate, by_tag=by_tag)
    cmp.baseline_run_id, cmp.candidate_run_id = base[0].run_id, cand[0].run_id
    return cmp
