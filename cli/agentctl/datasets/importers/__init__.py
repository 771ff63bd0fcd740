"""Import production traces into a golden dataset folder (``agentctl dataset import``).

:func:`import_traces` reads sources with the importer of a format (``openai``, ``otel``,
``openinference``, or a plugin's), groups what it read into one run per conversation
(``--group-by``), redacts, and writes ``runs.jsonl`` (new runs appended;
a run whose ``run_id`` is already there is not written twice), ``cases.jsonl`` drafts
(``review: pending``) for runs whose case the file lacks, and ``tools.yaml`` when the
folder has none (copied from ``--tools``, else inferred). An existing ``cases.jsonl`` is
kept: a run joins an existing case when it names the case id or has the same input;
drafts for the other runs are appended.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from agentctl.core.errors import InputError, Problem, ValidationFailed
from agentctl.core.normalize import canonical
from agentctl.datasets.importers.base import ImportedRun, ProblemLog, check_transcript, expand_sources
from agentctl.datasets.importers.catalog import (
    dump_catalog,
    infer_catalog,
    is_escalation,
    load_catalog,
    tool_effect,
)
from agentctl.datasets.importers.drafts import (
    case_id_for,
    case_input,
    draft_case,
    expected_actions,
)
from agentctl.datasets.importers.grouping import GROUPINGS, continues, group_runs, join_messages
from agentctl.datasets.importers.messages import python_literal
from agentctl.datasets.importers.registry import available, get_importer
from agentctl.datasets.models import Case, RecordedRun
from agentctl.datasets.recorded_calls import is_error_output, recorded_calls_in
from agentctl.datasets.redact import Redactor, redactor_for

__all__ = ["ImportReport", "available", "import_traces"]


@dataclass
class ImportReport:
    """What an import did, for the command to print and for scripts (``to_dict``)."""

    out: Path
    label: str
    format: str
    runs_read: int = 0
    runs_written: int = 0
    already_imported: int = 0
    runs_completed: int = 0
    """Runs of an earlier import that this one carried further (a trace cut across two exports)."""
    cases_drafted: list[str] = field(default_factory=list)
    cases_matched: int = 0
    tools_file: str = "kept"
    """``inferred``, ``copied``, or ``kept`` (the folder already had one)."""
    tools_missing: list[str] = field(default_factory=list)
    """Tools called in the runs that the kept catalog lacks."""
    escalation_tools: list[str] = field(default_factory=list)
    redaction: dict[str, dict[str, int]] | None = None
    """Per kind: replacements and distinct values; ``None`` with ``--no-redact``."""
    prompt_file: str | None = None
    problems: list[Problem] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    grouping: str = ""
    """How segments (traces, logged calls) were grouped into runs, e.g. ``grouped auto (10 by message chaining)``."""
    segments_read: int = 0
    """Traces or logged calls read, before grouping into conversations."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "out": str(self.out), "label": self.label, "format": self.format, "runs_read": self.runs_read,
            "runs_written": self.runs_written, "already_imported": self.already_imported,
            "runs_completed": self.runs_completed,
            "cases_drafted": self.cases_drafted, "cases_matched": self.cases_matched, "tools_file": self.tools_file,
            "tools_missing": self.tools_missing, "escalation_tools": self.escalation_tools,
            "redacted": self.redaction is not None, "redaction": self.redaction, "prompt_file": self.prompt_file,
            "skipped": self.skipped, "problems": [str(p) for p in self.problems], "grouping": self.grouping,
            "segments_read": self.segments_read,
        }


def _read_jsonl(path: Path) -> list[tuple[int, dict[str, Any]]]:
    if not path.exists():
        return []
    out: list[tuple[int, dict[str, Any]]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"not valid JSON ({exc.msg}); fix or remove the line before importing", path,
                             number) from exc
        if not isinstance(value, dict):
            raise InputError("expected a JSON object", path, number)
        out.append((number, value))
    return out


