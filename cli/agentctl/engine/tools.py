"""Answering tool calls: from the run's environment, fixtures and recordings; checking arguments.

With an environment (a stateful dataset) every call is executed against the run's own copy
of the world; a tool the environment declines (``NotImplementedError``) and every call of a
dataset without one get the output a case's fixture or a recorded run of that case gave for
the same tool and normalised arguments.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentctl.datasets.models import Case, Dataset, RecordedRun, ToolCatalog
from agentctl.engine.trajectory import AnsweredBy
from agentctl.normalize import canonical, parse_arguments

if TYPE_CHECKING:
    from agentctl.environments.runtime import EnvironmentRun


@dataclass(frozen=True)
class RecordedCall:
    """A tool call of a recorded run, paired with the tool message that answered it."""

    turn: int
    """Index (in ``messages``) of the assistant message that made the call."""
    position: int
    """Position of the call in that assistant message's ``tool_calls``."""
    call_id: str
    name: str
    raw_arguments: str
    arguments: dict[str, Any] | None
    parse_error: str | None
    answer: dict[str, Any] | None
    """The recorded tool message, or ``None`` when the recording has no answer to the call."""

    @property
    def output(self) -> str | None:
        return message_text(self.answer) if self.answer is not None else None

    @property
    def error(self) -> bool:
        return self.answer is not None and is_error_output(self.answer)


def message_text(message: dict[str, Any] | None) -> str:
    """The text of a chat message's content (JSON for structured content)."""
    if message is None:
        return ""
    content = message.get("content")
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(isinstance(p, dict) and "text" in p for p in content):
        return "".join(str(p["text"]) for p in content)
    return json.dumps(content, ensure_ascii=False)


def output_text(value: Any) -> str:
    """A fixture's output as the text a model sees: strings as they are, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def is_error_output(message_or_text: dict[str, Any] | str | None) -> bool:
    """Whether a tool answer is an error (the call changed nothing).

    True when the tool message has ``"error": true``, its content is a JSON object with a
    (non-null, non-false) ``error`` key, or its text starts with ``Error``.
    """
    if message_or_text is None:
        return False
    if isinstance(message_or_text, dict):
        if message_or_text.get("error") is True:
            return True
        content = message_or_text.get("content")
        if isinstance(content, dict):
            return _has_error_key(content)
        text = message_text(message_or_text)
    else:
        text = message_or_text
    stripped = text.lstrip()
    if stripped[:5].lower() == "error":
        return True
    if stripped.startswith("{"):
        try:
            value = json.loads(stripped)
        except json.JSONDecodeError:
            return False
        return isinstance(value, dict) and _has_error_key(value)
    return False


def _has_error_key(obj: dict[str, Any]) -> bool:
    # {"error": null} and {"error": false} are how many APIs say "no error".
    return "error" in obj and obj["error"] not in (None, False, "")


def recorded_calls(run: RecordedRun) -> list[RecordedCall]:
    """Every tool call of a recording, in order, each paired with its answer (see :func:`recorded_calls_in`)."""
    return recorded_calls_in(run.messages)


def recorded_calls_in(messages: list[dict[str, Any]]) -> list[RecordedCall]:
    """Every tool call of a chat transcript, in order, each paired with its answer.

    Ids may repeat in real recordings: a tool message is paired by id only when that id is
    unique in its assistant turn, otherwise with the first unanswered call having that id (or,
    failing that, the first unanswered call), i.e. by position. Never by id across the run.
    """
    out: list[RecordedCall] = []
    i = 0
    while i < len(messages):
        msg = messages[i]
        calls = (msg.get("tool_calls") or []) if msg.get("role") == "assistant" else []
        if not calls:
            i += 1
            continue
        parsed = [_call_parts(c) for c in calls]
        answers: list[dict[str, Any] | None] = [None] * len(calls)
        pending = list(range(len(calls)))
        j = i + 1
        while j < len(messages) and messages[j].get("role") == "tool":
            if pending:
                k = _pair(messages[j].get("tool_call_id"), [parsed[p][0] for p in pending])
                answers[pending.pop(k)] = messages[j]
            j += 1
        for pos, (call_id, name, raw) in enumerate(parsed):
            args, err = parse_arguments(raw)
            out.append(RecordedCall(i, pos, call_id, name, raw, args, err, answers[pos]))
        i = j
    return out


def _call_parts(call: dict[str, Any]) -> tuple[str, str, str]:
    fn = call.get("function") or {}
    raw = fn.get("arguments")
    raw_text = raw if isinstance(raw, str) else json.dumps(raw if raw is not None else {})
    return str(call.get("id") or ""), str(fn.get("name") or call.get("name") or ""), raw_text


def _pair(tool_call_id: Any, pending_ids: list[str]) -> int:
    """Index into the pending calls of the one a tool message answers."""
    if tool_call_id is not None:
        tid = str(tool_call_id)
        if tid in pending_ids:
            # unique in the turn: that call; repeated: the first unanswered one with it
            return pending_ids.index(tid)
    return 0


class RecordingIndex:
    """Recorded answers of a dataset by case, tool and canonical arguments; built once."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset
        # case -> (tool, canonical args) -> answers of the first recording (file order) with that call
        self._answers: dict[str, dict[tuple[str, str], list[dict[str, Any]]]] = defaultdict(dict)
        self._calls: dict[int, list[RecordedCall]] = {}  # by id(run): the index keeps the runs alive
        self._runs: dict[tuple[str, str], list[RecordedRun]] = defaultdict(list)
        for run in dataset.runs:
            self._runs[(run.case_id, run.label)].append(run)
            calls = recorded_calls(run)
            self._calls[id(run)] = calls
            per_run: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
            for call in calls:
                if call.arguments is None or call.answer is None:
                    continue
                per_run[(call.name, canonical(call.arguments))].append(call.answer)
            case_answers = self._answers[run.case_id]
            for key, answers in per_run.items():
                case_answers.setdefault(key, answers)

    def runs(self, case_id: str, label: str) -> list[RecordedRun]:
        """Recordings of a case with a label, in file order."""
        return self._runs.get((case_id, label), [])

    def calls(self, run: RecordedRun) -> list[RecordedCall]:
        if id(run) not in self._calls:  # a run not in the indexed dataset
            return recorded_calls(run)
        return self._calls[id(run)]

    def answers(self, case_id: str) -> dict[tuple[str, str], list[dict[str, Any]]]:
        return self._answers.get(case_id, {})


