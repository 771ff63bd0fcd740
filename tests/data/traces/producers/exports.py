"""OpenTelemetry set-up for a producer run, and the export files in the forms users have them.

- ``otlp.jsonl``: what the collector's ``file`` exporter writes: one ``ExportTraceServiceRequest``
  per line, protobuf JSON with hex ids and integer enums (one request per batch, here per conversation).
- ``to_json.jsonl``: the SDK's ``ReadableSpan.to_json(indent=None)``, one span per line.
- ``console.json``: ``ConsoleSpanExporter`` output: indented span objects back to back.
- ``logs.otlp.jsonl``: OTLP log records (``ExportLogsServiceRequest``), collector file form.
"""

from __future__ import annotations

import base64
import json
import random
from pathlib import Path
from typing import Any


class SeededIds:
    """Deterministic trace and span ids, so regenerated files differ only where the producer changed."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)

    def generate_span_id(self) -> int:
        return self._random.getrandbits(64) or 1

    def generate_trace_id(self) -> int:
        return self._random.getrandbits(128) or 1


class Telemetry:
    def __init__(self, seed: int) -> None:
        from opentelemetry import _logs, trace
        from opentelemetry.sdk._logs import LoggerProvider
        from opentelemetry.sdk._logs.export import InMemoryLogExporter, SimpleLogRecordProcessor
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        from opentelemetry.sdk.trace.id_generator import IdGenerator

        class _Ids(SeededIds, IdGenerator):
            pass

        resource = Resource.create({"service.name": "support-agent"})
        self.spans = InMemorySpanExporter()
        self.tracer_provider = TracerProvider(resource=resource, id_generator=_Ids(seed))
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        trace.set_tracer_provider(self.tracer_provider)
        self.logs = InMemoryLogExporter()
        self.logger_provider = LoggerProvider(resource=resource)
        self.logger_provider.add_log_record_processor(SimpleLogRecordProcessor(self.logs))
        _logs.set_logger_provider(self.logger_provider)
        self._batches: list[tuple[list[Any], list[Any]]] = []

    def cut(self) -> None:
        """End of one conversation: what was exported so far is one batch (one OTLP request per line)."""
        spans, logs = list(self.spans.get_finished_spans()), list(self.logs.get_finished_logs())
        self.spans.clear()
        self.logs.clear()
        if spans or logs:
            self._batches.append((spans, logs))

    def write(self, out: Path, formats: tuple[str, ...]) -> list[str]:
        from google.protobuf.json_format import MessageToDict
        from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
        from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

        self.cut()
        written: list[str] = []

        def dump(name: str, lines: list[str]) -> None:
            if lines:
                (out / name).write_text("".join(lines), encoding="utf-8")
                written.append(name)

        spans = [s for b, _ in self._batches for s in b]
        if "otlp" in formats:
            dump("otlp.jsonl", [_collector_json(MessageToDict(encode_spans(b), use_integers_for_enums=True)) + "\n"
                                for b, _ in self._batches if b])
        if "to_json" in formats:
            dump("to_json.jsonl", [json.dumps(json.loads(s.to_json(indent=None))) + "\n" for s in spans])
        if "console" in formats:
            dump("console.json", [s.to_json() + "\n" for s in spans])
        dump("logs.otlp.jsonl", [_collector_json(MessageToDict(encode_logs(b), use_integers_for_enums=True)) + "\n"
                                 for _, b in self._batches if b])
        return written


_ID_KEYS = ("traceId", "spanId", "parentSpanId")


def _collector_json(value: Any) -> str:
    """Protobuf JSON as the collector writes it: ids in hex, not base64."""

    def fix(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: (base64.b64decode(x).hex() if k in _ID_KEYS and isinstance(x, str) else fix(x))
                    for k, x in v.items()}
        if isinstance(v, list):
            return [fix(x) for x in v]
        return v

    return json.dumps(fix(value), separators=(",", ":"), ensure_ascii=False)
