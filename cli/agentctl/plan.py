"""The plan of an evaluation: which (case, candidate, repeat) runs to carry out."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from agentctl.config.models import CandidateSpec, Suite
from agentctl.core.errors import InputError
from agentctl.datasets.models import AnyRecording, Case, Dataset


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
                raise InputError(f"{item!r} is neither a candidate of the suite ({names}) "
                                 "nor a model string such as 'openai/gpt-4o-mini'", key="candidate")
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
        raise InputError(f"{text!r}: expected I/N, e.g. 1/4", key="shard") from None
    if not (n >= 1 and 1 <= i <= n):
        raise InputError(f"{text!r}: I must be between 1 and N", key="shard")
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


def _recorded_usage(recs: list[AnyRecording]) -> tuple[float, float, float] | None:
    """Mean (assistant turns, prompt tokens, completion tokens) over a case's recordings."""
    if not recs:
        return None
    turns, prompt, completion = [], [], []
    for rec in recs:
        assistant = [m for m in rec.messages if m.get("role") == "assistant"]
        turns.append(max(1, len(assistant)))
        usage = rec.usage or {}
        if not usage:  # fall back to per-message usage
            usage = {k: sum(int((m.get("usage") or {}).get(k) or 0) for m in assistant)
                     for k in ("prompt_tokens", "completion_tokens")}
        prompt.append(float(usage.get("prompt_tokens") or 0))
        completion.append(float(usage.get("completion_tokens") or 0))
    n = len(recs)
    return sum(turns) / n, sum(prompt) / n, sum(completion) / n


def _price_per_token(suite: Suite, model: str) -> tuple[float, float] | None:
    """USD per prompt and per completion token: the suite's pricing, else litellm's cost map."""
    from agentctl.core.pricing import token_price

    price = token_price(suite.pricing, model)
    return (price.prompt, price.completion) if price is not None else None


ESTIMATED_COMPLETION_TOKENS = 200
"""Completion tokens assumed per model call when no recording says better (dry-run estimates)."""


def _prompt_tokens(suite: Suite, dataset: Dataset, run: PlannedRun) -> float:
    """Rough prompt size of one model call: system prompt, case input and tool catalog, ~4 chars a token."""
    import json

    try:
        prompt = suite.system_prompt_for(run.candidate) or ""
    except (OSError, UnicodeDecodeError):
        prompt = ""
    allow = suite.policy.allow_tools
    size = len(prompt) + len(json.dumps(run.case.input)) + len(json.dumps(dataset.tools.openai_tools(allow)))
    return size / 4


def estimate_plan(plan: Plan, suite: Suite, dataset: Dataset) -> tuple[dict[tuple[str, str, str, int], float], list[str]]:
    """Expected model calls and cost of every planned run, for ``--dry-run``; nothing is called.

    Replay runs: no call, the recorded cost. Live runs: the mean number of assistant turns
    and of tokens over the case's recordings (any label), priced for the candidate's model.
    Returns ``{("calls" | "cost", case_id, candidate, repeat): value}`` and notes.
    """
    estimates: dict[tuple[str, str, str, int], float] = {}
    prices: dict[str, tuple[float, float] | None] = {}
    unpriced: set[str] = set()
    unrecorded = 0
    simulated: dict[str, int] = {}
    """Simulator model -> live multi-turn runs that will call it (not part of the estimate)."""
    for run in plan.runs:
        case_id, name, repeat = run.key
        user = suite.user_simulator_for(run.candidate)
        if not run.candidate.is_replay and run.case.user is not None and user is not None and user.model != "replay":
            simulated[user.model] = simulated.get(user.model, 0) + 1
        if run.candidate.is_replay:
            recs = dataset.runs_for(case_id, run.candidate.replay_label)
            rec = recs[repeat - 1] if len(recs) >= repeat else None
            estimates[("calls", case_id, name, repeat)] = 0
            estimates[("cost", case_id, name, repeat)] = (rec.cost_usd or 0.0) if rec is not None else 0.0
            continue
        usage = _recorded_usage(dataset.runs_for(case_id))
        if usage is None:
            unrecorded += 1
            usage = (1.0, _prompt_tokens(suite, dataset, run), float(ESTIMATED_COMPLETION_TOKENS))
        turns, prompt, completion = usage
        model = run.candidate.model
        if model not in prices:
            prices[model] = _price_per_token(suite, model)
        rate = prices[model]
        if rate is None:
            unpriced.add(model)
        estimates[("calls", case_id, name, repeat)] = round(turns)
        estimates[("cost", case_id, name, repeat)] = prompt * rate[0] + completion * rate[1] if rate else 0.0
    notes = []
    if unrecorded:
        notes.append(f"{unrecorded} live run(s) have no recording to estimate from: estimated as 1 call of "
                     f"system prompt + input + tool catalog (~4 characters a token) and "
                     f"{ESTIMATED_COMPLETION_TOKENS} completion tokens")
    for model in sorted(unpriced):
        notes.append(f"{model} has no price (not in litellm's cost map nor the suite's pricing): estimated at $0")
    for model, n in sorted(simulated.items()):
        notes.append(f"{n} live run(s) are conversations whose user is played by {model}: its calls "
                     "(user_cost_usd) are not in this estimate")
    return estimates, notes


def pricing_notes(suite: Suite, dataset: Dataset, plan: Plan) -> tuple[dict[str, str], list[str]]:
    """Who priced replayed tokens that carry no recorded cost, and live models with no price."""
    from agentctl.core.pricing import has_price, no_price_message, unpriced_replay_models

    notes: list[str] = []
    recordings = [r for c in plan.candidates if c.is_replay
                  for case in plan.cases for r in dataset.runs_for(case.id, c.replay_label)]
    sources = unpriced_replay_models(suite.pricing, recordings) if recordings else {}
    for model, source in sorted(sources.items()):
        if source == "unpriced":
            notes.append(f"replayed recordings of {model} carry tokens but no cost_usd, and {model} has no price: "
                         "counted as $0 (add it under pricing:)")
        else:
            notes.append(f"replayed recordings of {model} carry tokens but no cost_usd: priced from {source}")
    in_suite = {c.name for c in suite.candidates}
    for c in plan.candidates:  # suite candidates were checked by validate; these came from --candidate
        if c.name not in in_suite and not c.is_replay and not has_price(suite.pricing, c.model):
            notes.append(no_price_message(c.model, f"candidate '{c.name}'"))
    return sources, notes
