"""Answering tool calls: from the run's environment, fixtures and recordings.

With an environment (a stateful dataset) every call is executed against the run's own copy
of the world; a tool the environment declines (``NotImplementedError``) and every call of a
dataset without one get the output a case's fixture or a recorded run of that case gave for
the same tool and normalised arguments.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentctl.core.normalize import canonical
from agentctl.core.trajectory import AnsweredBy
from agentctl.datasets.models import AnyRecording, Case, Dataset, ToolCatalog
from agentctl.datasets.recorded_calls import (
    RecordedCall,
    is_error_output,
    message_text,
    output_text,
    recorded_calls,
)

if TYPE_CHECKING:
    from agentctl.environments.runtime import EnvironmentRun


class RecordingIndex:
    """Recorded answers of a dataset by case, tool and canonical arguments.

    The recordings stay compact (see :class:`~agentctl.datasets.models.Recording`): a case's
    answers are gathered the first time a live run of it asks, and a replay parses its own run.
    """

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset
        self._runs = dataset.runs_by_case_and_label()
        # case -> (tool, canonical args) -> answers of the first recording (file order) with that call
        self._answers: dict[str, dict[tuple[str, str], list[dict[str, Any]]]] = {}

    def runs(self, case_id: str, label: str) -> list[AnyRecording]:
        """Recordings of a case with a label, in file order."""
        return self._runs.get((case_id, label), [])

    def calls(self, run: AnyRecording) -> list[RecordedCall]:
        return recorded_calls(run)

    def answers(self, case_id: str) -> dict[tuple[str, str], list[dict[str, Any]]]:
        case_answers = self._answers.get(case_id)
        if case_answers is None:
            case_answers = {}
            for run in self.dataset.runs_for(case_id):
                per_run: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
                for call in recorded_calls(run):
                    if call.arguments is None or call.answer is None:
                        continue
                    per_run[(call.name, canonical(call.arguments))].append(call.answer)
                for key, answers in per_run.items():
                    case_answers.setdefault(key, answers)
            self._answers[case_id] = case_answers
        return case_answers


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


def forget_recordings(dataset: Dataset) -> None:
    """Drop a dataset's recordings and their index once every run is done (at 100,000 runs they
    are most of the process's memory, and metrics and reports read the store, not them)."""
    _INDEXES[:] = [index for index in _INDEXES if index.dataset is not dataset]
    dataset.runs = []
    dataset._by_case = None


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
