"""Loading a suite file, and ``suite validate``: the suite checked against its dataset.

Every problem names the file, the line and the key path, and all of them are reported at
once. Nothing here imports litellm, pandas, scipy, deepeval or ragas, so validation is fast.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from agentctl.config.models import Suite, UserSimulatorSpec, is_prompt_file
from agentctl.core.errors import InputError, Problem, ValidationFailed
from agentctl.core.metric_names import all_metric_names, is_known_metric
from agentctl.core.plugins import PluginError
from agentctl.core.yamlpos import KeyPath, YamlDocument, key_path, read_yaml, validation_problems
from agentctl.datasets.loader import DatasetFiles, read_dataset
from agentctl.datasets.models import Dataset
from agentctl.datasets.validate import check_dataset, unknown_tool

_PASS_K = re.compile(r"^pass[\^@]([1-9][0-9]*)$")


@dataclass
class SuiteCheck:
    """What ``suite validate`` found: the suite and dataset (when readable) and every problem."""

    suite: Suite | None
    dataset: Dataset | None
    problems: list[Problem]
    notes: list[str] = field(default_factory=list)
    """Defaults that decide verdicts (tools counted as writes by default...), said by validate."""

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings allowed)."""
        return self.suite is not None and self.dataset is not None and not self.errors


