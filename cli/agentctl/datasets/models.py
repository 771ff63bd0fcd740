"""Golden cases, recorded runs and tool catalogs (``datasets/<name>/``), as pydantic models.

Field names follow DESIGN.md. Cases and tool definitions forbid unknown keys (they are
written by people, so a typo is a bug); recorded runs keep extra keys (real recordings
carry metadata agentctl does not use).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

Status = Literal["completed", "escalated", "failed"]


class _Strict(BaseModel):
    # Field docstrings become descriptions: in docs/ and in the JSON Schemas editors use.
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, allow_inf_nan=False)


RECORDED_NUMBERS = ("cost_usd", "latency_s")
"""Keys of a recorded run or message that hold a measured number (never negative, NaN or infinite)."""


def _bad_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value is not None
    return not math.isfinite(value) or value < 0


def check_recorded_numbers(value: Any, where: str) -> None:
    """Raise ValueError naming ``where.key`` when a measured number is negative, NaN, infinite or not a number.

    ``value`` is a usage mapping (every numeric count in it, at any depth) or a message.
    """
    if not isinstance(value, dict):
        return
    for key, item in value.items():
        # the names are built only for a message (read for every recorded message)
        if key == "usage" and item is not None:
            here = f"{where}.{key}" if where else str(key)
            if not isinstance(item, dict):
                raise ValueError(f"{here}: expected a mapping of token counts, got {type(item).__name__}")
            _check_counts(item, here)
        elif key in RECORDED_NUMBERS and _bad_number(item):
            here = f"{where}.{key}" if where else str(key)
            raise ValueError(f"{here}: must be a finite number >= 0, got {item!r}")


def _check_counts(usage: dict[str, Any], where: str) -> None:
    for key, item in usage.items():
        if isinstance(item, dict):
            _check_counts(item, f"{where}.{key}")
        elif isinstance(item, int | float) and not isinstance(item, bool) and _bad_number(item):
            raise ValueError(f"{where}.{key}: must be a finite number >= 0, got {item!r}")


class ExpectedAction(_Strict):
    """A write action the run must have taken."""

    tool: str
    """Name of the tool."""
    args: dict[str, Any] | None = None
    """Arguments, compared strictly (same keys, equal values); values may be matchers
    (``{"$regex": ...}``). ``None`` (left out) accepts any arguments."""


class ForbiddenCall(_Strict):
    """A call that must never be made."""

    tool: str
    """Name of the tool."""
    args: dict[str, Any] | None = None
    """When given, only calls whose arguments include these (values may be matchers) are forbidden."""


class AnswerCheck(_Strict):
    """Checks on what the agent said (case-insensitive; thousands separators ignored)."""

    contains: list[str] = []
    """Texts that must all appear."""
    not_contains: list[str] = []
    """Texts that must not appear."""
    regex: str | None = None
    """A regular expression that must match (searched, not anchored)."""
    scope: Literal["all", "final"] = "all"
    """``all``: every assistant text message; ``final``: the last one only."""


class Expected(_Strict):
    status: Literal["completed", "escalated"] | list[Literal["completed", "escalated"]] = "completed"
    """Acceptable ending(s) of the run."""
    actions: list[ExpectedAction] = []
    """The write actions the run must end up having taken (read calls are never compared)."""
    ordered: bool = False
    """Whether ``actions`` must happen in this order."""
    forbidden: list[ForbiddenCall] = []
    """Calls that must never be made."""
    answer: AnswerCheck | None = None
    """Checks on what the agent said."""
    state: Literal["from_actions"] | dict[str, Any] | None = None
    """Outcome by state (needs an environment): ``from_actions`` (the snapshot ``actions`` produce
    on a fresh environment) or ``{"dotted.path": VALUE_OR_MATCHER}`` checks of the final snapshot.
    Replaces the comparison of writes with ``actions``."""

    @property
    def statuses(self) -> list[str]:
        return list(self.status) if isinstance(self.status, list) else [self.status]


class Fixture(_Strict):
    """A tool output to answer a call with."""

    tool: str
    """Name of the tool."""
    args: dict[str, Any] | None = None
    """Arguments the call must have (normalised equality); ``None`` answers any call of the tool."""
    output: Any = None
    """What the tool answers: a JSON value or text."""


class UserSpec(_Strict):
    """The simulated user of a multi-turn case (played by the suite's ``user_simulator``)."""

    instructions: str
    """Who the user is and what they want; appended to the simulator's system prompt."""


class Case(_Strict):
    """One golden case (a line of cases.jsonl)."""

    # ``input`` may be left out only when ``user`` is given (see ``_input_or_user``): editors see it too.
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True,
                              json_schema_extra={"anyOf": [{"required": ["input"]}, {"required": ["user"]}]})

    id: str
    """Unique id of the case."""
    input: str | list[dict[str, Any]] | None = None
    """One user message, or a list of chat messages. May be left out when ``user`` is given:
    the simulated user then writes the first message."""
    user: UserSpec | None = None
    """A simulated user: the conversation goes on after each final reply of the agent."""
    tags: list[str] = []
    """Labels for per-tag metrics, ``--tag`` and gates with ``tags:``."""
    expected: Expected = Expected()
    """What a correct run does."""
    fixtures: list[Fixture] = []
    """Tool outputs to answer calls with, beside those in the recordings."""
    context: list[str] | None = None
    """Retrieved context for context-based scorers (faithfulness, ...)."""
    context_tools: list[str] | None = None
    """Tools whose outputs count as retrieved context for context-based scorers."""
    review: str | None = None
    """``pending`` for drafts made by ``dataset import`` that nobody has reviewed yet."""
    metadata: dict[str, Any] = {}
    """Free-form data (``reference`` answers for scorers, ...)."""
    initial_state: dict[str, Any] | None = None
    """JSON Merge Patch (RFC 7396) applied to the dataset's state.json for this case's runs."""

    @model_validator(mode="after")
    def _input_or_user(self) -> Case:
        if self.input is None and self.user is None:
            raise ValueError("a case needs 'input' (or 'user', whose simulator then writes the first message)")
        return self

    def input_messages(self) -> list[dict[str, Any]]:
        if self.input is None:
            return []
        if isinstance(self.input, str):
            return [{"role": "user", "content": self.input}]
        return [dict(m) for m in self.input]

    def input_text(self) -> str:
        """The user's words, for scorers that want one string."""
        if self.input is None:
            return ""
        if isinstance(self.input, str):
            return self.input
        return "\n".join(str(m.get("content") or "") for m in self.input if m.get("role") == "user")


