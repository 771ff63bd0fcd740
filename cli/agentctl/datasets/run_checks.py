"""Checks of one recorded run: its case exists, its tool calls name a function with JSON
arguments and a tool of the catalog. Made while runs.jsonl is read (the dataset keeps no
parsed messages) and by :func:`agentctl.datasets.validate.check_dataset` for runs built in Python.

Recordings are real data, so oddities in their calls are warnings.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection
from pathlib import Path
from typing import Any

from agentctl.core.errors import Problem
from agentctl.core.normalize import parse_arguments
from agentctl.core.yamlpos import KeyPath, key_path
from agentctl.datasets.models import ToolCatalog


def check_run(
    case_id: str,
    messages: list[dict[str, Any]],
    path: Path,
    line: int | None,
    case_ids: Collection[str],
    catalog: ToolCatalog | None,
) -> list[Problem]:
    """Problems of one recording; ``catalog`` None when tools.yaml had errors (names are not checked)."""
    problems: list[Problem] = []
    if case_ids and case_id not in case_ids:
        close = difflib.get_close_matches(case_id, list(case_ids), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        problems.append(Problem(f"unknown case '{case_id}'{hint}", path, line, "case_id"))
    for m, message in enumerate(messages):
        calls = message.get("tool_calls") or []
        if not isinstance(calls, list):
            problems.append(_warn("tool_calls is not a list", path, line, ("messages", m, "tool_calls")))
            continue
        for c, call in enumerate(calls):
            key: KeyPath = ("messages", m, "tool_calls", c, "function")
            fn = call.get("function") if isinstance(call, dict) else None
            if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
                problems.append(_warn("tool call without a function name", path, line, key))
                continue
            _, error = parse_arguments(fn.get("arguments"))
            if error is not None:
                problems.append(_warn(error, path, line, (*key, "arguments")))
            if catalog is not None and catalog.get(fn["name"]) is None:
                message_ = f"recorded call of '{fn['name']}', which is not in tools.yaml"
                problems.append(_warn(message_, path, line, (*key, "name")))
    return problems


def _warn(message: str, path: Path, line: int | None, key: KeyPath) -> Problem:
    return Problem(message, path, line, key_path(key), severity="warning")