def _existing_cases(path: Path) -> list[Case]:
    cases: list[Case] = []
    problems: list[Problem] = []
    for number, value in _read_jsonl(path):
        try:
            cases.append(Case.model_validate(value))
        except ValidationError as exc:
            problems.extend(Problem(e["msg"], path, number, ".".join(str(p) for p in e["loc"])) for e in exc.errors())
    if problems:
        raise ValidationFailed(problems)
    return cases


def _redact_run(run: ImportedRun, redactor: Redactor) -> None:
    run.messages = redactor.value(run.messages)
    run.tags = redactor.value(run.tags)
    run.tool_definitions = redactor.value(run.tool_definitions)
    if run.case_id is not None:
        run.case_id = redactor.text(run.case_id)


def _earlier_record(run: ImportedRun, existing: list[tuple[int, dict[str, Any]]],
                    label: str) -> tuple[int, dict[str, Any]] | None:
    """The run of an earlier import that this one is (same run id) or carries further (same label, its
    transcript continued), with its line in runs.jsonl."""
    for number, record in existing:
        if str(record.get("run_id")) == run.run_id:
            return number, record
    for number, record in existing:
        if record.get("label") == label and isinstance(record.get("messages"), list) \
                and continues(record["messages"], run.messages):
            return number, record
    return None


def _turn_usage(messages: list[dict[str, Any]]) -> dict[str, int] | None:
    turns = [m["usage"] for m in messages if m.get("role") == "assistant" and isinstance(m.get("usage"), dict)]
    if not turns:
        return None
    return {k: sum(int(u.get(k) or 0) for u in turns) for k in ("prompt_tokens", "completion_tokens")}


def _rewrite_lines(path: Path, replaced: dict[int, dict[str, Any]]) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, record in replaced.items():
        lines[number - 1] = json.dumps(record, ensure_ascii=False)
    _write_atomic(path, "".join(line + "\n" for line in lines))


def _redraft(cases_path: Path, completed: dict[int, dict[str, Any]], effects: dict[str, str]) -> None:
    """Drafts still pending review that were made from a run now completed are drafted again from all of it."""
    by_run = {str(r["run_id"]): r for r in completed.values()}
    redrafted: dict[int, dict[str, Any]] = {}
    for number, value in _read_jsonl(cases_path):
        record = by_run.get(str((value.get("metadata") or {}).get("run_id")))
        if record is None or value.get("review") != "pending":
            continue
        meta = {k: v for k, v in value["metadata"].items() if k not in ("recorded_status", "escalation_tools")}
        case = draft_case(str(value["id"]), record["messages"], effects, list(value.get("tags") or []), meta)
        data = case.model_dump(mode="json", exclude_defaults=True)
        data["expected"] = {"status": case.expected.status, **data.get("expected", {})}
        redrafted[number] = data
    if redrafted:
        _rewrite_lines(cases_path, redrafted)


def _mark_repr_errors(run: ImportedRun) -> None:
    """A tool answer recorded as a Python repr (``str(dict)``: the Agents SDK) that holds an ``error`` key is an
    error, as its JSON form would be: flagged so replay and drafts never take it for a write that took effect."""
    for m in run.messages:
        if m.get("role") == "tool" and not is_error_output(m):
            value = python_literal(m.get("content"))
            if isinstance(value, dict) and "error" in value:
                m["error"] = True


