"""The plan of an evaluation: which (case, candidate, repeat) runs to carry out."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from agentctl.config.models import CandidateSpec, Suite
from agentctl.datasets.models import Case, Dataset
from agentctl.errors import InputError


@dataclass(frozen=True)
class PlannedRun:
    case: Case
    candidate: CandidateSpec
    repeat: int
    """1-based."""

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.case.id, self.candidate.name, self.repeat)


@dataclass
class Plan:
    runs: list[PlannedRun]
    candidates: list[CandidateSpec]
    cases: list[Case]
    notes: list[str] = field(default_factory=list)
    """Things a person should know about the plan (cases without recordings, ...)."""

    def expected_model_calls(self, dataset: Dataset) -> int:
        """For live candidates: recorded assistant turns of the case (an estimate)."""
        total = 0
        for run in self.runs:
            if run.candidate.is_replay:
                continue
            recs = dataset.runs_for(run.case.id)
            turns = [sum(1 for m in r.messages if m.get("role") == "assistant") for r in recs]
            total += max(1, round(sum(turns) / len(turns))) if turns else 1
        return total


def select_candidates(suite: Suite, wanted: list[str]) -> list[CandidateSpec]:
    """Candidates named on the command line (by name, or a litellm model string).

    The baseline is always kept so that comparisons and regression gates have something
    to compare with.
    """
    if not wanted:
        return list(suite.candidates)
    chosen: list[CandidateSpec] = []
    for item in wanted:
        spec = suite.candidate(item)
        if spec is None:
            if ":" not in item and "/" not in item:
                names = ", ".join(c.name for c in suite.candidates)
                raise InputError(f"--candidate {item!r} is neither a candidate of the suite ({names}) "
                                 "nor a model string such as 'openai/gpt-4o-mini'")
            spec = CandidateSpec(name=item, model=item)
        if spec.name not in {c.name for c in chosen}:
            chosen.append(spec)
    if suite.baseline and suite.baseline not in {c.name for c in chosen}:
        base = suite.candidate(suite.baseline)
        if base is not None:
            chosen.insert(0, base)
    return chosen


def _in_shard(case_id: str, index: int, count: int) -> bool:
    digest = hashlib.sha256(case_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") % count == index - 1


def parse_shard(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    try:
        i, n = (int(x) for x in text.split("/", 1))
    except ValueError:
        raise InputError(f"--shard {text!r}: expected I/N, e.g. 1/4") from None
    if not (n >= 1 and 1 <= i <= n):
        raise InputError(f"--shard {text!r}: I must be between 1 and N")
    return i, n


def make_plan(
    suite: Suite,
    dataset: Dataset,
    candidates: list[CandidateSpec],
    *,
    repeats: int | None = None,
    tags: list[str] | None = None,
    limit: int | None = None,
    shard: tuple[int, int] | None = None,
) -> Plan:
    cases = list(dataset.cases)
    if tags:
        cases = [c for c in cases if set(c.tags) & set(tags)]
    if shard:
        cases = [c for c in cases if _in_shard(c.id, *shard)]
    if limit is not None:
        cases = cases[:limit]
    runs: list[PlannedRun] = []
    notes: list[str] = []
    for cand in candidates:
        missing = 0
        short = 0
        for case in cases:
            if cand.is_replay:
                recorded = len(dataset.runs_for(case.id, cand.replay_label))
                k = repeats or suite.repeats or recorded
                if recorded == 0:
                    missing += 1
                    continue
                if k > recorded:
                    short += 1
                k = min(k, recorded)
            else:
                k = repeats or suite.repeats or 1
            runs.extend(PlannedRun(case, cand, r) for r in range(1, k + 1))
        if missing:
            notes.append(f"{cand.name}: {missing} case(s) have no recording with label "
                         f"'{cand.replay_label}' and are not run")
        if short:
            notes.append(f"{cand.name}: {short} case(s) have fewer recordings than the repeats asked for; "
                         "only the recorded trials are replayed")
    return Plan(runs=runs, candidates=candidates, cases=cases, notes=notes)
