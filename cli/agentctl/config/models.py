"""The suite file format (``evalsuites/*.yaml``), as pydantic models.

Field names follow DESIGN.md exactly. Every model forbids unknown keys, so a typo is an
error that names its line. ``agentctl.config.loader.load_suite`` reads a file into these.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

PROMPT_FILE_SUFFIXES = (".md", ".txt", ".j2")


class _Strict(BaseModel):
    # Field docstrings become descriptions: in docs/ and in the JSON Schemas editors use.
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, allow_inf_nan=False)


class Condition(_Strict):
    """``{arg: NAME, OP: VALUE}``: one test of a tool call's argument."""

    arg: str
    """Name of the argument (dotted path for nested objects: ``address.country``)."""
    eq: Any = None
    """Equal to this value."""
    ne: Any = None
    """Not equal to this value."""
    gt: float | None = None
    """Greater than this number."""
    gte: float | None = None
    """Greater than or equal to this number."""
    lt: float | None = None
    """Less than this number."""
    lte: float | None = None
    """Less than or equal to this number."""
    in_: list[Any] | None = Field(default=None, alias="in")
    """One of these values."""
    len_gt: int | None = None
    """For list arguments: more than this many items (bulk actions)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, use_attribute_docstrings=True, allow_inf_nan=False)

    @model_validator(mode="after")
    def _one_operator(self) -> Condition:
        ops = [op for op in ("eq", "ne", "gt", "gte", "lt", "lte", "in_", "len_gt") if op in self.model_fields_set]
        if len(ops) != 1:
            raise ValueError("a condition needs exactly one operator of eq, ne, gt, gte, lt, lte, in, len_gt")
        return self

    @property
    def op(self) -> str:
        for op in ("eq", "ne", "gt", "gte", "lt", "lte", "in_", "len_gt"):
            if op in self.model_fields_set:
                return "in" if op == "in_" else op
        raise AssertionError("validated condition has an operator")

    @property
    def value(self) -> Any:
        return getattr(self, "in_" if self.op == "in" else self.op)


class PolicyRule(_Strict):
    """A tool, and optionally the conditions on its arguments under which the rule applies."""

    tool: str
    """Name of the tool the rule is about."""
    when: Condition | list[Condition] | None = None
    """No ``when``: every call of the tool. A list: all conditions must hold."""

    @property
    def conditions(self) -> list[Condition]:
        if self.when is None:
            return []
        return self.when if isinstance(self.when, list) else [self.when]


class Policy(_Strict):
    allow_tools: list[str] | None = None
    """Tools the agent may call; default: the whole catalog."""
    require_approval: list[PolicyRule] = []
    """Calls that need a person's approval: not carried out, counted as a policy violation."""
    forbid: list[PolicyRule] = []
    """Calls that must never be made: not carried out, counted as a policy violation."""
    max_tool_calls: int | None = Field(default=None, ge=0)
    """Calls beyond this many are refused and count as a policy violation."""


class AgentConfig(_Strict):
    system_prompt: str | None = None
    """A file (ending .md, .txt or .j2, relative to the suite) or the prompt text itself."""
    max_steps: int = Field(default=12, ge=1)
    """Model calls per run before the run fails with reason ``max_steps``."""
    escalation_tool: str | None = None
    """The tool that hands the case to a person; calling it ends the run as ``escalated``."""


DEFAULT_USER_STOP = "###STOP###"


class UserSimulatorSpec(_Strict):
    """Who plays the user of cases that carry ``user`` (multi-turn runs)."""

    model: str
    """``replay`` (send a recording's user turns in order) or any litellm model string."""
    params: dict[str, Any] = {}
    """Passed to litellm unchanged with every simulator call (temperature, api_base, ...)."""
    system_prompt: str | None = None
    """A file (ending .md, .txt or .j2, relative to the suite) or the prompt text; the case's
    ``user.instructions`` follow it. Default: a built-in prompt."""
    max_turns: int = Field(default=10, ge=1)
    """User messages per conversation (the first included); the run fails with reason
    ``max_turns`` when the agent answers the last of them and the user would have to go on."""
    stop: str = Field(default=DEFAULT_USER_STOP, min_length=1)
    """A user message containing this ends the conversation (status ``completed``)."""
    label: str | None = None
    """For ``model: replay`` with a model candidate: the label of the recordings whose user
    turns are sent. A replay candidate uses its own label."""


class CandidateSpec(_Strict):
    name: str
    """Name used in reports, gates and ``--candidate``."""
    model: str
    """``replay:<label>`` to replay recorded runs, or any litellm model string."""
    system_prompt: str | None = None
    """Overrides the suite's ``agent.system_prompt`` for this candidate."""
    params: dict[str, Any] = {}
    """Passed to litellm unchanged (temperature, max_tokens, api_base, ...)."""
    user_simulator: UserSimulatorSpec | None = None
    """Replaces the suite's ``user_simulator`` for this candidate."""

    @property
    def is_replay(self) -> bool:
        return self.model.startswith("replay:")

    @property
    def replay_label(self) -> str | None:
        return self.model.split(":", 1)[1] if self.is_replay else None


