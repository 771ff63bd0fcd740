"""What a comparison finds: per-metric differences, changed cases, and the rows stored for them.

Computed by :mod:`agentctl.metrics.compare`; read by gates, ``eval compare`` and reports. The
rows (:func:`comparison_rows`) hold every figure, so :func:`comparison_from_rows` rebuilds the
same comparison from the store (``eval compare`` on a measured run).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from agentctl.core.jsonvalues import finite_or_none, json_number, json_ready
from agentctl.core.metric_names import LOWER_IS_BETTER, RATE_METRICS
from agentctl.metrics.intervals import BOOTSTRAP_RESAMPLES, min_pairs_for_significance


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


def significantly_worse_tags(by_tag: dict[str, TagComparison]) -> list[str]:
    """Tags where a rate (but infra errors) is significantly worse at 0.05."""
    return [
        t
        for t, c in by_tag.items()
        if any(d.worse and d.significant for m, d in c.metrics.items() if m in RATE_METRICS and m != "infra_error_rate")
    ]


def flaky_cases(consistency: list[CaseConsistency]) -> dict[str, list[str]]:
    """``baseline`` / ``candidate`` -> the cases that side got right in some repeats only."""
    return {
        "baseline": [c.case_id for c in consistency if c.baseline_flaky],
        "candidate": [c.case_id for c in consistency if c.candidate_flaky],
    }


_DELTA_COLUMNS = {"baseline": "baseline_value", "candidate": "candidate_value", "n": "n_pairs"}
"""MetricDelta field -> its column in ``comparisons`` (the others keep their names)."""
_FIGURES = ("baseline_value", "candidate_value", "delta", "ci_low", "ci_high", "p_value")
_COUNTS = ("baseline_runs", "baseline_correct", "candidate_runs", "candidate_correct",
           "regressed", "improved", "still_wrong", "both_correct")
_CHANGES = ("regressed", "improved", "still_wrong")


def comparison_rows(
    run_id: str, comparison: Comparison, *, computed_at: datetime | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Rows of the ``comparison_pairings``, ``comparisons`` and ``comparison_cases`` tables for
    one comparison: everything :func:`comparison_from_rows` needs to rebuild it."""
    c = comparison
    head = {
        "run_id": run_id,
        "baseline": c.baseline,
        "candidate": c.candidate,
        "baseline_run_id": c.baseline_run_id,
        "candidate_run_id": c.candidate_run_id,
    }
    pairing = {
        **head,
        "pairs": c.pairs,
        "cases": c.cases,
        "dropped_cases_baseline": c.dropped_cases_baseline,
        "dropped_cases_candidate": c.dropped_cases_candidate,
        "dropped_runs_baseline": c.dropped_runs_baseline,
        "dropped_runs_candidate": c.dropped_runs_candidate,
        "bootstrap_resamples": BOOTSTRAP_RESAMPLES,
        "computed_at": computed_at or datetime.now(UTC).replace(tzinfo=None),
    }
    metric_rows: list[dict[str, Any]] = []
    groups: list[tuple[str | None, int, int, dict[str, MetricDelta]]] = [(None, c.pairs, c.cases, c.metrics)]
    groups += [(tag, t.pairs, t.cases, t.metrics) for tag, t in c.by_tag.items()]
    for tag, pairs, cases, deltas in groups:
        for d in deltas.values():
            row = {_DELTA_COLUMNS.get(k, k): v for k, v in d.to_dict().items()}
            nonfinite = {col: json_number(v) for col, v in zip(_FIGURES, (
                d.baseline, d.candidate, d.delta, d.ci_low, d.ci_high, d.p_value), strict=True)
                if isinstance(v, float) and not math.isfinite(v)}
            metric_rows.append({**head, "tag": tag, **row, "ordinal": len(metric_rows), "pairs": pairs,
                                "cases": cases, "nonfinite": json.dumps(nonfinite) if nonfinite else None})
    changes = {kind: {ch.case_id: ch for ch in getattr(c, kind)} for kind in _CHANGES}
    cand_reasons: dict[str, list[str]] = {}
    for change in (*c.regressed, *c.still_wrong):
        seen = cand_reasons.setdefault(change.case_id, [])
        seen.extend(r for r in change.reasons if r not in seen)
    case_rows: list[dict[str, Any]] = []
    for k in c.consistency:
        kept = {kind: changes[kind][k.case_id] for kind in _CHANGES if k.case_id in changes[kind]}
        case_rows.append({
            **head,
            "case_id": k.case_id,
            "tags": k.tags,
            **{f: getattr(k, f) for f in _COUNTS},
            "baseline_flaky": k.baseline_flaky,
            "candidate_flaky": k.candidate_flaky,
            "candidate_reasons": cand_reasons.get(k.case_id, []),
            "baseline_reasons": kept["improved"].reasons if "improved" in kept else [],
            "ordinal": len(case_rows),
            **{f"{kind}_repeats": kept[kind].repeats if kind in kept else [] for kind in _CHANGES},
            **{f"{kind}_reasons": kept[kind].reasons if kind in kept else [] for kind in ("regressed", "still_wrong")},
        })
    return {"comparison_pairings": [pairing], "comparisons": metric_rows, "comparison_cases": case_rows}


def comparison_from_rows(
    pairing: dict[str, Any], metric_rows: list[dict[str, Any]], case_rows: list[dict[str, Any]]
) -> Comparison:
    """The :class:`Comparison` that :func:`comparison_rows` stored, rebuilt from its rows."""
    metrics: dict[str, MetricDelta] = {}
    by_tag: dict[str, TagComparison] = {}
    for row in sorted(metric_rows, key=lambda r: r["ordinal"]):
        figures = dict(row)
        for col, spelled in json.loads(row["nonfinite"] or "{}").items():
            figures[col] = float(spelled)
        d = MetricDelta(
            row["metric"], figures["baseline_value"], figures["candidate_value"], figures["delta"],
            row["n_pairs"], figures["ci_low"], figures["ci_high"], row["test"], figures["p_value"],
            row["regressed"], row["improved"],
        )
        tag = row["tag"]
        if tag is None:
            metrics[d.metric] = d
        else:
            by_tag.setdefault(tag, TagComparison(tag, row["pairs"], row["cases"], {})).metrics[d.metric] = d
    consistency = []
    changes: dict[str, list[CaseChange]] = {kind: [] for kind in _CHANGES}
    for row in sorted(case_rows, key=lambda r: r["ordinal"]):
        tags = list(row["tags"] or [])
        consistency.append(CaseConsistency(row["case_id"], tags, *(row[f] for f in _COUNTS)))
        reasons = {"regressed": row["regressed_reasons"], "improved": row["baseline_reasons"],
                   "still_wrong": row["still_wrong_reasons"]}
        for kind in _CHANGES:
            if row[kind]:
                changes[kind].append(CaseChange(row["case_id"], list(tags), list(row[f"{kind}_repeats"] or []),
                                                list(reasons[kind] or [])))
    return Comparison(
        pairing["baseline"],
        pairing["candidate"],
        pairing["pairs"],
        pairing["cases"],
        pairing["dropped_cases_baseline"],
        pairing["dropped_cases_candidate"],
        pairing["dropped_runs_baseline"],
        pairing["dropped_runs_candidate"],
        metrics,
        by_tag,
        changes["regressed"],
        changes["improved"],
        changes["still_wrong"],
        significantly_worse_tags(by_tag),
        flaky_cases(consistency),
        consistency,
        pairing["baseline_run_id"],
        pairing["candidate_run_id"],
    )
