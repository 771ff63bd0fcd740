"""ragas metrics as agentctl scorers (``ragas.<metric>``).

Deterministic: ``tool_call_accuracy``, ``tool_call_f1``, ``exact_match``,
``string_presence``, ``non_llm_string_similarity``, ``bleu``, ``rouge``,
``non_llm_context_precision``, ``non_llm_context_recall``. Judged through litellm:
``agent_goal_accuracy``, ``faithfulness``, ``response_relevancy`` (also needs an embedding
model, ``args.embedding_model``, called through litellm), ``topic_adherence``.

The ragas 0.4 metric collections (``ragas.metrics.collections``) are used, with a judge
made by ``llm_factory(..., client=RagasJudgeClient(judge), adapter="litellm")``; the two
non-LLM context metrics exist only in the older API (``single_turn_ascore``). How a run
becomes ragas input is documented in :mod:`agentctl.scorers.mapping`. ragas is imported
only when a run is scored (~7 s), after telemetry has been turned off.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from agentctl.core.collector import collector_paused
from agentctl.core.errors import MissingExtra
from agentctl.core.results import ScoreResult
from agentctl.scorers.families import CALLS, REFERENCE, Arg, LibraryScorer, MetricInfo, library_family
from agentctl.scorers.judge import Judge, RagasJudgeClient, library_environment
from agentctl.scorers.mapping import (
    RunView,
    describe_calls,
    ragas_messages,
    ragas_tool_calls,
    run_view,
)

if TYPE_CHECKING:
    from agentctl.scorers.base import ScoringContext

PREFIX = "ragas"
DISTANCES = ("levenshtein", "hamming", "jaro", "jaro_winkler")
_SIMILARITY = Arg("fraction")
"""Similarity above which a retrieved and a reference context count as the same."""

METRICS: dict[str, MetricInfo] = {
    "tool_call_accuracy": MetricInfo({"calls": CALLS, "ordered": Arg("bool")}),
    "tool_call_f1": MetricInfo({"calls": CALLS}),
    "exact_match": MetricInfo({"reference": REFERENCE}),
    "string_presence": MetricInfo({"reference": REFERENCE}),
    "non_llm_string_similarity": MetricInfo(
        {"reference": REFERENCE, "distance": Arg("choice", DISTANCES)}, modules=("rapidfuzz",)
    ),
    "bleu": MetricInfo({"reference": REFERENCE}, modules=("sacrebleu",)),
    "rouge": MetricInfo(
        {
            "reference": REFERENCE,
            "rouge_type": Arg("choice", ("rouge1", "rougeL")),
            "mode": Arg("choice", ("fmeasure", "precision", "recall")),
        },
        modules=("rouge_score",),
    ),
    "non_llm_context_precision": MetricInfo({"similarity": _SIMILARITY}, modules=("rapidfuzz",)),
    "non_llm_context_recall": MetricInfo({"similarity": _SIMILARITY}, modules=("rapidfuzz",)),
    "agent_goal_accuracy": MetricInfo({"reference": REFERENCE}, judge="required"),
    "faithfulness": MetricInfo({}, judge="required"),
    "response_relevancy": MetricInfo(
        {"embedding_model": Arg("str", required=True), "strictness": Arg("int")}, judge="required"
    ),
    "topic_adherence": MetricInfo(
        {"topics": Arg("str_list"), "mode": Arg("choice", ("precision", "recall", "f1"))}, judge="required"
    ),
}
"""Every supported metric, its arguments (besides ``threshold``) and whether it needs a judge."""




class RagasScorer(LibraryScorer):
    """One ragas metric, scored per run."""

    METRICS = METRICS
    EXTRA = "ragas"

    def required_modules(self) -> tuple[str, ...]:
        return ("ragas", *self.info.modules)

    def _result(self, value: float, reason: str, cost_usd: float) -> ScoreResult:
        if value != value:  # NaN: ragas' way of saying "nothing to score"
            return ScoreResult(
                self.name, None, False, reason, cost_usd, "ragas returned no score (NaN)"
            )
        return super()._result(value, reason, cost_usd)

    async def _measure(self, ctx: ScoringContext) -> tuple[float, str]:
        args = self.spec.args
        view = run_view(ctx, args.get("calls", "effects"), args.get("reference"))
        rg = _ragas()
        m = self.metric
        if m in ("tool_call_accuracy", "tool_call_f1"):
            kwargs = {
                "user_input": ragas_messages(view.tool_conversation),
                "reference_tool_calls": ragas_tool_calls(view.expected),
            }
            if m == "tool_call_accuracy":
                metric: Any = rg.c.ToolCallAccuracy(strict_order=args.get("ordered", view.ordered))
            else:
                metric = rg.c.ToolCallF1()
            value, reason = _result(await _quiet(metric.ascore(**kwargs)))
            return value, reason or describe_calls(view)
        if m in ("exact_match", "string_presence", "non_llm_string_similarity", "bleu", "rouge"):
            reference = _need_reference(view)
            if m == "exact_match":
                metric = rg.c.ExactMatch()
            elif m == "string_presence":
                metric = rg.c.StringPresence()
            elif m == "non_llm_string_similarity":
                metric = rg.c.NonLLMStringSimilarity(
                    distance_measure=rg.c.DistanceMeasure(args.get("distance", "levenshtein"))
                )
            elif m == "bleu":
                metric = rg.c.BleuScore()
            else:
                metric = rg.c.RougeScore(
                    rouge_type=args.get("rouge_type", "rougeL"), mode=args.get("mode", "fmeasure")
                )
            return _result(await metric.ascore(reference=reference, response=view.answer))
        if m in ("non_llm_context_precision", "non_llm_context_recall"):
            if not view.reference_context:
                raise ValueError(f"{m} needs reference contexts: set context in the case")
            retrieved = _run_context(ctx)
            if not retrieved:
                return 0.0, "the run retrieved no context (no output of the case's context_tools)"
            metric = (
                rg.NonLLMContextPrecisionWithReference()
                if m == "non_llm_context_precision"
                else rg.NonLLMContextRecall()
            )
            metric.threshold = float(args.get("similarity", 0.5))
            sample = rg.SingleTurnSample(
                retrieved_contexts=retrieved, reference_contexts=view.reference_context
            )
            return float(await metric.single_turn_ascore(sample)), ""
        return await self._judged(rg, view, ctx)

    async def _judged(self, rg: _RagasAPI, view: RunView, ctx: ScoringContext) -> tuple[float, str]:
        args, m = self.spec.args, self.metric
        assert self.judge is not None  # validate() requires one
        llm = rg.llm_factory(self.judge.model, client=RagasJudgeClient(self.judge), adapter="litellm")
        if m == "agent_goal_accuracy":
            messages = ragas_messages(view.conversation)
            if view.reference:
                metric: Any = rg.c.AgentGoalAccuracyWithReference(llm=llm)
                return _result(await metric.ascore(user_input=messages, reference=view.reference))
            metric = rg.c.AgentGoalAccuracyWithoutReference(llm=llm)
            return _result(await metric.ascore(user_input=messages))
        if m == "topic_adherence":
            topics = args.get("topics") or ctx.case.metadata.get("topics")
            if not topics:
                raise ValueError(
                    "topic_adherence needs topics: set args.topics, or metadata.topics in the case"
                )
            metric = rg.c.TopicAdherence(llm=llm, mode=args.get("mode", "f1"))
            return _result(
                await metric.ascore(user_input=ragas_messages(view.conversation), reference_topics=topics)
            )
        if not view.answer:
            return 0.0, "the agent gave no final answer"
        if m == "faithfulness":
            if not view.retrieved_context:
                raise ValueError(
                    "faithfulness needs retrieved context: set context_tools or context in the case"
                )
            metric = rg.c.Faithfulness(llm=llm)
            return _result(
                await metric.ascore(
                    user_input=view.input, response=view.answer, retrieved_contexts=view.retrieved_context
                )
            )
        if m == "response_relevancy":
            embeddings = _embeddings_class()(self.judge, args["embedding_model"])
            metric = rg.c.AnswerRelevancy(
                llm=llm, embeddings=embeddings, strictness=args.get("strictness", 3)
            )
            return _result(await metric.ascore(user_input=view.input, response=view.answer))
        raise AssertionError(m)  # pragma: no cover - validate() rejects unknown names


def _need_reference(view: RunView) -> str:
    if view.reference is None:
        raise ValueError("needs a reference answer: set args.reference, or metadata.reference in the case")
    return view.reference


def _run_context(ctx: ScoringContext) -> list[str]:
    """Context the run retrieved itself: outputs of the case's context tools (not case.context)."""
    tools = set(ctx.case.context_tools or ())
    return [
        s.output
        for s in ctx.trajectory.tool_steps
        if s.tool in tools and s.carried_out and not s.error and s.output
    ]


