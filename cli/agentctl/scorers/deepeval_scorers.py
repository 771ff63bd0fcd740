"""deepeval metrics as agentctl scorers (``deepeval.<metric>``).

Deterministic: ``tool_correctness``, ``exact_match``, ``pattern_match``, ``json_correctness``
(a judge, when given, only writes the reason of a failure). Judged through litellm:
``g_eval``, ``task_completion``, ``answer_relevancy``, ``faithfulness``. How a run becomes
an ``LLMTestCase`` is documented in :mod:`agentctl.scorers.mapping`.

deepeval is imported only when a run is scored (~3.5 s), after
:func:`agentctl.scorers.judge.library_environment` has turned telemetry off and pointed its
cache folder out of the working directory. Metrics keep state on the instance, so one is
built per run; G-Eval's evaluation steps, generated from ``criteria`` on the first run, are
reused for the rest.
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any

from agentctl.core.collector import collector_paused
from agentctl.core.errors import MissingExtra
from agentctl.scorers.families import CALLS, REFERENCE, Arg, LibraryScorer, MetricInfo, library_family
from agentctl.scorers.judge import Judge, library_environment, parse_json_object
from agentctl.scorers.mapping import (
    RunView,
    all_calls_with_output,
    deepeval_test_case,
    run_view,
)

if TYPE_CHECKING:
    from agentctl.config.models import ScorerSpec
    from agentctl.scorers.base import ScoringContext

PREFIX = "deepeval"

GEVAL_PARAMS = (
    "input",
    "actual_output",
    "expected_output",
    "context",
    "retrieval_context",
    "tools_called",
    "expected_tools",
)

METRICS: dict[str, MetricInfo] = {
    "tool_correctness": MetricInfo(
        {"calls": CALLS, "compare_args": Arg("bool"), "exact_match": Arg("bool"), "ordered": Arg("bool")}
    ),
    "exact_match": MetricInfo({"reference": REFERENCE}, default_threshold=1.0),
    "pattern_match": MetricInfo(
        {"pattern": Arg("regex", required=True), "ignore_case": Arg("bool")}, default_threshold=1.0
    ),
    "json_correctness": MetricInfo(
        {"schema": Arg("json_schema", required=True)}, judge="optional", default_threshold=1.0
    ),
    "g_eval": MetricInfo(
        {
            "criteria": Arg("str"),
            "evaluation_steps": Arg("str_list"),
            "params": Arg("choice_list", GEVAL_PARAMS),
            "name": Arg("str"),
            "reference": REFERENCE,
        },
        judge="required",
        one_of=("criteria", "evaluation_steps"),
    ),
    "task_completion": MetricInfo({"task": Arg("str")}, judge="required"),
    "answer_relevancy": MetricInfo({}, judge="required"),
    "faithfulness": MetricInfo({"truths_extraction_limit": Arg("int")}, judge="required"),
}
"""Every supported metric, its arguments (besides ``threshold``) and whether it needs a judge."""




class DeepevalScorer(LibraryScorer):
    """One deepeval metric, scored per run."""

    METRICS = METRICS
    EXTRA = "deepeval"

    def __init__(self, spec: ScorerSpec) -> None:
        super().__init__(spec)
        self._geval_steps: list[str] | None = None

    async def _measure(self, ctx: ScoringContext) -> tuple[float, str]:
        args = self.spec.args
        view = run_view(ctx, args.get("calls", "effects"), args.get("reference"))
        needs_answer = self.metric not in ("tool_correctness", "json_correctness")
        if needs_answer and not view.answer:
            return 0.0, "the agent gave no final answer"
        de = _deepeval()
        model = _judge_model_class()(self.judge)
        expected_output: str | None = None
        tools_called = None
        m = self.metric
        if m == "tool_correctness":
            params = [de.ToolCallParams.INPUT_PARAMETERS] if args.get("compare_args", True) else []
            metric: Any = de.ToolCorrectnessMetric(
                threshold=self.threshold,
                evaluation_params=params,
                should_exact_match=args.get("exact_match", False),
                should_consider_ordering=args.get("ordered", view.ordered),
                model=model,
            )
        elif m == "exact_match":
            expected_output = _need_reference(view)
            metric = de.ExactMatchMetric(threshold=self.threshold)
        elif m == "pattern_match":
            metric = de.PatternMatchMetric(
                pattern=args["pattern"], ignore_case=args.get("ignore_case", False), threshold=self.threshold
            )
        elif m == "json_correctness":
            if not view.answer:
                return 0.0, "the agent gave no final answer"
            metric = de.JsonCorrectnessMetric(
                expected_schema=_schema_model(args["schema"]),  # type: ignore[arg-type]
                model=model,
                threshold=self.threshold,
                strict_mode=False,
            )
            if self.judge is None:
                metric.model = None  # deepeval then gives the validation error as the reason
        elif m == "g_eval":
            params = args.get("params", ["input", "actual_output"])
            expected_output = view.reference
            if "expected_output" in params:
                expected_output = _need_reference(view)
            if "retrieval_context" in params and not view.retrieved_context:
                raise ValueError("g_eval params name retrieval_context but the case has no context")
            tools_called = all_calls_with_output(ctx)
            steps = args.get("evaluation_steps") or self._geval_steps
            metric = de.GEval(
                name=args.get("name", "g_eval"),
                criteria=None if steps else args.get("criteria"),
                evaluation_steps=steps,
                evaluation_params=[de.SingleTurnParams(p) for p in params],
                model=model,
                threshold=self.threshold,
            )
        elif m == "task_completion":
            tools_called = all_calls_with_output(ctx)
            metric = de.TaskCompletionMetric(threshold=self.threshold, task=args.get("task"), model=model)
        elif m == "answer_relevancy":
            metric = de.AnswerRelevancyMetric(threshold=self.threshold, model=model)
        elif m == "faithfulness":
            if not view.retrieved_context:
                raise ValueError(
                    "faithfulness needs retrieved context: set context_tools or context in the case"
                )
            metric = de.FaithfulnessMetric(
                threshold=self.threshold,
                model=model,
                truths_extraction_limit=args.get("truths_extraction_limit"),
            )
        else:  # pragma: no cover - validate() rejects unknown names
            raise AssertionError(m)
        test_case = deepeval_test_case(view, tools_called=tools_called, expected_output=expected_output)
        await metric.a_measure(test_case, _show_indicator=False)
        if m == "g_eval" and self._geval_steps is None:
            self._geval_steps = list(metric.evaluation_steps or []) or None
        if metric.error:
            raise ValueError(metric.error)
        return float(metric.score), str(metric.reason or "")


def _need_reference(view: RunView) -> str:
    if view.reference is None:
        raise ValueError("needs a reference answer: set args.reference, or metadata.reference in the case")
    return view.reference


class _DeepevalAPI:
    """The deepeval names used here, imported once."""

    def __init__(self) -> None:
        library_environment()
        with collector_paused():  # a big import: see agentctl.core.collector
            from deepeval.metrics import (
                AnswerRelevancyMetric,
                ExactMatchMetric,
                FaithfulnessMetric,
                GEval,
                JsonCorrectnessMetric,
                PatternMatchMetric,
                TaskCompletionMetric,
                ToolCorrectnessMetric,
            )
            from deepeval.test_case import SingleTurnParams, ToolCallParams

        self.AnswerRelevancyMetric = AnswerRelevancyMetric
        self.ExactMatchMetric = ExactMatchMetric
        self.FaithfulnessMetric = FaithfulnessMetric
        self.GEval = GEval
        self.JsonCorrectnessMetric = JsonCorrectnessMetric
        self.PatternMatchMetric = PatternMatchMetric
        self.TaskCompletionMetric = TaskCompletionMetric
        self.ToolCorrectnessMetric = ToolCorrectnessMetric
        self.SingleTurnParams = SingleTurnParams
        self.ToolCallParams = ToolCallParams


@functools.cache
def _deepeval() -> _DeepevalAPI:
    try:
        return _DeepevalAPI()
    except ImportError as exc:
        raise MissingExtra("deepeval", "deepeval", "deepeval scorers") from exc


@functools.cache
def _judge_model_class() -> type[Any]:
    """A ``DeepEvalBaseLLM`` whose every call is a litellm call of the scorer's :class:`Judge`."""
    _deepeval()
    from deepeval.models import DeepEvalBaseLLM

    class LitellmJudge(DeepEvalBaseLLM):  # type: ignore[misc]
        def __init__(self, judge: Judge | None) -> None:
            self.judge = judge
            super().__init__(judge.model if judge else "no-judge")

        def load_model(self, *args: Any, **kwargs: Any) -> Any:
            return self

        def get_model_name(self, *args: Any, **kwargs: Any) -> str:
            return self.judge.model if self.judge else "no judge"

        def generate(self, *args: Any, **kwargs: Any) -> str:
            raise RuntimeError("agentctl calls deepeval metrics asynchronously only")

        async def a_generate(self, prompt: Any, schema: Any = None, **kwargs: Any) -> Any:
            if self.judge is None:
                raise RuntimeError("this metric asked for a judge but the scorer has none: set 'judge'")
            text = prompt if isinstance(prompt, str) else str(prompt)
            reply = await self.judge.complete_json(
                text, schema.model_json_schema() if schema is not None else None
            )
            if schema is None:
                return reply.text
            try:
                return schema.model_validate(parse_json_object(reply.text))
            except Exception:  # let deepeval's own parser try, and report its error
                return reply.text

    return LitellmJudge