def load_suite(path: str | Path) -> Suite:
    """Read and validate a suite file (its own content only; see :func:`validate_suite`)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"suite file not found: {path}", path)
    problems: list[Problem] = []
    _, suite = _parse_suite(path, problems)
    if suite is None or any(p.severity == "error" for p in problems):
        raise ValidationFailed(problems)
    return suite


def _parse_suite(path: Path, problems: list[Problem]) -> tuple[YamlDocument | None, Suite | None]:
    doc = read_yaml(path, problems)
    if doc is None:
        return None, None
    if not isinstance(doc.data, dict):
        got = "an empty file" if doc.data is None else f"{type(doc.data).__name__}"
        problems.append(
            Problem(f"expected a mapping with name, dataset, candidates, ...; got {got}", path, 1)
        )
        return doc, None
    try:
        suite = Suite.model_validate(doc.data)
    except ValidationError as exc:
        problems += validation_problems(exc, doc.data, Suite, path, doc.line_of)
        return doc, None
    suite._source = path.resolve()
    return doc, suite


def validate_suite(path: str | Path, on_suite: Callable[[Suite, Path], None] | None = None) -> SuiteCheck:
    """Check a suite, its dataset, and everything the suite says about the dataset.

    ``on_suite(suite, dataset_folder)`` is called once the suite has parsed, before the
    dataset is read (the run starts its worker processes then)."""
    path = Path(path)
    problems: list[Problem] = []
    if not path.is_file():
        return SuiteCheck(None, None, [Problem(f"suite file not found: {path}", path)])
    doc, suite = _parse_suite(path, problems)
    dataset_value: Any = suite.dataset if suite is not None else None
    if suite is None and doc is not None and isinstance(doc.data, dict):
        dataset_value = doc.data.get("dataset")  # check the dataset even when the suite has errors
    files: DatasetFiles | None = None
    if isinstance(dataset_value, str) and doc is not None:
        folder, loop = _resolve(path.resolve().parent / dataset_value)
        if loop:
            problems.append(Problem(f"dataset folder {folder}: {loop}", path, doc.line_of(("dataset",)), "dataset"))
        elif folder.is_dir():
            if on_suite is not None and suite is not None:
                on_suite(suite, folder)
            files = read_dataset(folder, problems)
            check_dataset(files, problems)
        else:
            problems.append(
                Problem(f"dataset folder not found: {folder}", path, doc.line_of(("dataset",)), "dataset")
            )
    if suite is not None and doc is not None:
        _SuiteChecks(suite, doc, files, problems).run()
    suite_file = path.resolve()
    problems.sort(key=lambda p: (Path(p.path or "").resolve() != suite_file, str(p.path), p.line or 0))
    return SuiteCheck(suite, files.dataset if files is not None else None, problems,
                      files.notes() if files is not None else [])


def _resolve(path: Path) -> tuple[Path, str | None]:
    """``path`` resolved, and why it cannot be (a symlink loop) or None."""
    try:
        return path.resolve(), None
    except (RuntimeError, OSError) as exc:  # Python < 3.13 raises RuntimeError for a loop
        return path.absolute(), f"cannot be resolved: too many levels of symbolic links ({exc})"


def check_suite(suite: Suite) -> SuiteCheck:
    """The checks :func:`validate_suite` makes, for a :class:`Suite` built in Python: its dataset,
    and everything the suite says about itself and the dataset (an unknown baseline, scorer,
    metric, tool or recording label is an error, as in a file). Problems carry no line."""
    problems: list[Problem] = []
    folder = suite.dataset_dir()
    files: DatasetFiles | None = None
    if folder.is_dir():
        files = read_dataset(folder, problems)
        check_dataset(files, problems)
    else:
        problems.append(Problem(f"dataset folder not found: {folder}", suite.source, key="dataset"))
    doc = YamlDocument(suite.source or Path(f"<suite {suite.name}>"), None)
    _SuiteChecks(suite, doc, files, problems).run()
    return SuiteCheck(suite, files.dataset if files is not None else None, problems)


def check_or_raise(check: SuiteCheck, where: str | Path | None = None) -> tuple[Suite, Dataset, list[Problem]]:
    """The suite and dataset of a check without errors, and its warnings; else :class:`ValidationFailed`."""
    if check.errors or check.suite is None or check.dataset is None:
        if not check.problems:  # not reachable in practice; keep the error meaningful
            raise InputError("suite could not be loaded", where)
        raise ValidationFailed(check.problems)
    return check.suite, check.dataset, check.warnings


def load_suite_and_dataset(path: str | Path, on_suite: Callable[[Suite, Path], None] | None = None,
                           ) -> tuple[Suite, Dataset, list[Problem]]:
    """The suite and its dataset, ready to run, and the warnings found (``on_suite``: see
    :func:`validate_suite`).

    Raises :class:`ValidationFailed` (with the warnings too) when there is any error.
    """
    return check_or_raise(validate_suite(path, on_suite), Path(path))


def _did_you_mean(name: str, options: list[str], what: str) -> str:
    close = difflib.get_close_matches(name, options, n=1)
    if close:
        return f"(did you mean '{close[0]}'?)"
    return f"({what}: {', '.join(options) or 'none'})"


class _SuiteChecks:
    """The checks of a valid suite against itself and its dataset."""

    def __init__(self, suite: Suite, doc: YamlDocument, files: DatasetFiles | None, problems: list[Problem]):
        self.suite, self.doc, self.files, self.problems = suite, doc, files, problems

    def add(self, message: str, key: KeyPath, severity: str = "error") -> None:
        self.problems.append(Problem(message, self.path, self.line(key), key_path(key) or None, severity))

    @property
    def path(self) -> Path | None:
        """The suite file; ``None`` for a suite built in Python that was never a file."""
        return self.doc.path if self.doc.lines or self.suite.source is not None else None

    def line(self, key: KeyPath) -> int | None:
        return self.doc.line_of(key) if self.doc.lines else None

    def run(self) -> None:
        self.prompts()
        self.candidates()
        self.scorers()
        self.gates()
        self.prices()
        if self.files is not None:
            self.recordings(self.files)
            self.users(self.files)
            if self.files.tools_ok:
                self.tools(self.files)
                self.cedar(self.files)
            self.environment(self.files)

    def environment(self, files: DatasetFiles) -> None:
        from agentctl.config.environment_checks import check_environment

        line = self.doc.line_of(("environment",)) if self.suite.environment else None
        check_environment(self.suite, files, self.problems, line)

    def prompts(self) -> None:
        values: list[tuple[str | None, KeyPath]] = [
            (self.suite.agent.system_prompt, ("agent", "system_prompt"))
        ]
        values += [
            (c.system_prompt, ("candidates", i, "system_prompt")) for i, c in enumerate(self.suite.candidates)
        ]
        values += [(spec.system_prompt, (*key, "system_prompt")) for spec, key in self._user_simulators()]
        for value, key in values:
            if value is not None and is_prompt_file(value):
                file, loop = _resolve(self.suite.base_dir / value.strip())
                if loop:
                    self.add(f"prompt file {value.strip()}: {loop}", key)
                elif not file.is_file():
                    self.add(f"prompt file not found: {value.strip()} (looked for {file})", key)
                else:
                    try:
                        file.read_bytes().decode("utf-8")
                    except UnicodeDecodeError as exc:
                        self.add(f"prompt file {value.strip()} is not UTF-8 text (byte {exc.start + 1})", key)
                    except OSError as exc:
                        self.add(f"prompt file {value.strip()} cannot be read: {exc.strerror or exc}", key)

    def candidates(self) -> None:
        names: dict[str, int] = {}
        for i, c in enumerate(self.suite.candidates):
            key = ("candidates", i, "name")
            if c.name in names:
                first = names[c.name]
                self.add(f"duplicate candidate name '{c.name}'" + (f" (first on line {first})" if first else ""), key)
            else:
                names[c.name] = self.line(key) or 0
            if c.is_replay and not c.replay_label:
                self.add(
                    "'replay:' needs the label of the recorded runs, e.g. replay:prod",
                    ("candidates", i, "model"),
                )
        baseline = self.suite.baseline
        if baseline is not None and baseline not in names:
            self.add(
                f"unknown candidate '{baseline}' {_did_you_mean(baseline, list(names), 'candidates')}",
                ("baseline",),
            )

    def scorers(self) -> None:
        from agentctl.config.scorer_registry import registry

        for i, spec in enumerate(self.suite.scorers):
            try:
                messages = registry.problems(spec)
            except PluginError as exc:  # a broken plugin: named, at the scorer that needs it
                self.add(exc.message, ("scorers", i, "name"))
                continue
            for message in messages:
                key: KeyPath = (
                    ("scorers", i, "name") if message.startswith("unknown scorer") else ("scorers", i)
                )
                self.add(message, key)

    def gates(self) -> None:
        scorer_names = ["outcome", *(s.name for s in self.suite.scorers)]
        candidates = list(dict.fromkeys(c.name for c in self.suite.candidates))
        case_tags = {t for c in self.files.dataset.cases for t in c.tags} if self.files is not None else None
        for i, gate in enumerate(self.suite.gates):
            field = "metric" if gate.metric is not None else "regression"
            metric = gate.metric or gate.regression or ""
            key: KeyPath = ("gates", i, field)
            if not is_known_metric(metric):
                known = all_metric_names()
                close = difflib.get_close_matches(metric, known, n=1)
                hint = f"did you mean '{close[0]}'? " if close else ""
                self.add(f"unknown metric '{metric}' ({hint}known metrics: {', '.join(known)})", key)
            elif metric.startswith(("score:", "mean:")):
                scorer = metric.split(":", 1)[1]
                if scorer not in scorer_names:
                    self.add(
                        f"no scorer '{scorer}' in this suite {_did_you_mean(scorer, scorer_names, 'scorers')}",
                        key,
                    )
            elif (
                (m := _PASS_K.match(metric))
                and self.suite.repeats is not None
                and int(m[1]) > self.suite.repeats
            ):
                self.add(f"{metric} needs repeats >= {m[1]} (repeats is {self.suite.repeats})", key)
            for j, name in enumerate(gate.candidates or []):
                if name not in candidates:
                    self.add(
                        f"unknown candidate '{name}' {_did_you_mean(name, candidates, 'candidates')}",
                        ("gates", i, "candidates", j),
                    )
            for j, tag in enumerate(gate.tags or []):
                if case_tags is not None and tag not in case_tags:
                    self.add(f"no case has tag '{tag}'", ("gates", i, "tags", j), severity="warning")

    def prices(self) -> None:
        from agentctl.core.pricing import has_price, no_price_message

        for i, c in enumerate(self.suite.candidates):
            if not c.is_replay and not has_price(self.suite.pricing, c.model):
                self.add(no_price_message(c.model, f"candidate '{c.name}'"), ("candidates", i, "model"), "warning")
        for i, spec in enumerate(self.suite.scorers):
            if spec.judge and not has_price(self.suite.pricing, spec.judge):
                self.add(no_price_message(spec.judge, f"judge of {spec.name}"), ("scorers", i, "judge"), "warning")

    def recordings(self, files: DatasetFiles) -> None:
        labels = files.dataset.labels
        for i, c in enumerate(self.suite.candidates):
            label = c.replay_label
            if not label:
                continue
            key = ("candidates", i, "model")
            if not files.has_runs:
                self.add(
                    f"candidate '{c.name}' replays recordings, but {files.runs_path} does not exist", key
                )
            elif label not in labels:
                self.add(
                    f"no recorded runs with label '{label}' (labels in runs.jsonl: {', '.join(labels) or 'none'})",
                    key,
                )

    def _user_simulators(self) -> list[tuple[UserSimulatorSpec, KeyPath]]:
        out: list[tuple[UserSimulatorSpec, KeyPath]] = []
        if self.suite.user_simulator is not None:
            out.append((self.suite.user_simulator, ("user_simulator",)))
        out += [(c.user_simulator, ("candidates", i, "user_simulator"))
                for i, c in enumerate(self.suite.candidates) if c.user_simulator is not None]
        return out

    def users(self, files: DatasetFiles) -> None:
        """Cases with a ``user`` need a simulator; a replayed user needs recordings to replay."""
        with_user = [(c, line) for c, line in zip(files.dataset.cases, files.case_lines, strict=False)
                     if c.user is not None]
        unplayed = [c.name for c in self.suite.candidates if self.suite.user_simulator_for(c) is None]
        if with_user and unplayed:
            case, line = with_user[0]
            more = f" (and {len(with_user) - 1} more case(s))" if len(with_user) > 1 else ""
            self.problems.append(Problem(
                f"case '{case.id}' has 'user'{more}, but no user_simulator is configured for "
                f"{', '.join(repr(n) for n in unplayed)}: add `user_simulator: {{model: replay}}` "
                "(or a litellm model) to the suite", files.cases_path, line, "user"))
        labels = files.dataset.labels
        for i, c in enumerate(self.suite.candidates):
            spec = self.suite.user_simulator_for(c)
            if spec is None or spec.model != "replay" or c.is_replay:
                continue
            key: KeyPath = ("candidates", i, "user_simulator") if c.user_simulator else ("user_simulator",)
            if spec.label is None:
                self.add(f"candidate '{c.name}' is a model: user_simulator model 'replay' needs 'label' "
                         "(whose recorded user turns to send)", key)
            elif spec.label not in labels:
                self.add(f"no recorded runs with label '{spec.label}' to replay the user from "
                         f"(labels in runs.jsonl: {', '.join(labels) or 'none'})", (*key, "label"))

    def tools(self, files: DatasetFiles) -> None:
        catalog = files.dataset.tools
        policy = self.suite.policy
        named: list[tuple[str, KeyPath]] = []
        named += [(t, ("policy", "allow_tools", i)) for i, t in enumerate(policy.allow_tools or [])]
        named += [
            (r.tool, ("policy", "require_approval", i, "tool")) for i, r in enumerate(policy.require_approval)
        ]
        named += [(r.tool, ("policy", "forbid", i, "tool")) for i, r in enumerate(policy.forbid)]
        escalation = self.suite.agent.escalation_tool
        if escalation is not None:
            named.append((escalation, ("agent", "escalation_tool")))
        for name, key in named:
            if catalog.get(name) is None:
                self.add(unknown_tool(name, catalog), key)
        if escalation is not None and policy.allow_tools is not None and escalation not in policy.allow_tools:
            self.add(
                f"the escalation tool '{escalation}' is not in policy.allow_tools, so the agent cannot hand off",
                ("agent", "escalation_tool"),
                severity="warning",
            )

    def cedar(self, files: DatasetFiles) -> None:
        """``policy.cedar``: the policies parse (file and line), and name only actions a tool has."""
        cedar = self.suite.policy.cedar
        if cedar is None:
            return
        from agentctl.config.cedar import check_cedar

        tools = [*files.dataset.tools.names, *([e] if (e := self.suite.agent.escalation_tool) else [])]
        try:
            problems, _ = check_cedar(cedar, self.suite.base_dir, tools)
        except InputError as exc:  # cedarpy missing: say what to install
            self.add(exc.message, ("policy", "cedar"))
            return
        for p in problems:
            if p.path is None:
                key = tuple(["policy", "cedar", *(p.key or "").split(".")[2:]])
                self.add(p.message, key)
            else:
                self.problems.append(p)