def _result(result: Any) -> tuple[float, str]:
    return float(result.value), str(getattr(result, "reason", None) or "")


async def _quiet(awaitable: Any) -> Any:
    """ragas warns (UserWarning) on every run without tool calls; the score already says it."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return await awaitable


class _RagasAPI:
    """The ragas names used here, imported once."""

    def __init__(self) -> None:
        library_environment()
        with collector_paused():  # a big import: see agentctl.core.collector
            import ragas.metrics.collections as collections
            from ragas.dataset_schema import SingleTurnSample
            from ragas.llms import llm_factory
            from ragas.metrics import NonLLMContextPrecisionWithReference, NonLLMContextRecall

        self.c = collections
        self.SingleTurnSample = SingleTurnSample
        self.llm_factory = llm_factory
        self.NonLLMContextPrecisionWithReference = NonLLMContextPrecisionWithReference
        self.NonLLMContextRecall = NonLLMContextRecall


@functools.cache
def _ragas() -> _RagasAPI:
    try:
        return _RagasAPI()
    except ImportError as exc:
        raise MissingExtra(getattr(exc, "name", None) or "ragas", "ragas", "ragas scorers") from exc


@functools.cache
def _embeddings_class() -> type[Any]:
    """A ragas embedding whose calls are litellm embedding calls made by the scorer's judge."""
    _ragas()
    from ragas.embeddings.base import BaseRagasEmbedding

    class LitellmEmbeddings(BaseRagasEmbedding):  # type: ignore[misc]
        def __init__(self, judge: Judge, model: str) -> None:
            super().__init__()
            self.judge = judge
            self.model = model

        def embed_text(self, text: str, **kwargs: Any) -> list[float]:
            raise RuntimeError("agentctl calls ragas metrics asynchronously only")

        async def aembed_text(self, text: str, **kwargs: Any) -> list[float]:
            return (await self.judge.embed([text], self.model))[0]

        async def aembed_texts(self, texts: list[str], **kwargs: Any) -> list[list[float]]:
            return await self.judge.embed(list(texts), self.model)

    return LitellmEmbeddings


FAMILY = library_family(PREFIX, METRICS, RagasScorer, extra="ragas")
"""The ``ragas.*`` scorers: the object of this module's ``agentctl.scorers`` entry point."""
