"""What each metric of a library takes, checked by ``suite validate`` without importing the
library, and the scorer-registry family built from that table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from agentctl.config.scorer_registry import ScorerFamily
from agentctl.scorers.mapping import CALL_SELECTIONS

if TYPE_CHECKING:
    from agentctl.config.models import ScorerSpec
    from agentctl.scorers.base import Scorer



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
