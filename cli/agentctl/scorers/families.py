"""What each metric of a library takes, checked by ``suite validate`` without importing the
library, and the scorer-registry family built from that table."""

from __future__ import annotations

import importlib.util
from abc import abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from agentctl.config.scorer_registry import ScorerFamily
from agentctl.core.errors import AgentctlError, MissingExtra
from agentctl.core.results import ScoreResult
from agentctl.scorers.base import Scorer
from agentctl.scorers.judge import Judge, metering
from agentctl.scorers.mapping import CALL_SELECTIONS

if TYPE_CHECKING:
    from agentctl.config.models import ScorerSpec
    from agentctl.scorers.base import ScoringContext

@dataclass(frozen=True)
class Arg:
    """One argument a metric accepts in ``args``."""

    kind: Literal[
        "fraction", "bool", "str", "str_list", "int", "choice", "choice_list", "json_schema", "regex"
    ]
    choices: tuple[str, ...] = ()
    required: bool = False


@dataclass(frozen=True)
class MetricInfo:
    """A library metric as agentctl exposes it."""

    args: dict[str, Arg]
    judge: Literal["required", "optional", "none"] = "none"
    default_threshold: float = 0.5
    modules: tuple[str, ...] = ()
    """Python modules the metric needs beyond the library itself (checked before a run)."""
    one_of: tuple[str, ...] = ()
    """Exactly one of these args must be given."""

    @property
    def judged(self) -> bool:
        return self.judge == "required"


THRESHOLD = Arg("fraction")
CALLS = Arg("choice", CALL_SELECTIONS)
REFERENCE = Arg("str")


def spec_problems(name: str, info: MetricInfo, args: dict[str, Any], judge: str | None) -> list[str]:
    """What is wrong with a scorer's ``args`` and ``judge``, one message each."""
    problems: list[str] = []
    allowed = {"threshold": THRESHOLD, **info.args}
    for key, value in args.items():
        arg = allowed.get(key)
        if arg is None:
            problems.append(
                f"args.{key}: unknown argument of {name} (expected one of: {', '.join(sorted(allowed))})"
            )
            continue
        bad = _arg_problem(arg, value)
        if bad:
            problems.append(f"args.{key}: {bad}")
    problems += [
        f"args.{k}: required by {name}" for k, a in info.args.items() if a.required and k not in args
    ]
    if info.one_of and sum(k in args for k in info.one_of) != 1:
        problems.append(f"args: {name} needs exactly one of {', '.join(info.one_of)}")
    if info.judge == "required" and not judge:
        problems.append(f"judge: {name} is judged by a model: set 'judge' to a litellm model string")
    if info.judge == "none" and judge:
        problems.append(f"judge: {name} is computed without a model; remove 'judge'")
    return problems


def _arg_problem(arg: Arg, value: Any) -> str | None:
    kind = arg.kind
    if kind == "fraction":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1
        return None if ok else f"expected a number between 0 and 1, got {value!r}"
    if kind == "bool":
        return None if isinstance(value, bool) else f"expected true or false, got {value!r}"
    if kind == "int":
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= 1
        return None if ok else f"expected a whole number >= 1, got {value!r}"
    if kind == "str":
        return (
            None
            if isinstance(value, str) and value.strip()
            else f"expected a non-empty string, got {value!r}"
        )
    if kind == "str_list":
        ok = isinstance(value, list) and bool(value) and all(isinstance(v, str) for v in value)
        return None if ok else f"expected a non-empty list of strings, got {value!r}"
    if kind == "choice":
        ok = isinstance(value, str) and value in arg.choices
        return None if ok else f"expected one of {', '.join(arg.choices)}, got {value!r}"
    if kind == "choice_list":
        ok = (
            isinstance(value, list)
            and bool(value)
            and all(isinstance(v, str) and v in arg.choices for v in value)
        )
        return None if ok else f"expected a non-empty list of {', '.join(arg.choices)}, got {value!r}"
    if kind == "regex":
        import re

        if not isinstance(value, str):
            return f"expected a regular expression string, got {value!r}"
        try:
            re.compile(value)
        except re.error as exc:
            return f"invalid regular expression ({exc})"
        return None
    if kind == "json_schema":
        import jsonschema

        if not isinstance(value, dict):
            return f"expected a JSON Schema object, got {value!r}"
        try:
            jsonschema.validators.validator_for(value).check_schema(value)
        except jsonschema.SchemaError as exc:
            return f"invalid JSON Schema ({exc.message})"
        return None
    raise AssertionError(kind)


def library_family(
    prefix: str, metrics: dict[str, MetricInfo], factory: Callable[[ScorerSpec], Scorer], *, extra: str
) -> ScorerFamily:
    """The registry family of a library's metrics: names and arguments are checked from the
    static ``metrics`` table, so validation never imports the library."""

    def validate(spec: ScorerSpec) -> list[str]:
        return spec_problems(spec.name, metrics[spec.name.partition(".")[2]], spec.args, spec.judge)

    return ScorerFamily(prefix=prefix, metrics=tuple(metrics), factory=factory, validate=validate, extra=extra)


class LibraryScorer(Scorer):
    """One metric of a library family (deepeval, ragas) scored per run: the frame both share.

    A subclass sets :attr:`METRICS` and :attr:`EXTRA` and measures in :meth:`_measure`; the
    judge's pricing, metering, library failures and the threshold are handled here once.
    """

    METRICS: ClassVar[dict[str, MetricInfo]]
    EXTRA: ClassVar[str]

    def __init__(self, spec: ScorerSpec) -> None:
        super().__init__(spec)
        self.metric = spec.name.partition(".")[2]
        self.info = self.METRICS[self.metric]
        for module in self.required_modules():
            if importlib.util.find_spec(module) is None:
                raise MissingExtra(module, self.EXTRA, f"scorer '{spec.name}'")
        self.judge: Judge | None = Judge(spec.judge, dict(spec.judge_params)) if spec.judge else None

    def required_modules(self) -> tuple[str, ...]:
        """Packages the metric needs (checked when the scorer is made, not when it scores)."""
        return (self.EXTRA,)

    @property
    def threshold(self) -> float:
        return float(self.spec.args.get("threshold", self.info.default_threshold))

    async def score(self, ctx: ScoringContext) -> ScoreResult:
        if self.judge is not None:
            self.judge.pricing = ctx.suite.pricing.get(self.judge.model)
        with metering() as meter:
            try:
                value, reason = await self._measure(ctx)
            except AgentctlError:
                raise
            except Exception as exc:  # the library or the judge failed on this run
                return ScoreResult(self.name, None, False, "", meter.cost_usd, f"{type(exc).__name__}: {exc}")
        return self._result(value, reason, meter.cost_usd)

    def _result(self, value: float, reason: str, cost_usd: float) -> ScoreResult:
        return ScoreResult(self.name, value, value >= self.threshold, reason, cost_usd)

    @abstractmethod
    async def _measure(self, ctx: ScoringContext) -> tuple[float, str]:
        """The metric's value and reason for one run (may raise: the run then scores as failed)."""
