"""Spans from trace exports, whatever the JSON shape, and the run units they form.

Shapes read (auto-detected per document):

- OTLP JSON (``ExportTraceServiceRequest``: ``resourceSpans[].scopeSpans[].spans[]``, typed
  attribute values, hex or base64 ids, nanosecond timestamps): the collector's ``file``
  exporter (one request per line) and OTLP/HTTP JSON bodies (one per file). The older
  ``instrumentationLibrarySpans`` key is accepted.
- Flat spans with a ``context`` object (``trace_id``, ``span_id``), ``parent_id``, ISO
  timestamps and plain attribute maps: the OpenTelemetry Python SDK's console/``to_json``
  form and Arize Phoenix's span export (``span_kind``, nested attribute objects, a ``data``
  list from its REST API), one per line or as a JSON list.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentctl.datasets.importers.base import Document, ProblemLog, ns_from_any, read_documents


@dataclass
class SpanEvent:
    name: str
    time_ns: int | None
    attributes: dict[str, Any]


@dataclass
class Span:
    """One span, in a shape independent of the export format."""

    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    start_ns: int | None
    end_ns: int | None
    attributes: dict[str, Any]
    events: list[SpanEvent] = field(default_factory=list)
    error: bool = False
    status_message: str | None = None
    path: Path = Path(".")
    line: int | None = None
    kind_hint: str | None = None
    """Phoenix's top-level ``span_kind``, when the attributes lack ``openinference.span.kind``."""

    @property
    def duration_s(self) -> float | None:
        if self.start_ns is None or self.end_ns is None:
            return None
        return max(0.0, (self.end_ns - self.start_ns) / 1e9)

    @property
    def where(self) -> str:
        return f"span {self.span_id}"


def _hex_id(value: Any) -> str:
    if value is None:
        return ""
    text = str(value)
    if text.startswith("0x"):
        return text[2:]
    if text and all(c in "0123456789abcdefABCDEF" for c in text):
        return text.lower()
    try:  # protobuf-JSON exporters write ids as base64
        return base64.b64decode(text, validate=True).hex()
    except (binascii.Error, ValueError):
        return text


def _any_value(value: Any) -> Any:
    """An OTLP ``AnyValue`` as a plain value."""
    if not isinstance(value, dict):
        return value
    for key in ("stringValue", "boolValue", "doubleValue"):
        if key in value:
            return value[key]
    if "intValue" in value:
        return int(value["intValue"])
    if "arrayValue" in value:
        return [_any_value(v) for v in (value["arrayValue"] or {}).get("values", [])]
    if "kvlistValue" in value:
        return {kv.get("key"): _any_value(kv.get("value")) for kv in (value["kvlistValue"] or {}).get("values", [])}
    if "bytesValue" in value:
        return value["bytesValue"]
    return None


def _otlp_attributes(items: Any) -> dict[str, Any]:
    if isinstance(items, dict):
        return flatten(items)
    return {str(kv.get("key")): _any_value(kv.get("value")) for kv in items or [] if isinstance(kv, dict)}


STRUCTURED_ATTRIBUTES = frozenset({
    "gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions", "gen_ai.tool.definitions",
    "gen_ai.tool.call.arguments", "gen_ai.tool.call.result", "gen_ai.event.content", "metadata",
})
"""Attributes whose value is one structured object (kept whole, never flattened)."""


