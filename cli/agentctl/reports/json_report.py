"""The whole result as JSON, in a documented shape other tools can rely on.

Shape (``format: "agentctl.report"``, ``format_version: 1``; fields are only ever added)::

    {
      "format": "agentctl.report", "format_version": 1,
      "run":     {run_id, suite, status, exit_code, started_at, finished_at, dataset_path,
                  dataset_hash, git_commit, agentctl_version, baseline,
                  candidates: [{name, model, params, system_prompt_sha}], options},
      "verdict": {passed, exit_code, failed_gates: [gate name, ...]},
      "gates":   [{candidate, gate, passed, value, threshold, detail, decided_by, insufficient, runs_needed}],
      "metrics": [{candidate, tag, metric, value, ci_low, ci_high, n}],   # tag null = overall
      "comparisons": [row of the comparisons table, ...],                # empty when not stored
      "cases":   [{case_id, candidate, tags, runs, correct, escaped_errors, critical_errors,
                   infra_errors, unverifiable, verdict, change, reasons}],  # repeats folded
      "results": [{case_id, candidate, repeat, status, failure_reason, correct, escaped_error,
                   critical_error, infra_error, policy_violations, failed_writes, cost_usd,
                   latency_s, steps, tool_calls, prompt_tokens, completion_tokens, model, tags,
                   reasons, unverifiable, state_diff, state_hash, user_cost_usd, user_turns,
                   scores: [{scorer, score, passed, reason}]}]
    }

The summary is indented; each entry of ``cases`` and ``results`` is one compact line (a run per
line reads well in ``grep`` and ``diff``, and is written by the C encoder: a 2,000-run report
indented through and through took 0.2 s). Numbers that are not finite (``cost_per_success_usd`` with no success) are the strings
``"inf"``, ``"-inf"`` or ``"nan"``, since JSON has no such numbers. Timestamps are ISO 8601.
:data:`REPORT_SCHEMA` is the JSON Schema of this shape.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from agentctl.core.jsonvalues import json_ready
from agentctl.reports.data import CaseOutcome, ReportData
from agentctl.reports.redact import encode_scrubbed, plain_keys, scrub_mapping

FORMAT_VERSION = 1

_NUM = {"anyOf": [{"type": "number"}, {"type": "null"}, {"enum": ["inf", "-inf", "nan"]}]}
_STR = {"type": ["string", "null"]}


def _obj(required: list[str], props: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": props or {}}


REPORT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "agentctl report",
    "type": "object",
    "required": ["format", "format_version", "run", "verdict", "gates", "metrics", "comparisons", "cases", "results"],
    "properties": {
        "format": {"const": "agentctl.report"},
        "format_version": {"const": FORMAT_VERSION},
        "run": _obj(["run_id", "suite", "status", "exit_code", "started_at", "baseline", "candidates"],
                    {"run_id": {"type": "string"}, "suite": {"type": "string"}, "baseline": _STR,
                     "candidates": {"type": "array"}}),
        "verdict": _obj(["passed", "exit_code", "failed_gates"],
                        {"passed": {"type": "boolean"}, "failed_gates": {"type": "array", "items": {"type": "string"}}}),
        "gates": {"type": "array", "items": _obj(
            ["candidate", "gate", "passed", "value", "threshold", "detail"],
            {"candidate": {"type": "string"}, "gate": {"type": "string"}, "passed": {"type": "boolean"},
             "value": _NUM, "threshold": _NUM, "detail": {"type": "string"}})},
        "metrics": {"type": "array", "items": _obj(
            ["candidate", "tag", "metric", "value", "ci_low", "ci_high", "n"],
            {"candidate": {"type": "string"}, "tag": _STR, "metric": {"type": "string"}, "value": _NUM,
             "ci_low": _NUM, "ci_high": _NUM, "n": {"type": ["integer", "null"]}})},
        "comparisons": {"type": "array", "items": {"type": "object"}},
        "cases": {"type": "array", "items": _obj(
            ["case_id", "candidate", "tags", "runs", "correct", "verdict", "change", "reasons"],
            {"case_id": {"type": "string"}, "runs": {"type": "integer"}, "correct": {"type": "integer"},
             "verdict": {"enum": ["pass", "fail", "escaped", "critical", "infra"]},
             "change": {"enum": ["regressed", "improved", None]}})},
        "results": {"type": "array", "items": _obj(
            ["case_id", "candidate", "repeat", "status", "correct", "escaped_error", "critical_error",
             "infra_error", "cost_usd", "latency_s", "reasons", "scores"],
            {"correct": {"type": "boolean"}, "cost_usd": _NUM, "latency_s": _NUM,
             "unverifiable": {"type": "boolean"}, "state_diff": {"type": ["array", "null"]},
             "state_hash": _STR, "user_cost_usd": _NUM, "user_turns": {"type": "integer"}})},
    },
}




_SCORE_KEYS = ("scorer", "score", "passed", "reason")


def _result(r: Any) -> dict[str, Any]:
    return {
        "case_id": r.case_id, "candidate": r.candidate, "repeat": r.repeat, "status": r.status,
        "failure_reason": r.failure_reason, "correct": r.correct, "escaped_error": r.escaped_error,
        "critical_error": r.critical_error, "infra_error": r.infra_error,
        "policy_violations": r.policy_violations, "failed_writes": r.failed_writes,
        "cost_usd": r.cost_usd, "latency_s": r.latency_s, "steps": r.steps, "tool_calls": r.tool_calls,
        "prompt_tokens": r.prompt_tokens, "completion_tokens": r.completion_tokens, "model": r.model,
        "tags": r.tags, "reasons": r.reasons, "unverifiable": r.unverifiable,
        "state_diff": r.state_diff, "state_hash": r.state_hash, "user_cost_usd": r.user_cost_usd,
        "user_turns": r.user_turns,
        "scores": [{k: getattr(s, k) for k in _SCORE_KEYS} for s in r.scores.values()],
    }


def _case(c: CaseOutcome) -> dict[str, Any]:
    t = c.tally()
    return {"case_id": c.case_id, "candidate": c.candidate, "tags": c.tags, "runs": t.n,
            "correct": t.correct, "escaped_errors": t.escaped, "critical_errors": t.critical,
            "infra_errors": t.infra, "unverifiable": t.unverifiable, "verdict": t.verdict, "change": c.change,
            "reasons": c.reasons}


def _summary(data: ReportData) -> dict[str, Any]:
    """Everything before ``cases`` (small), not yet scrubbed."""
    run_keys = ("run_id", "suite", "suite_path", "status", "exit_code", "started_at", "finished_at",
                "dataset_path", "dataset_hash", "git_commit", "agentctl_version", "planned_runs", "message")
    run = {k: data.run.get(k) for k in run_keys}
    run.update(baseline=data.baseline, candidates=data.run.get("candidates") or [],
               options=data.run.get("options") or {})
    return {
        "format": "agentctl.report", "format_version": FORMAT_VERSION, "run": run,
        "verdict": {"passed": data.passed, "exit_code": data.run.get("exit_code"),
                    "failed_gates": [f"{g.candidate}: {g.gate}" for g in data.failed_gates]},
        "gates": [{"candidate": g.candidate, "gate": g.gate, "passed": g.passed, "value": g.value,
                   "threshold": g.threshold, "detail": g.detail, "decided_by": g.decided_by,
                   "insufficient": g.insufficient, "runs_needed": g.runs_needed} for g in data.gates],
        "metrics": [{"candidate": m.candidate, "tag": m.tag, "metric": m.metric, "value": m.value,
                     "ci_low": m.ci_low, "ci_high": m.ci_high, "n": m.n} for m in data.metrics],
        "comparisons": [{k: v for k, v in row.items() if k != "run_id"} for row in data.comparisons],
    }


def _head(data: ReportData) -> dict[str, Any]:
    """Everything but ``results``, scrubbed and JSON-ready."""
    return json_ready(scrub_mapping({**_summary(data), "cases": [_case(c) for c in data.cases]}))


def _results(data: ReportData) -> Iterator[dict[str, Any]]:
    """The ``results`` entries one at a time, each scrubbed and JSON-ready."""
    for case in data.cases:
        for r in case.runs:
            yield json_ready(scrub_mapping(_result(r)))


def _encoded(items: Iterator[dict[str, Any]], encode: Callable[[Any], str]) -> list[str]:
    """``items`` (of :func:`_case` or :func:`_result`) scrubbed, JSON-ready and encoded, one text each.

    Every item has the same keys (and its ``scores`` entries the same few), so checking the first
    item's checks them all; the dicts inside a ``state_diff`` come from the store with keys of
    their own, so an item with one is scrubbed the long way.
    """
    parts: list[str] = []
    plain: bool | None = None
    for item in items:
        if plain is None:
            plain = plain_keys(item) and plain_keys(_SCORE_KEYS)
        parts.append(encode_scrubbed(item, encode, plain_keys=plain and item.get("state_diff") is None))
    return parts


def report_dict(data: ReportData) -> dict[str, Any]:
    """The report as a plain dict (see the module docstring for the shape)."""
    return {**_head(data), "results": list(_results(data))}


def render_json(data: ReportData) -> str:
    """The report as JSON text (UTF-8, stable key order): the summary indented, then ``cases``
    and ``results`` an entry per line.

    Encoded an item at a time: the whole report as one tree of dicts (and its scrubbed copy) was
    most of the memory of a 100,000-run report, and scrubbing every value most of its time (an
    item with nothing to scrub is encoded as it is: see encode_scrubbed).
    """
    head = json.dumps(json_ready(scrub_mapping(_summary(data))), ensure_ascii=False, indent=2, allow_nan=False)
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode
    cases = _encoded((_case(c) for c in data.cases), encode)
    results = _encoded((_result(r) for c in data.cases for r in c.runs), encode)
    return "".join([head[:-2], ",\n", _listed("cases", cases), ",\n", _listed("results", results), "\n}\n"])


def _listed(key: str, parts: list[str]) -> str:
    """``  "key": [`` then an encoded entry per line (``[]`` when there is none)."""
    if not parts:
        return f'  "{key}": []'
    return f'  "{key}": [\n    ' + ",\n    ".join(parts) + "\n  ]"
