"""``suite validate`` for stateful datasets: the environment imports, its class has the
methods, ``state.json`` is JSON, every case's ``initial_state`` applies, ``expected.state``
paths exist in the initial snapshot, and ``from_actions`` cases' expected actions run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentctl.core.matchers import matcher_problems
from agentctl.environments.state import path_problem

if TYPE_CHECKING:
    from agentctl.config.models import Suite
    from agentctl.core.errors import Problem
    from agentctl.datasets.loader import DatasetFiles


def check_environment(suite: Suite, files: DatasetFiles, problems: list[Problem], suite_line: int | None) -> None:
    """Append every problem of the dataset's environment (none when it has none and needs none)."""
    from agentctl.core.errors import Problem
    from agentctl.environments import EnvironmentLoadError, environment_source, load_environment

    dataset = files.dataset
    cases_path = files.cases_path
    source = environment_source(suite, dataset)
    if source is None:
        for case, line in zip(dataset.cases, files.case_lines, strict=False):
            for field, used in (("expected.state", case.expected.state is not None),
                                ("initial_state", case.initial_state is not None)):
                if used:
                    problems.append(Problem(
                        f"{field} needs an environment: add environment.py beside tools.yaml "
                        "(or 'environment:' in the suite)", cases_path, line, field))
        return
    try:
        factory = load_environment(suite, dataset)
    except EnvironmentLoadError as exc:
        p = exc.problem
        if p.path is None and source.key is not None:
            problems.append(Problem(p.message, suite.source, suite_line, source.key))
        else:
            problems.append(p)
        return
    if factory is None:  # pragma: no cover - source was found, so a factory was built
        return
    escalation = suite.agent.escalation_tool
    for case, line in zip(dataset.cases, files.case_lines, strict=False):
        try:
            run = factory.start(case)
        except Exception as exc:
            where = "initial_state" if case.initial_state else None
            problems.append(Problem(f"Environment(case, state) raised {type(exc).__name__}: {exc}",
                                    cases_path, line, where))
            continue
        if isinstance(case.expected.state, dict):
            for path, want in case.expected.state.items():
                for bad in matcher_problems(want):
                    problems.append(Problem(bad, cases_path, line, f"expected.state.{path}"))
                why = path_problem(run.initial_snapshot, path)
                if why is not None:
                    problems.append(Problem(f"path not in the initial state: {why}", cases_path, line,
                                            f"expected.state.{path}"))
        elif case.expected.state == "from_actions":
            _, why = factory.expected_state(case, escalation)
            if why is not None:
                problems.append(Problem(f"from_actions: {why}", cases_path, line, "expected.state"))