def flatten(attributes: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested attribute objects (Phoenix) as dotted keys; lists of objects become ``key.N.sub``."""
    out: dict[str, Any] = {}
    for key, value in attributes.items():
        full = f"{prefix}{key}"
        if full in STRUCTURED_ATTRIBUTES:
            out[full] = value
        elif isinstance(value, dict):
            out.update(flatten(value, full + "."))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for i, item in enumerate(value):
                out.update(flatten(item, f"{full}.{i}."))
        else:
            out[full] = value
    return out


def _otlp_spans(doc: Document, log: ProblemLog) -> Iterator[Span]:
    for rs in doc.value.get("resourceSpans") or []:
        for ss in (rs.get("scopeSpans") or rs.get("instrumentationLibrarySpans") or []):
            for raw in ss.get("spans") or []:
                status = raw.get("status") or {}
                code = status.get("code")
                yield Span(
                    trace_id=_hex_id(raw.get("traceId")),
                    span_id=_hex_id(raw.get("spanId")),
                    parent_id=_hex_id(raw.get("parentSpanId")) or None,
                    name=str(raw.get("name") or ""),
                    start_ns=ns_from_any(raw.get("startTimeUnixNano")),
                    end_ns=ns_from_any(raw.get("endTimeUnixNano")),
                    attributes=_otlp_attributes(raw.get("attributes")),
                    events=[SpanEvent(str(e.get("name") or ""), ns_from_any(e.get("timeUnixNano")),
                                      _otlp_attributes(e.get("attributes"))) for e in raw.get("events") or []],
                    error=code in (2, "STATUS_CODE_ERROR", "ERROR"),
                    status_message=status.get("message") or None,
                    path=doc.path, line=doc.line,
                )


def _flat_span(raw: dict[str, Any], doc: Document) -> Span:
    ctx = raw.get("context") or {}
    status = raw.get("status") or {}
    code = raw.get("status_code") or (status.get("status_code") if isinstance(status, dict) else None)
    return Span(
        trace_id=_hex_id(ctx.get("trace_id") or raw.get("trace_id")),
        span_id=_hex_id(ctx.get("span_id") or raw.get("span_id")),
        parent_id=_hex_id(raw.get("parent_id") or raw.get("parent_span_id")) or None,
        name=str(raw.get("name") or ""),
        start_ns=ns_from_any(raw.get("start_time")),
        end_ns=ns_from_any(raw.get("end_time")),
        attributes=flatten(raw.get("attributes") or {}),
        events=[SpanEvent(str(e.get("name") or ""), ns_from_any(e.get("timestamp")), flatten(e.get("attributes") or {}))
                for e in raw.get("events") or [] if isinstance(e, dict)],
        error=str(code).upper() in ("ERROR", "STATUSCODE.ERROR", "2"),
        status_message=(raw.get("status_message") or (status.get("description") if isinstance(status, dict) else None))
        or None,
        path=doc.path, line=doc.line,
        kind_hint=str(raw["span_kind"]) if raw.get("span_kind") else None,
    )


def _otlp_log_events(doc: Document) -> Iterator[tuple[str, str, SpanEvent]]:
    """OTLP log records (``ExportLogsServiceRequest``) as events of the span they name.

    GenAI instrumentations write message content as log records (openai-v2's ``event_only``
    and legacy modes); the event name is ``eventName`` (or the ``event.name`` attribute) and a
    structured body is merged into the attributes, as span events carry it.
    """
    for rl in doc.value.get("resourceLogs") or []:
        for sl in rl.get("scopeLogs") or rl.get("instrumentationLibraryLogs") or []:
            for raw in sl.get("logRecords") or []:
                attributes = _otlp_attributes(raw.get("attributes"))
                body = _any_value(raw.get("body"))
                if isinstance(body, dict):
                    attributes.update(body)
                elif body not in (None, ""):
                    attributes.setdefault("body", body)
                name = str(raw.get("eventName") or attributes.pop("event.name", "") or "")
                yield (_hex_id(raw.get("traceId")), _hex_id(raw.get("spanId")),
                       SpanEvent(name, ns_from_any(raw.get("timeUnixNano") or raw.get("observedTimeUnixNano")),
                                 attributes))


def spans_of(doc: Document, log: ProblemLog) -> Iterator[Span]:
    """The spans in one document, whichever shape it has; anything else is reported."""
    value = doc.value
    if isinstance(value, dict) and ("resourceSpans" in value):
        yield from _otlp_spans(doc, log)
    elif isinstance(value, dict) and "resourceLogs" in value:
        return  # read by read_spans, joined to the spans
    elif isinstance(value, dict) and isinstance(value.get("data"), list):
        yield from spans_of(Document(value["data"], doc.path, doc.line), log)
    elif isinstance(value, list):
        for item in value:
            yield from spans_of(Document(item, doc.path, doc.line), log)
    elif isinstance(value, dict) and ("context" in value or "span_id" in value):
        yield _flat_span(value, doc)
    else:
        log.skip("not a span", doc.path, "not an OTLP export or a span (expected 'resourceSpans', or a span "
                 "with 'context'); skipped", doc.line)


def read_spans(paths: list[Path], log: ProblemLog) -> list[Span]:
    """Every span in the files, duplicates (same trace and span id) reported and dropped."""
    seen: set[tuple[str, str]] = set()
    repeats: dict[tuple[Path, int | None, str], list[str]] = {}
    out: list[Span] = []
    log_events: list[tuple[str, str, SpanEvent, Document]] = []
    for path in paths:
        for doc in read_documents(path, log):
            if isinstance(doc.value, dict) and "resourceLogs" in doc.value:
                log_events.extend((t, s, e, doc) for t, s, e in _otlp_log_events(doc))
                continue
            for span in spans_of(doc, log):
                if not span.trace_id or not span.span_id:
                    log.skip("span without ids", span.path, f"span {span.name!r} has no trace or span id; skipped",
                             span.line)
                    continue
                if (span.trace_id, span.span_id) in seen:
                    repeats.setdefault((span.path, span.line, span.trace_id), []).append(span.span_id)
                    continue
                seen.add((span.trace_id, span.span_id))
                out.append(span)
    for (path, line, trace_id), ids in repeats.items():
        log.warn(path, f"{len(ids)} span(s) of trace {trace_id} were already read ({', '.join(ids[:3])}"
                 f"{', ...' if len(ids) > 3 else ''}); the later copies are ignored", line)
    _join_log_events(out, log_events, log)
    return out


def _join_log_events(spans: list[Span], events: list[tuple[str, str, SpanEvent, Document]],
                     log: ProblemLog) -> None:
    by_id = {(s.trace_id, s.span_id): s for s in spans}
    orphans: dict[Path, tuple[int | None, int]] = {}
    for trace_id, span_id, event, doc in events:
        span = by_id.get((trace_id, span_id))
        if span is None:
            line, n = orphans.get(doc.path, (doc.line, 0))
            orphans[doc.path] = (line, n + 1)
            continue
        if not any(e.name == event.name and e.attributes == event.attributes for e in span.events):
            span.events.append(event)
    for path, (line, n) in orphans.items():
        log.warn(path, f"{n} log record(s) name a span that is not in the trace files; pass the traces export "
                 "beside the logs export (they are joined by trace and span id)", line)


@dataclass
class RunUnit:
    """The spans that make one recorded run: a whole trace, or one top-level agent span's subtree."""

    trace_id: str
    root: Span | None
    spans: list[Span]
    split: bool = False
    """The trace held several top-level agent spans; this unit is one of them."""

    @property
    def run_key(self) -> str:
        if self.split and self.root is not None:
            return f"{self.trace_id}-{self.root.span_id}"
        return self.trace_id


def run_units(spans: list[Span], is_agent: Callable[[Span], bool], log: ProblemLog) -> list[RunUnit]:
    """Group spans by trace; a trace with several top-level agent spans gives one unit per agent span.

    A span whose parent is not in the export is reported and kept at the top of its trace.
    """
    traces: dict[str, list[Span]] = {}
    for span in spans:
        traces.setdefault(span.trace_id, []).append(span)
    units: list[RunUnit] = []
    for trace_id, members in traces.items():
        members.sort(key=lambda s: (s.start_ns or 0))
        by_id = {s.span_id: s for s in members}
        for s in members:
            if s.parent_id and s.parent_id not in by_id:
                log.warn(s.path, f"span {s.span_id} (trace {trace_id}): parent span {s.parent_id} is not in the "
                         "export; the span is kept at the top of its trace", s.line)

        def ancestors(s: Span, by_id: dict[str, Span] = by_id) -> Iterator[Span]:
            seen: set[str] = set()
            while s.parent_id and s.parent_id in by_id and s.parent_id not in seen:
                seen.add(s.parent_id)
                s = by_id[s.parent_id]
                yield s

        agents = [s for s in members if is_agent(s) and not any(is_agent(a) for a in ancestors(s))]
        # Several agent spans under one root (LangGraph's ``agent`` node, once per step) are one run;
        # a trace whose roots are several agent spans holds several runs.
        if len(agents) > 1 and all(not s.parent_id or s.parent_id not in by_id for s in agents):
            for agent in agents:
                subtree = [s for s in members if s is agent or any(a is agent for a in ancestors(s))]
                units.append(RunUnit(trace_id, agent, subtree, split=True))
            continue
        roots = [s for s in members if not s.parent_id or s.parent_id not in by_id]
        root = agents[0] if agents else (roots[0] if len(roots) == 1 else None)
        units.append(RunUnit(trace_id, root, members))
    return units


def innermost(unit: RunUnit, is_call: Callable[[Span], bool]) -> list[Span]:
    """The model-call spans of a unit, one per call: a call recorded at two levels (an agent framework's
    generation span around the client instrumentation's span) keeps the inner, wire-level span."""
    calls = [s for s in unit.spans if is_call(s)]
    by_id = {s.span_id: s for s in unit.spans}
    outer: set[str] = set()
    for s in calls:
        seen: set[str] = set()
        parent = s.parent_id
        while parent and parent in by_id and parent not in seen:
            seen.add(parent)
            if is_call(by_id[parent]):
                outer.add(parent)
            parent = by_id[parent].parent_id
    return [s for s in calls if s.span_id not in outer]


def unit_timing(unit: RunUnit) -> tuple[int | None, float | None]:
    """Start (ns) and wall time (s) of a run unit: the root span's, else the spans' envelope."""
    if unit.root is not None and unit.root.duration_s is not None:
        return unit.root.start_ns, unit.root.duration_s
    starts = [s.start_ns for s in unit.spans if s.start_ns is not None]
    ends = [s.end_ns for s in unit.spans if s.end_ns is not None]
    if not starts or not ends:
        return (min(starts) if starts else None), None
    return min(starts), max(0.0, (max(ends) - min(starts)) / 1e9)
