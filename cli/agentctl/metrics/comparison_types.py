"""What a comparison finds: per-metric differences, changed cases, and the rows stored for them.

Computed by :mod:`agentctl.metrics.compare`; read by gates, ``eval compare`` and reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agentctl.core.jsonvalues import finite_or_none, json_ready
from agentctl.core.metric_names import LOWER_IS_BETTER
from agentctl.metrics.intervals import min_pairs_for_significance


def lower_is_better(metric: str) -> bool:
    return metric in LOWER_IS_BETTER


@dataclass
class MetricDelta:
    """One metric of baseline and candidate on the paired runs, and what the difference means."""

    metric: str
    baseline: float | None
    candidate: float | None
    delta: float | None
    """candidate - baseline"""
    n: int
    """Pairs the figures are computed on (cases, for pass^k)."""
    ci_low: float | None = None
    ci_high: float | None = None
    """95% paired bootstrap interval of ``delta``."""
    test: str = "point"
    """``mcnemar_exact`` (rates), ``bootstrap`` (cost, latency, steps) or ``point`` (no test)."""
    p_value: float | None = None
    regressed: int | None = None
    """Rates: discordant pairs where the candidate is worse (b)."""
    improved: int | None = None
    """Rates: discordant pairs where the candidate is better (c)."""

    @property
    def drop(self) -> float | None:
        """How much worse the candidate is (positive = worse), honouring LOWER_IS_BETTER."""
        if self.delta is None:
            return None
        return self.delta if lower_is_better(self.metric) else -self.delta

    @property
    def worse(self) -> bool:
        return self.drop is not None and self.drop > 0

    @property
    def significant(self) -> bool:
        """The difference is significant at 0.05."""
        return self.significant_at(0.05)

    def significant_at(self, alpha: float) -> bool:
        """``p < alpha``; a bootstrap also needs as many pairs as McNemar would to get there."""
        if self.p_value is None:
            return False
        if self.test == "bootstrap" and self.n < min_pairs_for_significance(alpha):
            return False
        return self.p_value < alpha

    def to_dict(self, *, json: bool = False) -> dict[str, Any]:
        """The figures as a dict: non-finite numbers as ``None`` (a stored row), or spelled as
        agentctl's JSON spells them with ``json=True`` (:mod:`agentctl.core.jsonvalues`)."""
        out = {k: json_ready(v) if json else finite_or_none(v) for k, v in self.__dict__.items()}
        out.update(worse=self.worse, significant=self.significant)
        return out


@dataclass
class CaseChange:
    """A case whose outcome changed (or stayed wrong), with the verdict reasons behind it."""

    case_id: str
    tags: list[str]
    repeats: list[int]
    """Repeats in which it happened."""
    reasons: list[str]
    """The candidate's reasons (regressed, still wrong) or the baseline's (improved)."""


@dataclass
class CaseConsistency:
    """How often each side got one case right, over the judged pairs."""

    case_id: str
    tags: list[str]
    baseline_runs: int
    baseline_correct: int
    candidate_runs: int
    candidate_correct: int
    regressed: int
    improved: int
    still_wrong: int
    both_correct: int

    @property
    def baseline_flaky(self) -> bool:
        return 0 < self.baseline_correct < self.baseline_runs

    @property
    def candidate_flaky(self) -> bool:
        return 0 < self.candidate_correct < self.candidate_runs


@dataclass
class TagComparison:
    """The paired metrics of the cases with one tag."""

    tag: str
    pairs: int
    cases: int
    metrics: dict[str, MetricDelta]


@dataclass
class Comparison:
    """A candidate against a baseline on the runs both made (``eval compare``, regression gates)."""

    baseline: str
    candidate: str
    pairs: int
    cases: int
    dropped_cases_baseline: int
    dropped_cases_candidate: int
    dropped_runs_baseline: int
    dropped_runs_candidate: int
    metrics: dict[str, MetricDelta]
    by_tag: dict[str, TagComparison]
    regressed: list[CaseChange]
    """Baseline correct, candidate not (in at least one repeat)."""
    improved: list[CaseChange]
    still_wrong: list[CaseChange]
    significantly_worse_tags: list[str]
    """Tags where a rate is significantly worse at 0.05, whatever the overall figures say."""
    flaky: dict[str, list[str]]
    """``baseline`` / ``candidate`` -> cases correct in some repeats and not in others."""
    consistency: list[CaseConsistency]
    baseline_run_id: str | None = None
    candidate_run_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable data (``--json``): infinite values spelled ``"inf"``, as in every JSON agentctl writes."""
        out: dict[str, Any] = {
            k: v
            for k, v in self.__dict__.items()
            if k not in ("metrics", "by_tag", "regressed", "improved", "still_wrong", "consistency")
        }
        out["metrics"] = {k: m.to_dict(json=True) for k, m in self.metrics.items()}
        out["by_tag"] = {
            t: {
                "tag": c.tag,
                "pairs": c.pairs,
                "cases": c.cases,
                "metrics": {k: m.to_dict(json=True) for k, m in c.metrics.items()},
            }
            for t, c in self.by_tag.items()
        }
        for key in ("regressed", "improved", "still_wrong"):
            out[key] = [dict(c.__dict__) for c in getattr(self, key)]
        out["consistency"] = [
            {**c.__dict__, "baseline_flaky": c.baseline_flaky, "candidate_flaky": c.candidate_flaky}
            for c in self.consistency
        ]
        return dict(json_ready(out))


def comparison_rows(run_id: str, comparison: Comparison) -> dict[str, list[dict[str, Any]]]:
    """Rows of the ``comparisons`` and ``comparison_cases`` tables for one comparison."""
    c = comparison
    head = {
        "run_id": run_id,
        "baseline": c.baseline,
        "candidate": c.candidate,
        "baseline_run_id": c.baseline_run_id,
        "candidate_run_id": c.candidate_run_id,
    }
    metric_rows = []
    groups: list[tuple[str | None, dict[str, MetricDelta]]] = [(None, c.metrics)]
    groups += [(tag, t.metrics) for tag, t in c.by_tag.items()]
    for tag, deltas in groups:
        for d in deltas.values():
            row = d.to_dict()
            row["n_pairs"] = row.pop("n")
            row["baseline_value"], row["candidate_value"] = row.pop("baseline"), row.pop("candidate")
            metric_rows.append({**head, "tag": tag, **row})
    cand_reasons: dict[str, list[str]] = {}
    for change in (*c.regressed, *c.still_wrong):
        seen = cand_reasons.setdefault(change.case_id, [])
        seen.extend(r for r in change.reasons if r not in seen)
    base_reasons = {change.case_id: change.reasons for change in c.improved}
    counts = (
        "baseline_runs",
        "baseline_correct",
        "candidate_runs",
        "candidate_correct",
        "regressed",
        "improved",
        "still_wrong",
        "both_correct",
    )
    case_rows = [
        {
            **head,
            "case_id": k.case_id,
            "tags": k.tags,
            **{f: getattr(k, f) for f in counts},
            "baseline_flaky": k.baseline_flaky,
            "candidate_flaky": k.candidate_flaky,
            "candidate_reasons": cand_reasons.get(k.case_id, []),
            "baseline_reasons": base_reasons.get(k.case_id, []),
        }
        for k in c.consistency
    ]
    return {"comparisons": metric_rows, "comparison_cases": case_rows}
