"""Checks across the files of a dataset: ids, tool names, matchers, tool schemas.

Each finding is a :class:`Problem` naming the file, the line and the key path. Recordings
are real data, so oddities in them (arguments that are not JSON, tools the catalog lacks)
are warnings; mistakes in what people wrote (cases, catalog) are errors.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any

from agentctl.core.errors import Problem
from agentctl.core.normalize import MATCHER_OPERATORS, is_matcher
from agentctl.core.yamlpos import KeyPath, key_path
from agentctl.datasets.loader import DatasetFiles, read_dataset
from agentctl.datasets.models import ToolCatalog
from agentctl.datasets.run_checks import check_run


def validate_dataset_dir(path: Path) -> list[Problem]:
    """Every problem of a dataset folder: reading errors and cross-checks (``dataset validate``)."""
    return validate_dataset(path)[0]


def validate_dataset(path: Path) -> tuple[list[Problem], list[str]]:
    """Every problem of a dataset folder, and notes on defaults that decide verdicts."""
    problems: list[Problem] = []
    files = read_dataset(Path(path), problems)
    check_dataset(files, problems)
    return problems, files.notes()


def check_dataset(files: DatasetFiles, problems: list[Problem]) -> None:
    """Cross-checks of a dataset that has been read; problems are appended."""
    _check_case_ids(files, problems)
    _check_runs(files, problems)
    for case, line in zip(files.dataset.cases, files.case_lines, strict=True):
        expected = case.expected
        for i, action in enumerate(expected.actions):
            _check_matchers(action.args, ("expected", "actions", i, "args"), files, line, problems)
        for i, call in enumerate(expected.forbidden):
            _check_matchers(call.args, ("expected", "forbidden", i, "args"), files, line, problems)
    if files.tools_ok:
        _check_case_tools(files, problems)
    _check_tool_schemas(files, problems)
    if files.tools_ok:
        _check_action_args(files, problems)


def unknown_tool(name: str, catalog: ToolCatalog) -> str:
    """Message for a tool name missing from the catalog, with a suggestion."""
    close = difflib.get_close_matches(name, catalog.names, n=1)
    if close:
        return f"unknown tool '{name}' (did you mean '{close[0]}'?)"
    known = ", ".join(catalog.names) or "none"
    return f"unknown tool '{name}' (tools in tools.yaml: {known})"


def _check_case_ids(files: DatasetFiles, problems: list[Problem]) -> None:
    first: dict[str, int] = {}
    for case, line in zip(files.dataset.cases, files.case_lines, strict=True):
        if case.id in first:
            problems.append(
                Problem(
                    f"duplicate case id '{case.id}' (also on line {first[case.id]})",
                    files.cases_path,
                    line,
                    "id",
                )
            )
        else:
            first[case.id] = line


def _check_runs(files: DatasetFiles, problems: list[Problem]) -> None:
    if files.run_problems is not None:  # checked while runs.jsonl was read
        problems += files.run_problems
        return
    case_ids = {c.id for c in files.dataset.cases}
    catalog = files.dataset.tools if files.tools_ok else None
    for run in files.dataset.runs:
        problems += check_run(run.case_id, run.messages, files.runs_path, run.line, case_ids, catalog)


def _check_case_tools(files: DatasetFiles, problems: list[Problem]) -> None:
    catalog = files.dataset.tools
    path = files.cases_path
    for case, line in zip(files.dataset.cases, files.case_lines, strict=True):
        named: list[tuple[str, KeyPath, bool]] = []
        named += [
            (a.tool, ("expected", "actions", i, "tool"), True) for i, a in enumerate(case.expected.actions)
        ]
        named += [
            (f.tool, ("expected", "forbidden", i, "tool"), False)
            for i, f in enumerate(case.expected.forbidden)
        ]
        named += [(f.tool, ("fixtures", i, "tool"), False) for i, f in enumerate(case.fixtures)]
        for name, key, must_write in named:
            tool = catalog.get(name)
            if tool is None:
                problems.append(Problem(unknown_tool(name, catalog), path, line, key_path(key)))
            elif must_write and tool.effect == "read":
                message = f"expected actions are write actions; '{name}' is a read tool"
                problems.append(Problem(message, path, line, key_path(key)))


def _check_matchers(
    value: Any, key: KeyPath, files: DatasetFiles, line: int, problems: list[Problem]
) -> None:
    """Unknown matcher operators and badly shaped matchers, at any depth."""
    if isinstance(value, list):
        for i, item in enumerate(value):
            _check_matchers(item, (*key, i), files, line, problems)
        return
    if not isinstance(value, dict):
        return
    if not (len(value) == 1 and str(next(iter(value))).startswith("$")):
        for k, v in value.items():
            _check_matchers(v, (*key, k), files, line, problems)
        return
    op, arg = next(iter(value.items()))
    here = (*key, op)

    def bad(message: str) -> None:
        problems.append(Problem(message, files.cases_path, line, key_path(here)))

    if op not in MATCHER_OPERATORS:
        close = difflib.get_close_matches(op, MATCHER_OPERATORS, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"matchers: {', '.join(MATCHER_OPERATORS)}"
        bad(f"unknown matcher '{op}' ({hint})")
    elif op == "$approx":
        if not (
            isinstance(arg, list)
            and len(arg) == 2
            and all(isinstance(x, int | float) and not isinstance(x, bool) for x in arg)
            and arg[1] >= 0
        ):
            bad(f"'$approx' needs [value, tolerance] (two numbers, tolerance >= 0), got {_show(arg)}")
    elif op == "$any":
        if arg is not True:
            bad(f"'$any' takes true, got {_show(arg)}")
    elif op == "$in":
        if not isinstance(arg, list) or not arg:
            bad(f"'$in' needs a non-empty list of alternatives, got {_show(arg)}")
        else:
            _check_matchers(arg, here, files, line, problems)
    elif op == "$regex":
        if not isinstance(arg, str):
            bad(f"'$regex' needs a regular expression string, got {_show(arg)}")
        else:
            try:
                re.compile(arg)
            except re.error as exc:
                bad(f"'$regex' is not a valid regular expression: {exc}")
    elif op == "$text":
        if not isinstance(arg, str):
            bad(f"'$text' needs a string, got {_show(arg)}")
    elif op in ("$contains", "$optional"):
        # $contains: a substring of a string, or an element (value or matcher) of a list.
        _check_matchers(arg, here, files, line, problems)


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return repr(value)


def _literal(value: Any) -> tuple[bool, Any]:
    """``(True, value)`` when ``value`` holds no matcher at any depth, else ``(False, None)``;
    objects keep their literal keys (keys whose value is or holds a matcher are left out)."""
    if is_matcher(value):
        return False, None
    if isinstance(value, list):
        items = [_literal(v) for v in value]
        return (True, [v for _, v in items]) if all(ok for ok, _ in items) else (False, None)
    if isinstance(value, dict):
        return True, {k: v for k, (ok, v) in ((k, _literal(v)) for k, v in value.items()) if ok}
    return True, value


def _check_action_args(files: DatasetFiles, problems: list[Problem]) -> None:
    """Expected actions whose literal arguments break the tool's own JSON Schema: no correct
    model could make that call, so the case would score every right answer as wrong."""
    import jsonschema

    catalog = files.dataset.tools
    validators: dict[str, Any] = {}
    for case, line in zip(files.dataset.cases, files.case_lines, strict=True):
        for i, action in enumerate(case.expected.actions):
            tool = catalog.get(action.tool)
            if tool is None or action.args is None:
                continue
            if tool.name not in validators:
                try:
                    cls = jsonschema.validators.validator_for(tool.parameters)
                    cls.check_schema(tool.parameters)
                    validators[tool.name] = cls(tool.parameters)
                except jsonschema.exceptions.SchemaError:
                    validators[tool.name] = None  # reported by _check_tool_schemas
            validator = validators[tool.name]
            if validator is None:
                continue
            _, literal = _literal(action.args)
            for err in validator.iter_errors(literal):
                if err.validator == "required":
                    continue  # keys left out (matchers, $optional) are not the case's mistake
                key: KeyPath = ("expected", "actions", i, "args", *err.absolute_path)
                message = f"'{tool.name}' cannot be called with these arguments (its schema says: {err.message})"
                problems.append(Problem(message, files.cases_path, line, key_path(key)))


def _remote_ref(schema: Any) -> str | None:
    """The first ``$ref`` (or ``$dynamicRef``) that does not point inside the schema, if any."""
    stack = [schema]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for k, v in item.items():
                if k in ("$ref", "$dynamicRef", "$recursiveRef") and isinstance(v, str) and not v.startswith("#"):
                    return v
                stack.append(v)
        elif isinstance(item, list):
            stack.extend(item)
    return None


def _check_tool_schemas(files: DatasetFiles, problems: list[Problem]) -> None:
    # jsonschema takes a moment to import; only this check needs it
    from jsonschema import Draft202012Validator, SchemaError

    doc = files.tools_doc
    if doc is None:
        return
    for tool, tool_key in zip(files.dataset.tools.tools, files.tool_keys, strict=True):
        key: KeyPath = (*tool_key, "parameters")
        try:
            Draft202012Validator.check_schema(tool.parameters)
        except SchemaError as exc:
            where = (*key, *exc.path)
            message = f"tool '{tool.name}': parameters are not a valid JSON Schema: {exc.message}"
            problems.append(Problem(message, doc.path, doc.line_of(where), key_path(where)))
            continue
        remote = _remote_ref(tool.parameters)
        if remote is not None:
            message = (f"tool '{tool.name}': parameters refer to {remote!r}: only local references (#/...) are "
                       "allowed (agentctl never fetches schemas)")
            problems.append(Problem(message, doc.path, doc.line_of(key), key_path(key)))
            continue
        if tool.parameters.get("type") != "object":
            message = f"tool '{tool.name}': parameters should be a JSON Schema with type: object (providers expect one)"
            problems.append(Problem(message, doc.path, doc.line_of(key), key_path(key), severity="warning"))