class ScorerSpec(_Strict):
    name: str
    """Registered scorer name, e.g. ``deepeval.tool_correctness`` or ``ragas.tool_call_f1``."""
    args: dict[str, Any] = {}
    """Arguments of the scorer (threshold, criteria, ...)."""
    judge: str | None = None
    """litellm model string of the judge, for LLM-judged scorers."""
    judge_params: dict[str, Any] = {}
    """Passed to litellm with every judge call (api_base, temperature, ...)."""
    required: bool = False
    """When true, a run whose score fails this scorer's threshold is not ``correct``."""


class Budget(_Strict):
    max_usd_per_run: float | None = Field(default=None, ge=0)
    """A run whose model and tool spend would exceed this fails with reason ``budget``."""
    max_usd_total: float | None = Field(default=None, ge=0)
    """Provider spend of the whole evaluation (model calls and judges, not review costs);
    once reached no new model call is made and the remaining runs are not run (exit 3)."""


class RetryConfig(_Strict):
    """Retries of one model call: exponential backoff with full jitter, honouring Retry-After."""

    max_attempts: int = Field(default=3, ge=1)
    """Attempts per model call, the first included (``--max-attempts`` overrides)."""
    backoff_s: float = Field(default=1.0, ge=0)
    """Base of the backoff: attempt n waits a random time up to ``backoff_s * 2**(n-1)``."""
    max_backoff_s: float = Field(default=30.0, ge=0)
    """Longest wait between attempts, Retry-After included."""


class BreakerConfig(_Strict):
    """When to stop calling a model that keeps failing (authentication errors trip it at once)."""

    window: int = Field(default=20, ge=1)
    """How many of the model's most recent calls (after retries) are considered."""
    min_calls: int = Field(default=10, ge=1)
    """Calls in the window before the failure ratio is judged."""
    failure_ratio: float = Field(default=0.8, gt=0, le=1)
    """The breaker opens when at least this share of the window's calls failed."""


class RateLimit(_Strict):
    """Limits of the models matching one pattern of ``execution.limits`` (shared by all of them)."""

    concurrency: int | None = Field(default=None, ge=1)
    """Model calls in flight at once."""
    rpm: float | None = Field(default=None, gt=0)
    """Requests per minute, evenly spaced (retries count)."""
    tpm: int | None = Field(default=None, gt=0)
    """Tokens (prompt + completion) per minute, over a sliding minute."""


class Execution(_Strict):
    """How model calls are made: timeouts, retries, circuit breaker, rate limits, cache."""

    timeout_s: float = Field(default=60.0, gt=0)
    """Timeout of one attempt of a model call (``--timeout`` overrides)."""
    retry: RetryConfig = RetryConfig()
    """Retries of a failed model call."""
    breaker: BreakerConfig = BreakerConfig()
    """When to stop calling a model that keeps failing."""
    limits: dict[str, RateLimit] = {}
    """By litellm model pattern (``openai/*``, ``anthropic/claude-3-5-haiku*``, an exact model):
    the most specific matching pattern applies; models matching one pattern share its limits."""
    cache: bool = True
    """Reuse cached model responses from the results store (``--no-cache`` turns it off)."""


class Costs(_Strict):
    review_usd: float = Field(default=0.0, ge=0)
    """Cost of a person reviewing an escalated run, added to that run's cost."""


class Price(_Strict):
    """Price of a model litellm's cost map does not know."""

    input_usd_per_mtok: float = Field(ge=0)
    """USD per million prompt tokens."""
    output_usd_per_mtok: float = Field(ge=0)
    """USD per million completion tokens."""


