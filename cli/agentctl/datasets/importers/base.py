"""What every importer produces, and the reading and checking they share.

An importer turns source files into :class:`ImportedRun` objects (a transcript in OpenAI chat
format plus what is known about model, usage and timing) and reports everything it could not
use as a :class:`~agentctl.core.errors.Problem` with the file, the line or span id, and what was
skipped. Nothing is dropped without a problem saying so.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agentctl.core.errors import Problem

SOURCE_SUFFIXES = (".json", ".jsonl", ".ndjson")


@dataclass
class ImportedRun:
    """One recorded run read from a source, before redaction and case assignment."""

    run_id: str
    messages: list[dict[str, Any]]
    where: str
    """Where it came from, for the case's metadata: ``file:line`` or ``file: trace <id>``."""
    path: Path
    ref: str = ""
    """What it is within its file, for problems: ``run <id>``, ``trace <id>``."""
    line: int | None = None
    model: str | None = None
    agent_id: str | None = None
    usage: dict[str, int] | None = None
    cost_usd: float | None = None
    latency_s: float | None = None
    started_at: str | None = None
    case_id: str | None = None
    """When the source names the case (``case_id`` field, ``agentctl.case_id`` attribute)."""
    tags: list[str] = field(default_factory=list)
    tool_definitions: list[dict[str, Any]] = field(default_factory=list)
    """Tool definitions recorded with the run (OpenAI function form), used to infer tools.yaml."""
    conversation_id: str | None = None
    """``gen_ai.conversation.id`` (or a logged ``conversation_id``): the conversation the run belongs to."""
    session_id: str | None = None
    """OpenInference ``session.id``."""
    trace_ids: list[str] = field(default_factory=list)
    """The traces the run was read from (several once a conversation is grouped across traces)."""


@dataclass
class ProblemLog:
    """Problems found while importing; ``skipped`` counts what was left out, by reason."""

    problems: list[Problem] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)

    def warn(self, path: Path, message: str, line: int | None = None, key: str | None = None) -> None:
        self.problems.append(Problem(message, path, line, key, severity="warning"))

    def skip(self, reason: str, path: Path, message: str, line: int | None = None, key: str | None = None) -> None:
        """Something was left out of the import: say what and why, and count it."""
        self.problems.append(Problem(message, path, line, key, severity="error"))
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


Reader = Callable[[list[Path], ProblemLog], Iterator[ImportedRun]]


def expand_sources(sources: list[Path]) -> list[Path]:
    """Files named, and the .json/.jsonl/.ndjson files under folders named, in a stable order."""
    out: list[Path] = []
    for src in sources:
        if src.is_dir():
            out.extend(sorted(p for p in src.rglob("*") if p.is_file() and p.suffix in SOURCE_SUFFIXES))
        else:
            out.append(src)
    return out