class RecordedRun(BaseModel):
    """One recorded agent run (a line of runs.jsonl), in OpenAI chat format."""

    model_config = ConfigDict(extra="allow", use_attribute_docstrings=True, allow_inf_nan=False)

    run_id: str
    """Unique id of the recording."""
    case_id: str
    """The case it is a run of."""
    label: str
    """Which agent recorded it; ``replay:<label>`` candidates replay it."""
    agent_id: str | None = None
    """Name or version of the agent that ran."""
    model: str | None = None
    """Model the agent used."""
    messages: list[dict[str, Any]]
    """The conversation in OpenAI chat format: system, user, assistant (with ``tool_calls``) and tool messages."""
    usage: dict[str, Any] | None = None
    """Token usage of the run: ``prompt_tokens``, ``completion_tokens``."""
    cost_usd: float | None = Field(default=None, ge=0)
    """What the run cost, in USD."""
    latency_s: float | None = Field(default=None, ge=0)
    """Wall time of the run in seconds."""
    started_at: str | None = None
    """When the run started (ISO 8601)."""

    @field_validator("usage")
    @classmethod
    def _usage_counts(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            _check_counts(value, "usage")
        return value

    @field_validator("messages")
    @classmethod
    def _message_numbers(cls, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for i, message in enumerate(value):
            check_recorded_numbers(message, f"messages[{i}]")
        return value

    line: int | None = Field(default=None, exclude=True)
    """Line of runs.jsonl this came from (for messages)."""

    def full(self) -> RecordedRun:
        """The whole recording (itself; a :class:`Recording` parses its line)."""
        return self

    def conversation(self) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """``(messages, usage)``: what a replay needs beyond the ids and numbers."""
        return self.messages, self.usage


class Recording:
    """A recorded run as a dataset keeps it once read and checked: ids, numbers and its line of
    runs.jsonl, parsed again when the run is replayed (parsed, a run takes ~10 times its JSON)."""

    __slots__ = ("run_id", "case_id", "label", "model", "cost_usd", "latency_s", "line", "_text")

    def __init__(self, run: dict[str, Any] | RecordedRun, line: int, text: bytes) -> None:
        get = run.get if isinstance(run, dict) else run.__dict__.get
        self.run_id: str = str(get("run_id"))
        self.case_id: str = sys.intern(str(get("case_id")))
        self.label: str = sys.intern(str(get("label")))
        model = get("model")
        self.model: str | None = sys.intern(model) if model is not None else None
        # the validated numbers (pydantic turns 1 and "1" into 1.0); all else is as in the JSON
        self.cost_usd: float | None = _as_float(get("cost_usd"))
        self.latency_s: float | None = _as_float(get("latency_s"))
        self.line: int | None = line
        self._text = text

    def fields(self) -> tuple[Any, ...]:
        """What :meth:`from_fields` rebuilds it from, with its line's bytes."""
        return self.line, self.run_id, self.case_id, self.label, self.model, self.cost_usd, self.latency_s

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...], text: bytes) -> Recording:
        """The recording of :meth:`fields` (made by another process) and ``text``, its line."""
        self = cls.__new__(cls)
        self.line, self.run_id, case_id, label, model, self.cost_usd, self.latency_s = fields
        self.case_id, self.label = sys.intern(case_id), sys.intern(label)
        self.model = sys.intern(model) if model is not None else None
        self._text = text
        return self

    def full(self) -> RecordedRun:
        """The whole recording, parsed from its line (not kept: each call parses again)."""
        data = json.loads(self._text.decode())
        data.update(cost_usd=self.cost_usd, latency_s=self.latency_s, line=self.line)
        return RecordedRun.model_construct(**data)

    def conversation(self) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """``(messages, usage)``, parsed from the line (each call parses again)."""
        data = json.loads(self._text.decode())  # UTF-8, checked when read (a str skips the encoding sniff)
        return data["messages"], data.get("usage")

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.conversation()[0]

    @property
    def usage(self) -> dict[str, Any] | None:
        return self.conversation()[1]

    @property
    def agent_id(self) -> str | None:
        return self.full().agent_id

    @property
    def started_at(self) -> str | None:
        return self.full().started_at