class Gate(_Strict):
    """A release gate: a threshold on a metric, or a regression test against the baseline."""

    metric: str | None = None
    """Metric of a threshold gate (``success_rate``, ``pass^3``, ``mean:<scorer>``, ...)."""
    regression: str | None = None
    """Metric of a regression gate, compared with the baseline on the same cases."""
    min: float | None = None
    """Threshold gates: the metric must be at least this."""
    max: float | None = None
    """Threshold gates: the metric must be at most this."""
    confidence: float | None = Field(default=None, gt=0, lt=1)
    """Compare the pessimistic bound of this interval instead of the point estimate."""
    max_drop: float | None = Field(default=None, ge=0)
    """Regression gates: the largest tolerated worsening (a rate's share, or USD / seconds)."""
    alpha: float | None = Field(default=None, gt=0, lt=1)
    """Regression gates: fail only when the worsening is significant at this level."""
    candidates: list[str] | None = None
    """Candidates the gate applies to; default: every candidate except the baseline."""
    tags: list[str] | None = None
    """Apply the gate to the runs of cases with any of these tags only."""
    on_insufficient: Literal["fail", "pass"] | None = None
    """What a gate does when the data cannot decide. Default: ``fail`` for threshold gates
    (with or without ``confidence``); ``pass`` for a regression gate whose drop cannot be
    shown significant at ``alpha`` (it fails only on a significant drop)."""

    @model_validator(mode="after")
    def _shape(self) -> Gate:
        if (self.metric is None) == (self.regression is None):
            raise ValueError("a gate needs exactly one of 'metric' or 'regression'")
        if self.metric is not None:
            if (self.min is None) == (self.max is None):
                raise ValueError("a metric gate needs exactly one of 'min' or 'max'")
            if self.max_drop is not None or self.alpha is not None:
                raise ValueError("'max_drop' and 'alpha' belong to regression gates")
        else:
            if self.max_drop is None:
                raise ValueError("a regression gate needs 'max_drop'")
            if self.min is not None or self.max is not None or self.confidence is not None:
                raise ValueError("'min', 'max' and 'confidence' belong to metric gates")
        return self

    @property
    def name(self) -> str:
        """Readable name stored in the ``gates`` table, e.g. ``success_rate >= 0.95``."""
        tags = f" [tags: {', '.join(self.tags)}]" if self.tags else ""
        if self.regression is not None:
            return f"regression({self.regression}){tags}"
        op, bound = (">=", self.min) if self.min is not None else ("<=", self.max)
        conf = f" @{self.confidence:g}" if self.confidence is not None else ""
        return f"{self.metric} {op} {bound:g}{conf}{tags}"


class Suite(_Strict):
    """A suite file: which dataset, which candidates, which scorers and gates."""

    version: Literal[1] = 1
    """Version of the suite format."""
    name: str
    """Name of the suite, stored with each evaluation and used in report file names."""
    description: str = ""
    """What the suite is for."""
    dataset: str
    """Folder with cases.jsonl, tools.yaml and (for replay candidates) runs.jsonl; relative to the suite."""
    agent: AgentConfig = AgentConfig()
    """The agent under test: prompt, step limit, escalation tool."""
    candidates: list[CandidateSpec] = Field(min_length=1)
    """What is evaluated: recordings (``replay:<label>``) or models."""
    baseline: str | None = None
    """Candidate the others are compared with."""
    repeats: int | None = Field(default=None, ge=1)
    """Runs per case and candidate; replay candidates default to their number of recordings."""
    scorers: list[ScorerSpec] = []
    """deepeval and ragas metrics scored beside the outcome."""
    user_simulator: UserSimulatorSpec | None = None
    """Plays the user of cases that carry ``user``; a candidate may set its own."""
    policy: Policy = Policy()
    """Which tool calls are allowed, need approval or are forbidden."""
    budget: Budget = Budget()
    """Spending limits per run and for the whole evaluation."""
    costs: Costs = Costs()
    """Costs that are not model calls (a person's review)."""
    execution: Execution = Execution()
    """Timeouts, retries, circuit breaker, per-model rate limits and the response cache."""
    pricing: dict[str, Price] = {}
    """Prices of models litellm does not know, by litellm model string."""
    gates: list[Gate] = []
    """Release gates; a failing gate makes ``eval run`` exit 1."""
    environment: str | None = None
    """Stateful tools: a ``.py`` file (relative to the suite), a module (``package.module``) or a
    name registered in the ``agentctl.environments`` entry-point group, defining ``Environment``.
    Default: the dataset's ``environment.py`` when there is one."""

    _source: Path | None = PrivateAttr(default=None)

    @property
    def source(self) -> Path | None:
        """The suite file this was loaded from."""
        return self._source

    @property
    def base_dir(self) -> Path:
        return self._source.parent if self._source is not None else Path.cwd()

    def dataset_dir(self) -> Path:
        return (self.base_dir / self.dataset).resolve()

    def candidate(self, name: str) -> CandidateSpec | None:
        return next((c for c in self.candidates if c.name == name), None)

    def resolve_prompt(self, value: str | None) -> str | None:
        """The prompt text of a ``system_prompt`` value (file or inline text)."""
        if value is None:
            return None
        if is_prompt_file(value):
            return (self.base_dir / value.strip()).read_text(encoding="utf-8")
        return value

    def system_prompt_for(self, candidate: CandidateSpec) -> str | None:
        return self.resolve_prompt(candidate.system_prompt or self.agent.system_prompt)

    def user_simulator_for(self, candidate: CandidateSpec) -> UserSimulatorSpec | None:
        """The candidate's own ``user_simulator``, else the suite's."""
        return candidate.user_simulator or self.user_simulator


def is_prompt_file(value: str) -> bool:
    return value.strip().endswith(PROMPT_FILE_SUFFIXES) and "\n" not in value.strip()
