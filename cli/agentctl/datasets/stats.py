"""What a dataset folder holds (``agentctl dataset stats``): cases, recordings, tools, review state, cost.

The recorded cost is an estimate of what the recordings cost in production: a recording's
``cost_usd`` when it has one, else its token usage priced with litellm's bundled price list
(read as a file, without importing litellm), plus the catalog's per-call tool fees. It is not
what a ``replay:`` candidate reports (replay calls no model). Writes per run count write calls
that took effect; hand-offs (escalation tools) are not writes.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agentctl.core.errors import InputError
from agentctl.core.pricing import token_price
from agentctl.core.trajectory import is_write
from agentctl.datasets.importers.catalog import is_escalation
from agentctl.datasets.models import AnyRecording, Case, ToolCatalog
from agentctl.datasets.recorded_calls import recorded_calls


@dataclass
class InvalidCall:
    """A recorded tool call whose arguments do not fit the catalog."""

    run_id: str
    line: int
    tool: str
    reason: str


@dataclass
class LabelStats:
    runs: int = 0
    cases: int = 0
    """Cases with at least one recording under the label."""
    write_calls_mean: float = 0.0
    write_calls_max: int = 0
    cost_usd: float = 0.0
    """Replay cost of the label's recordings (see the module docstring)."""
    estimated_runs: int = 0
    """Recordings without ``cost_usd`` whose cost was estimated from token usage."""
    unpriced_runs: int = 0
    """Recordings with neither cost nor a priced model: counted as 0."""


@dataclass
class DatasetStats:
    path: str
    cases: int = 0
    runs: int = 0
    labels: dict[str, LabelStats] = field(default_factory=dict)
    cases_without_runs: int = 0
    pending_review: int = 0
    pending_review_share: float = 0.0
    tags: dict[str, int] = field(default_factory=dict)
    tools: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per tool: ``effect`` (from the catalog, ``unknown`` when absent) and ``calls`` in recordings."""
    write_calls_per_run: dict[str, float] = field(default_factory=dict)
    """``mean``, ``median`` and ``max`` over all recordings."""
    invalid_calls: list[InvalidCall] = field(default_factory=list)
    runs_with_invalid_calls: int = 0
    replay_cost_usd: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _load(path: Path) -> tuple[list[Case], list[AnyRecording], ToolCatalog]:
    from agentctl.datasets.loader import load_dataset

    if not Path(path).is_dir():
        raise InputError(f"not a dataset folder: {path}")
    dataset = load_dataset(Path(path))  # raises ValidationFailed naming file and line
    return dataset.cases, dataset.runs, dataset.tools


def token_cost(model: str | None, usage: dict[str, Any] | None) -> float | None:
    """List price of a recording's tokens, or ``None`` when the model or its usage is unknown."""
    if not model or not usage:
        return None
    price = token_price({}, model)  # litellm's list price (the map it ships), as replay pricing reads it
    if price is None:
        return None
    return price.cost(float(usage.get("prompt_tokens") or 0), float(usage.get("completion_tokens") or 0))


def _validator(schema: dict[str, Any]) -> Any:
    import jsonschema

    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


def dataset_stats(path: Path) -> DatasetStats:
    """Counts and costs of a dataset folder; bad files raise :class:`InputError` with file and line."""
    cases, runs, catalog = _load(path)
    stats = DatasetStats(path=str(path), cases=len(cases), runs=len(runs))
    stats.pending_review = sum(1 for c in cases if c.review == "pending")
    stats.pending_review_share = round(stats.pending_review / len(cases), 4) if cases else 0.0
    stats.tags = dict(Counter(t for c in cases for t in c.tags).most_common())
    recorded_cases = {r.case_id for r in runs}
    stats.cases_without_runs = sum(1 for c in cases if c.id not in recorded_cases)
    validators = {t.name: _validator(t.parameters) for t in catalog.tools}
    tool_calls: Counter[str] = Counter()
    writes_all: list[int] = []
    per_label_writes: dict[str, list[int]] = {}
    per_label_cases: dict[str, set[str]] = {}
    bad_runs: set[str] = set()
    for run in runs:
        label = stats.labels.setdefault(run.label, LabelStats())
        label.runs += 1
        per_label_cases.setdefault(run.label, set()).add(run.case_id)
        writes = 0
        tool_fees = 0.0
        for call in recorded_calls(run):
            tool_calls[call.name] += 1
            tool = catalog.get(call.name)
            reason = None
            if call.arguments is None:
                reason = call.parse_error or "arguments are not a JSON object"
            elif tool is None:
                reason = "tool is not in tools.yaml" if catalog.tools else None
            else:
                error = next(iter(validators[call.name].iter_errors(call.arguments)), None)
                if error is not None:
                    where = ".".join(str(p) for p in error.absolute_path)
                    reason = f"{where + ': ' if where else ''}{error.message}"
            if reason is not None:
                stats.invalid_calls.append(InvalidCall(run.run_id, run.line or 0, call.name, reason))
                bad_runs.add(run.run_id)
            if is_write(tool.effect if tool is not None else "unknown") and not call.error \
                    and not is_escalation(call.name):
                writes += 1
            if tool is not None:
                tool_fees += tool.cost_usd
        writes_all.append(writes)
        per_label_writes.setdefault(run.label, []).append(writes)
        cost = run.cost_usd
        if cost is None:
            cost = token_cost(run.model, run.usage)
            if cost is None:
                label.unpriced_runs += 1
            else:
                label.estimated_runs += 1
        label.cost_usd += (cost or 0.0) + tool_fees
    for name, label in stats.labels.items():
        ws = per_label_writes[name]
        label.cases = len(per_label_cases[name])
        label.write_calls_mean = round(statistics.fmean(ws), 4) if ws else 0.0
        label.write_calls_max = max(ws, default=0)
        label.cost_usd = round(label.cost_usd, 6)
    stats.labels = dict(sorted(stats.labels.items()))
    stats.tools = {name: {"effect": (catalog.get(name).effect if catalog.get(name) else "unknown"),  # type: ignore[union-attr]
                          "calls": tool_calls.get(name, 0)}
                   for name in sorted(set(tool_calls) | set(catalog.names))}
    if writes_all:
        stats.write_calls_per_run = {"mean": round(statistics.fmean(writes_all), 4),
                                     "median": float(statistics.median(writes_all)), "max": float(max(writes_all))}
    stats.runs_with_invalid_calls = len(bad_runs)
    stats.replay_cost_usd = round(sum(label.cost_usd for label in stats.labels.values()), 6)
    return stats


def pending_reviews(path: Path) -> tuple[int, int]:
    """Cases of a dataset folder still marked ``review: pending``, and all its cases."""
    cases = path / "cases.jsonl"
    pending = total = 0
    if cases.exists():
        for line in cases.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            total += 1
            try:
                pending += json.loads(line).get("review") == "pending"
            except (ValueError, AttributeError):
                continue
    return pending, total