AnyRecording = RecordedRun | Recording
"""A recording of a dataset: read from runs.jsonl (compact) or built in Python."""


def _as_float(value: Any) -> float | None:
    return float(value) if value is not None else None


def fast_recording(record: dict[str, Any], line: int, text: bytes) -> Recording | None:
    """The compact form of a record of runs.jsonl that :class:`RecordedRun` accepts as it is
    (every value already of its field's type); ``None`` when pydantic must decide (an error or
    a value it converts), so its messages stay the only ones."""
    get = record.get
    if type(get("run_id")) is not str or type(get("case_id")) is not str or type(get("label")) is not str:
        return None
    if "line" in record:
        return None
    for key in ("agent_id", "model", "started_at"):
        value = get(key)
        if value is not None and type(value) is not str:
            return None
    for key in RECORDED_NUMBERS:
        value = get(key)
        if value is not None and (type(value) not in (int, float) or _bad_number(value)):
            return None
    usage = get("usage")
    messages = get("messages")
    if (usage is not None and type(usage) is not dict) or type(messages) is not list:
        return None
    if usage is not None and not _counts_ok(usage):
        return None
    for message in messages:
        if type(message) is not dict:
            return None
        # what check_recorded_numbers checks, looked up rather than scanned for
        counts = message.get("usage")
        if counts is not None and (type(counts) is not dict or not _counts_ok(counts)):
            return None
        for key in RECORDED_NUMBERS:
            value = message.get(key)
            if value is not None and _bad_number(value):
                return None
    return Recording(record, line, text)