def _most_common_system_prompt(runs: list[ImportedRun]) -> str | None:
    prompts = Counter(str(m["content"]) for r in runs for m in r.messages[:1]
                      if m.get("role") == "system" and isinstance(m.get("content"), str) and m["content"].strip())
    return prompts.most_common(1)[0][0] if prompts else None


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def import_traces(
    fmt: str,
    sources: list[Path],
    out: Path,
    label: str,
    tools: Path | None = None,
    read_tools: list[str] | None = None,
    redact: bool = True,
    redact_patterns: list[str] | None = None,
    group_by: str = "auto",
) -> ImportReport:
    """Import recordings from ``sources`` (files or folders) in format ``fmt`` into the dataset folder ``out``."""
    reader = get_importer(fmt)
    if group_by not in GROUPINGS:
        raise InputError(f"--group-by: unknown grouping '{group_by}'; expected one of {', '.join(GROUPINGS)}")
    read_patterns = list(read_tools or [])
    paths = expand_sources(sources)
    missing = [p for p in paths if not p.exists()]
    if missing:
        raise InputError(f"source not found: {missing[0]}")
    if not paths:
        raise InputError("no source files (.json, .jsonl, .ndjson) found in " + ", ".join(map(str, sources)))
    if tools is not None and not tools.exists():
        raise InputError(f"--tools: file not found: {tools}")
    cases_path, runs_path, tools_path = out / "cases.jsonl", out / "runs.jsonl", out / "tools.yaml"
    existing_cases = _existing_cases(cases_path)
    existing_runs = _read_jsonl(runs_path)
    existing_ids = {str(v.get("run_id")) for _, v in existing_runs}
    catalog = load_catalog(tools_path) if tools_path.exists() else (load_catalog(tools) if tools else None)
    empty_catalog = tools_path.exists() and catalog is not None and not catalog.tools and tools is None
    if empty_catalog:
        catalog = None  # an empty tools.yaml (left by an earlier import that found nothing) is inferred anew
    if tools is not None and tools_path.exists() and tools.resolve() != tools_path.resolve():
        if load_catalog(tools) != load_catalog(tools_path):
            raise InputError(f"--tools {tools}: {tools_path} already exists and differs; edit it or remove it first")

    report = ImportReport(out=out, label=label, format=fmt)
    log = ProblemLog()
    redactor: Redactor | None = None
    runs: list[ImportedRun] = []
    segments = list(reader(paths, log))
    report.segments_read = len(segments)
    grouped, grouping = group_runs(segments, group_by, log)
    report.grouping = grouping.describe()
    for run in grouped:
        report.runs_read += 1
        if any(r.run_id == run.run_id for r in runs):
            report.already_imported += 1
            continue
        if run.run_id in existing_ids and not any(m.get("role") in ("user", "assistant") for m in run.messages):
            report.already_imported += 1  # the rest of a run imported before, with nothing to add to it
            continue
        checked = check_transcript(run, log)
        if checked is None:
            continue
        _mark_repr_errors(checked)
        runs.append(checked)
    if runs and redact:  # the dataset's key is made only when something is written
        redactor = redactor_for(out, redact_patterns)
        for run in runs:
            _redact_run(run, redactor)

    calls_by_tool: dict[str, list[dict[str, Any]]] = {}
    definitions: dict[str, dict[str, Any]] = {}
    for run in runs:
        for d in run.tool_definitions:
            definitions.setdefault(d["name"], d)
        for c in recorded_calls_in(run.messages):
            if c.arguments is not None:
                calls_by_tool.setdefault(c.name, []).append(c.arguments)
            else:
                calls_by_tool.setdefault(c.name, [])
                log.warn(run.path, f"{run.ref or run.run_id}: {c.name} call has invalid arguments ({c.parse_error}); kept "
                         "as recorded", run.line)
    if catalog is None:
        catalog = infer_catalog(calls_by_tool, definitions, read_patterns)
        report.tools_file = "inferred"
    elif not tools_path.exists():
        report.tools_file = "copied"
    effects: dict[str, str] = {t.name: t.effect for t in catalog.tools}
    for name in calls_by_tool:
        effects.setdefault(name, tool_effect(name, read_patterns))
    report.tools_missing = sorted(n for n in calls_by_tool if catalog.get(n) is None)
    report.escalation_tools = sorted(n for n in calls_by_tool if is_escalation(n))

    by_input = {canonical(c.input if isinstance(c.input, str) else c.input_messages()): c.id for c in existing_cases}
    known = {c.id for c in existing_cases}
    drafts: dict[str, Case] = {}
    run_lines: list[str] = []
    completed: dict[int, dict[str, Any]] = {}
    for run in runs:
        earlier = _earlier_record(run, existing_runs, label)
        if earlier is not None:
            number, record = earlier
            merged = join_messages(record["messages"], run.messages)
            if len(merged) > len(record["messages"]):
                record = {**record, "messages": merged, "usage": _turn_usage(merged) or record.get("usage")}
                RecordedRun.model_validate(record)
                completed[number] = record
                report.runs_completed += 1
            else:
                report.already_imported += 1
            continue
        value = case_input(run.messages)
        key = canonical(value if isinstance(value, str) else [{"role": "user", "content": m["content"]}
                                                               for m in value])
        case_id = run.case_id or by_input.get(key) or case_id_for(value)
        if case_id in known:
            report.cases_matched += 1
        elif case_id in drafts:
            draft = drafts[case_id]
            draft.metadata["recordings"] = draft.metadata.get("recordings", 1) + 1
            actions = canonical([a.model_dump() for a in expected_actions(
                recorded_calls_in(run.messages), effects, set(report.escalation_tools))])
            if actions != canonical([a.model_dump() for a in draft.expected.actions]):
                draft.metadata["recordings_disagree"] = True
        else:
            drafts[case_id] = draft_case(case_id, run.messages, effects, run.tags,
                                         {"source": run.where, "run_id": run.run_id})
        record = {"run_id": run.run_id, "case_id": case_id, "label": label, "agent_id": run.agent_id,
                  "model": run.model, "messages": run.messages, "usage": run.usage, "cost_usd": run.cost_usd,
                  "latency_s": run.latency_s, "started_at": run.started_at, "source": run.where}
        record = {k: v for k, v in record.items() if v is not None}
        RecordedRun.model_validate(record)
        run_lines.append(json.dumps(record, ensure_ascii=False))

    if completed:
        _rewrite_lines(runs_path, completed)
        _redraft(cases_path, completed, effects)
    if run_lines:
        out.mkdir(parents=True, exist_ok=True)
        with runs_path.open("a", encoding="utf-8") as fh:
            fh.write("".join(line + "\n" for line in run_lines))
    if drafts:
        with cases_path.open("a", encoding="utf-8") as fh:
            for case in drafts.values():
                data = case.model_dump(mode="json", exclude_defaults=True)
                # Spelled out so a reviewer sees what the draft claims, defaults included.
                data["expected"] = {"status": case.expected.status, **data.get("expected", {})}
                fh.write(json.dumps(data, ensure_ascii=False) + "\n")
    if not run_lines and not completed:
        report.tools_file = "none" if not tools_path.exists() or empty_catalog else "kept"
    elif not tools_path.exists() or empty_catalog:
        if report.tools_file == "copied" and tools is not None:
            shutil.copyfile(tools, tools_path)
        else:
            _write_atomic(tools_path, dump_catalog(catalog, (
                f"Inferred by 'agentctl dataset import --from {fmt}' from {len(runs)} recorded runs.\n"
                "Review each tool's effect (read | write) and parameters before trusting a suite on it.")))
    prompt = _most_common_system_prompt(runs)
    prompt_path = out / "prompts" / f"{label}.md"
    if prompt and run_lines and not prompt_path.exists():
        prompt_path.parent.mkdir(parents=True, exist_ok=True)
        prompt_path.write_text(prompt + "\n", encoding="utf-8")
        report.prompt_file = str(prompt_path)
    report.runs_written = len(run_lines)
    report.cases_drafted = list(drafts)
    report.redaction = redactor.report() if redactor is not None else ({} if redact else None)
    report.problems = log.problems
    report.skipped = log.skipped
    return report