def read_text(path: Path, log: ProblemLog) -> str | None:
    """The file's text; bytes that are not UTF-8 are replaced (and reported with their line)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        log.skip("unreadable file", path, f"cannot read: {exc.strerror or exc}")
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    for number, raw in enumerate(data.split(b"\n"), start=1):
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            log.warn(path, f"bytes that are not UTF-8 at column {exc.start + 1} were replaced by U+FFFD", number)
    return data.decode("utf-8", errors="replace").lstrip("\ufeff")


@dataclass
class Document:
    """A JSON value read from a source file, and the line it started on (JSONL) or None."""

    value: Any
    path: Path
    line: int | None


def read_documents(path: Path, log: ProblemLog) -> Iterator[Document]:
    """A JSON file as one document, or a JSONL file as one per line; bad lines are reported and skipped."""
    text = read_text(path, log)
    if text is None:
        return
    if not text.strip():
        log.warn(path, "file is empty")
        return
    if path.suffix not in (".jsonl", ".ndjson"):
        try:
            yield Document(json.loads(text), path, None)
            return
        except json.JSONDecodeError as exc:
            stream = _concatenated(text)
            if stream is not None:  # JSON values back to back (ConsoleSpanExporter output)
                for start, value in stream:
                    yield Document(value, path, start)
                return
            first = text.lstrip().split("\n", 1)[0]
            if not _parses(first) or text.strip().count("\n") == 0:
                log.skip("invalid JSON", path, f"not valid JSON ({exc.msg} at column {exc.colno}); "
                         "the file may be truncated", exc.lineno)
                return
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            yield Document(json.loads(line), path, number)
        except json.JSONDecodeError as exc:
            log.skip("invalid JSON line", path, f"line is not valid JSON ({exc.msg} at column {exc.colno}); "
                     "skipped (truncated?)", number)


def _concatenated(text: str) -> list[tuple[int, Any]] | None:
    """Several JSON values written one after the other (indented, so not one per line), with the line each
    starts on; ``None`` unless the whole text is such a sequence of at least two values."""
    decoder = json.JSONDecoder()
    out: list[tuple[int, Any]] = []
    at = 0
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at >= len(text):
            break
        try:
            value, end = decoder.raw_decode(text, at)
        except json.JSONDecodeError:
            return None
        out.append((text.count("\n", 0, at) + 1, value))
        at = end
    return out if len(out) > 1 else None


def _parses(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def maybe_json(value: Any) -> Any:
    """A JSON string's value, or ``value`` itself when it is not a JSON string."""
    if isinstance(value, str) and value.strip()[:1] in ("{", "[", '"'):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def as_dict(value: Any, default: dict[str, Any] | None = None) -> dict[str, Any]:
    """``value`` when it is an object, else ``default`` (an empty object)."""
    if isinstance(value, dict):
        return value
    return default if default is not None else {}


def as_text(value: Any) -> str:
    """Tool output or argument text as the model saw it: strings as they are, anything else as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def iso_from_ns(ns: int | None) -> str | None:
    if ns is None:
        return None
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).isoformat().replace("+00:00", "Z")


def ns_from_any(value: Any) -> int | None:
    """Nanoseconds since the epoch from OTLP nanos (int or string), or an ISO 8601 timestamp."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str):
        if value.isdigit():
            return int(value)
        try:
            dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return int(dt.timestamp() * 1e9)
    return None


def check_transcript(run: ImportedRun, log: ProblemLog) -> ImportedRun | None:
    """Keep what a replay can use; report the rest. ``None`` when nothing usable is left.

    Tool results are matched to calls as replay matches them: by id, the earliest unanswered
    call first (ids may repeat in real recordings); a result without a matching call is dropped
    with a problem, never silently.
    """
    kept: list[dict[str, Any]] = []
    open_calls: list[tuple[str, str]] = []  # (id, name) of calls not answered yet, in order
    for index, message in enumerate(run.messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ("system", "user", "assistant", "tool", "developer"):
            log.skip("invalid message", run.path, f"{run.ref or run.run_id}: message {index} has no valid role "
                     f"({role!r}); dropped", run.line)
            continue
        if role == "assistant":
            for call in message.get("tool_calls") or []:
                fn = call.get("function") or {}
                if not fn.get("name"):
                    log.warn(run.path, f"{run.ref or run.run_id}: tool call {call.get('id')!r} has no function name", run.line)
                open_calls.append((str(call.get("id") or ""), str(fn.get("name") or "")))
        if role == "tool":
            call_id = str(message.get("tool_call_id") or "")
            match = next((i for i, (cid, _) in enumerate(open_calls) if cid == call_id), None)
            if match is None and not call_id:
                name = message.get("name")
                match = next((i for i, (_, n) in enumerate(open_calls) if name in (None, n)), None)
            if match is None:
                log.skip("tool result without a call", run.path,
                         f"{run.ref or run.run_id}: tool result for call {call_id or '(no id)'} has no matching tool call; "
                         "dropped", run.line)
                continue
            cid, _ = open_calls.pop(match)
            if not call_id and cid:
                message = {**message, "tool_call_id": cid}
        kept.append(message)
    if not any(m.get("role") == "user" for m in kept):
        log.skip("run without a user message", run.path,
                 f"{run.ref or run.run_id}: no user message recorded (is content capture switched off?); run skipped",
                 run.line)
        return None
    if not any(m.get("role") == "assistant" for m in kept):
        log.skip("run without an assistant message", run.path,
                 f"{run.ref or run.run_id}: no assistant turn recorded; run skipped", run.line)
        return None
    run.messages = kept
    return run