def _counts_ok(usage: dict[str, Any]) -> bool:
    """``_check_counts`` would accept ``usage`` (plain non-negative integers are checked at a glance)."""
    for value in usage.values():
        if type(value) is not int or value < 0:
            try:
                _check_counts(usage, "usage")
            except ValueError:
                return False
            return True
    return True


class Tool(_Strict):
    """A tool of the catalog: an OpenAI function definition plus its effect."""

    name: str
    """Name the model calls it by."""
    description: str = ""
    """What the tool does, as the model is told."""
    effect: Literal["read", "write"] = "write"
    """``read`` tools change nothing; ``write`` calls are side effects, compared with ``expected.actions``."""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})
    """JSON Schema of the arguments."""
    cost_usd: float = Field(default=0.0, ge=0)
    """Price of one call (a third-party API fee)."""

    def openai_schema(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }


class ToolCatalog(BaseModel):
    tools: list[Tool] = []
    _by_name: tuple[int, int, dict[str, Tool]] = PrivateAttr(default=(0, -1, {}))

    def get(self, name: str) -> Tool | None:
        """The tool of that name (the first, if tools.yaml repeats one): asked per recorded call,
        so looked up in a dict, rebuilt when ``tools`` is replaced or grows."""
        private = self.__pydantic_private__  # a plain slot: ``self._by_name`` costs ~2 us in pydantic
        list_id, size, by_name = private["_by_name"]  # type: ignore[index]
        if list_id != id(self.tools) or size != len(self.tools):
            by_name = {}
            for t in self.tools:
                by_name.setdefault(t.name, t)
            private["_by_name"] = (id(self.tools), len(self.tools), by_name)  # type: ignore[index]
        return by_name.get(name)

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.tools]

    def openai_tools(self, allow: list[str] | None = None) -> list[dict[str, Any]]:
        return [t.openai_schema() for t in self.tools if allow is None or t.name in allow]


class Dataset(BaseModel):
    """A dataset folder, loaded."""

    path: Path
    cases: list[Case]
    model_config = ConfigDict(arbitrary_types_allowed=True)

    runs: list[RecordedRun | Recording] = []
    tools: ToolCatalog = ToolCatalog()
    _by_case: Any = PrivateAttr(default=None)

    def case(self, case_id: str) -> Case | None:
        return self._index()[0].get(case_id)

    def runs_for(self, case_id: str, label: str | None = None) -> list[AnyRecording]:
        """Recorded runs of a case (with a label, if given), in file order."""
        index = self._index()
        return list(index[1].get(case_id, ()) if label is None else index[2].get((case_id, label), ()))

    def runs_by_case_and_label(self) -> dict[tuple[str, str], list[AnyRecording]]:
        """Recorded runs by (case id, label), in file order (the lists are shared: do not change them)."""
        return self._index()[2]

    def _index(self) -> tuple[dict[str, Case], dict[str, list[AnyRecording]], dict[tuple[str, str], list[AnyRecording]]]:
        # Cases and recordings by case id (and label), built once (a scan per look-up made
        # planning quadratic); rebuilt if the lists are replaced or grow.
        key = (id(self.cases), len(self.cases), id(self.runs), len(self.runs))
        private = self.__pydantic_private__  # a plain dict: ``self._by_case`` costs ~2 us in pydantic
        cached = private["_by_case"]  # type: ignore[index]
        if cached is None or cached[0] != key:
            cases: dict[str, Case] = {}
            for c in self.cases:
                cases.setdefault(c.id, c)
            runs: dict[str, list[AnyRecording]] = {}
            labelled: dict[tuple[str, str], list[AnyRecording]] = {}
            for r in self.runs:
                runs.setdefault(r.case_id, []).append(r)
                labelled.setdefault((r.case_id, r.label), []).append(r)
            cached = (key, cases, runs, labelled)
            private["_by_case"] = cached  # type: ignore[index]
        return cached[1], cached[2], cached[3]

    @property
    def labels(self) -> list[str]:
        return sorted({r.label for r in self.runs})
