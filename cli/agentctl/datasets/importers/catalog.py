"""Tool catalogs for imported datasets: reading tools.yaml, and inferring one from recorded calls."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from agentctl.core.errors import InputError, Problem, ValidationFailed
from agentctl.datasets.models import Tool, ToolCatalog

READ_NAME = re.compile(
    r"^(get|list|search|find|lookup|look_up|fetch|read|query|describe|check|view|retrieve|show|count|load|"
    r"browse|inspect|preview|estimate|calculate|compute|validate|verify)(_|[A-Z]|$)"
)
"""Tool names that say they only read; every other tool is assumed to write (the safe side)."""
ESCALATION_NAME = re.compile(r"escalat|hand_?off|transfer_to_(human|agent|person)|human_handoff", re.I)
"""Tool names that look like a hand-off to a person (drafted as ``expected.status: escalated``)."""


def tool_effect(name: str, read_patterns: list[str]) -> str:
    """``read`` when a ``--read-tools`` glob or the name itself says so, else ``write``."""
    if any(fnmatch.fnmatchcase(name, p) for p in read_patterns):
        return "read"
    return "read" if READ_NAME.match(name) else "write"


def is_escalation(name: str) -> bool:
    return bool(ESCALATION_NAME.search(name))


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def infer_schema(values: list[Any]) -> dict[str, Any]:
    """The narrowest JSON Schema the observed values fit (integers and numbers merge to number)."""
    types = sorted({_json_type(v) for v in values})
    if "integer" in types and "number" in types:
        types.remove("integer")
    schema: dict[str, Any] = {"type": types[0] if len(types) == 1 else types}
    if "object" in types:
        objs = [v for v in values if isinstance(v, dict)]
        schema.update(object_schema(objs))
    if "array" in types:
        items = [i for v in values if isinstance(v, list) for i in v]
        if items:
            schema["items"] = infer_schema(items)
    return schema


def object_schema(objects: list[dict[str, Any]]) -> dict[str, Any]:
    """Properties seen in any of the objects; ``required`` lists those present in all of them."""
    keys: list[str] = []
    for obj in objects:
        keys.extend(k for k in obj if k not in keys)
    props = {k: infer_schema([o[k] for o in objects if k in o]) for k in keys}
    required = [k for k in keys if all(k in o for o in objects)]
    out: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        out["required"] = required
    return out


def infer_catalog(
    calls: dict[str, list[dict[str, Any]]], definitions: dict[str, dict[str, Any]], read_patterns: list[str]
) -> ToolCatalog:
    """A catalog for the tools called: recorded definitions when the trace had them, else inferred schemas."""
    tools: list[Tool] = []
    for name in sorted(set(calls) | set(definitions)):
        seen = calls.get(name, [])
        definition = definitions.get(name)
        if definition is not None:
            description = definition.get("description") or ""
            parameters = definition.get("parameters") or {"type": "object", "properties": {}}
        else:
            description = f"Inferred from {len(seen)} recorded call{'s' if len(seen) != 1 else ''}; review."
            parameters = object_schema(seen)
        tools.append(Tool(name=name, description=description, effect=tool_effect(name, read_patterns),  # type: ignore[arg-type]
                          parameters=parameters))
    return ToolCatalog(tools=tools)


def dump_catalog(catalog: ToolCatalog, header: str) -> str:
    body = [t.model_dump(exclude_defaults=False, exclude={"cost_usd"} if not t.cost_usd else set())
            for t in catalog.tools]
    comment = "".join(f"# {line}\n" for line in header.splitlines())
    return comment + yaml.safe_dump(body, sort_keys=False, allow_unicode=True)


def load_catalog(path: Path) -> ToolCatalog:
    """A tools.yaml (agentctl form or plain OpenAI ``{type: function, function: {...}}``), validated."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(f"not valid YAML: {getattr(exc, 'problem', exc)}", path,
                         mark.line + 1 if mark is not None else None) from exc
    if data is None:
        return ToolCatalog()
    if isinstance(data, dict) and isinstance(data.get("tools"), list):
        data = data["tools"]
    if not isinstance(data, list):
        raise InputError("expected a list of tools", path, 1)
    tools: list[Tool] = []
    problems: list[Problem] = []
    for i, item in enumerate(data):
        if isinstance(item, dict) and isinstance(item.get("function"), dict):
            fn = item["function"]
            item = {"name": fn.get("name"), "description": fn.get("description") or "",
                    "parameters": fn.get("parameters") or {"type": "object", "properties": {}}}
        try:
            tools.append(Tool.model_validate(item))
        except ValidationError as exc:
            for err in exc.errors():
                loc = ".".join(str(p) for p in err["loc"])
                problems.append(Problem(err["msg"], path, None, f"[{i}]{'.' + loc if loc else ''}"))
    if problems:
        raise ValidationFailed(problems)
    return ToolCatalog(tools=tools)