_INDEXES: list[RecordingIndex] = []


def recording_index(dataset: Dataset) -> RecordingIndex:
    """The index of ``dataset``, built on first use (a few recent datasets are kept)."""
    for index in _INDEXES:
        if index.dataset is dataset:
            return index
    index = RecordingIndex(dataset)
    _INDEXES.insert(0, index)
    del _INDEXES[4:]
    return index


@dataclass(frozen=True)
class ToolAnswer:
    """What a tool call is answered with."""

    output: str
    error: bool
    source: AnsweredBy
    """``environment``, ``fixture`` or ``recording``."""
    traceback: str | None = None
    """The environment raised (``output`` is ``Error: <message>``)."""


class ToolAnswerer:
    """Answers one run's tool calls; holds how often each call was made (repeats advance)."""

    def __init__(
        self,
        case: Case,
        answers: dict[tuple[str, str], list[dict[str, Any]]],
        catalog: ToolCatalog,
        environment: EnvironmentRun | None = None,
    ) -> None:
        self.case = case
        self.catalog = catalog
        self.environment = environment
        self._answers = answers
        self._seen: dict[tuple[str, str], int] = defaultdict(int)

    @classmethod
    def for_case(cls, case: Case, dataset: Dataset, catalog: ToolCatalog | None = None) -> ToolAnswerer:
        """A fresh answerer for one run of ``case`` (uses the dataset's cached index)."""
        return cls(case, recording_index(dataset).answers(case.id), catalog or dataset.tools)

    def answer(self, tool: str, args: dict[str, Any] | None) -> ToolAnswer | None:
        """The answer to a call, or ``None`` when neither the environment, fixtures nor recordings have one."""
        if args is None:
            return None
        if self.environment is not None:
            executed = self.environment.call(tool, args)
            if executed is not None:
                if executed.raised:
                    return ToolAnswer(f"Error: {executed.output}", True, "environment", executed.traceback)
                text = output_text(executed.output)
                return ToolAnswer(text, is_error_output(text), "environment")
        key = (tool, canonical(args))
        nth = self._seen[key]
        self._seen[key] += 1
        exact = [f for f in self.case.fixtures if f.tool == tool and f.args is not None and canonical(f.args) == key[1]]
        fixtures = exact or [f for f in self.case.fixtures if f.tool == tool and f.args is None]
        if fixtures:
            text = output_text(fixtures[min(nth, len(fixtures) - 1)].output)
            return ToolAnswer(text, is_error_output(text), "fixture")
        recorded = self._answers.get(key)
        if recorded:
            message = recorded[min(nth, len(recorded) - 1)]
            return ToolAnswer(message_text(message), is_error_output(message), "recording")
        return None


class ArgumentSchemas:
    """JSON Schema validators of a catalog's tools, built once per tool."""

    def __init__(self, catalog: ToolCatalog) -> None:
        self.catalog = catalog
        self._validators: dict[str, Any] = {}

    def problem(self, tool: str, args: dict[str, Any]) -> str | None:
        """Why ``args`` violate the tool's schema (``amount_cents: 'x' is not of type 'integer'``), or None."""
        validator = self._validator(tool)
        if validator is None:
            return None
        import jsonschema

        best = jsonschema.exceptions.best_match(validator.iter_errors(args))
        if best is None:
            return None
        where = ".".join(str(p) for p in best.absolute_path)
        return f"{where}: {best.message}" if where else best.message

    def _validator(self, tool: str) -> Any:
        if tool in self._validators:
            return self._validators[tool]
        import jsonschema

        spec = self.catalog.get(tool)
        validator = None
        if spec is not None and spec.parameters:
            try:
                cls = jsonschema.validators.validator_for(spec.parameters)
                cls.check_schema(spec.parameters)
                validator = cls(spec.parameters)
            except jsonschema.exceptions.SchemaError:
                validator = None  # a broken schema is the catalog validator's to report
        self._validators[tool] = validator
        return validator