def _schema_model(schema: dict[str, Any]) -> type[Any]:
    """A pydantic model class whose ``model_validate_json`` checks a JSON Schema.

    deepeval's JsonCorrectness takes a pydantic model; suites give a JSON Schema.
    """
    import jsonschema
    from pydantic import BaseModel, ValidationError

    validator = jsonschema.validators.validator_for(schema)(schema)

    class JsonSchemaModel(BaseModel):
        @classmethod
        def model_validate_json(cls, json_data: Any, **_: Any) -> Any:
            try:
                value = json.loads(json_data)
            except (TypeError, ValueError) as exc:
                raise ValidationError.from_exception_data(
                    "output",
                    [{"type": "json_invalid", "loc": (), "input": json_data, "ctx": {"error": str(exc)}}],
                ) from None
            errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
            if errors:
                raise ValidationError.from_exception_data(
                    "output",
                    [
                        {
                            "type": "value_error",
                            "loc": tuple(e.absolute_path),
                            "input": e.instance,
                            "ctx": {"error": e.message},
                        }
                        for e in errors
                    ],
                )
            return cls()

        @classmethod
        def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
            return schema

    return JsonSchemaModel


FAMILY = library_family(PREFIX, METRICS, DeepevalScorer, extra="deepeval")
"""The ``deepeval.*`` scorers: the object of this module's ``agentctl.scorers`` entry point."""
