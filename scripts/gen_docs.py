"""Regenerate the parts of the users' reference that come from the code (``make docs``).

    .venv/bin/python scripts/gen_docs.py           # rewrite what is stale
    .venv/bin/python scripts/gen_docs.py --check   # list what is stale, exit 1 if anything is

Generated parts of a Markdown file sit between ``<!-- BEGIN GENERATED <what> -->`` and
``<!-- END GENERATED <what> -->``; everything else in the file is written by hand. ``<what>``:

- ``fields <module>:<Model>``  table of a pydantic model's fields (key, type, default, docstring)
- ``store <table>``            columns of a results-store table, from ``store/schema.py``
- ``help <command...>``        ``--help`` of a command (``help`` alone: of ``agentctl``)
- ``commands``                 the one-line synopsis of every command (README)
- ``cli``                      every command's ``--help`` under its own heading
- ``list <module>:<NAME>``     the values of a tuple constant, as a bullet list

``docs/schema/*.schema.json`` are the JSON Schemas of suites, cases and tool catalogs, from the
same models. tests/test_docs.py regenerates everything in memory and fails when a file differs.
"""

from __future__ import annotations

import importlib
import json
import re
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SCHEMA_DIR = DOCS / "schema"
HELP_WIDTH = 100
REGION = re.compile(r"(<!-- BEGIN GENERATED (?P<what>[^>]+?) -->\n)(?P<body>.*?)(<!-- END GENERATED (?P=what) -->)", re.S)


def _md(text: str) -> str:
    """Docstring text as one Markdown table cell."""
    return " ".join(text.replace("``", "`").split()).replace("|", "\\|")


# --- pydantic models --------------------------------------------------------------------------


def _type(tp: Any) -> str:
    from pydantic import BaseModel

    origin, args = get_origin(tp), get_args(tp)
    if tp is type(None):
        return "null"
    if tp is Any:
        return "any"
    if origin in (Union, types.UnionType):
        return " or ".join(_type(a) for a in args)
    if origin is Literal:
        return " or ".join(f"`{json.dumps(a)}`" for a in args)
    if origin is list:
        return f"list of {_type(args[0])}"
    if origin is dict:
        return f"mapping of {_type(args[0])} to {_type(args[1])}"
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return tp.__name__
    return {str: "string", int: "integer", float: "number", bool: "boolean", Path: "path"}.get(tp, str(tp))


def _default(field: Any) -> str:
    from pydantic import BaseModel

    if field.is_required():
        return "required"
    value = field.default_factory() if field.default_factory is not None else field.default
    if isinstance(value, BaseModel):
        return "(defaults)"
    return f"`{json.dumps(value, default=str)}`"


def _model(ref: str) -> Any:
    module, name = ref.split(":")
    return getattr(importlib.import_module(module), name)


def fields_table(ref: str) -> str:
    model = _model(ref)
    rows = ["| key | type | default | meaning |", "|---|---|---|---|"]
    for name, field in model.model_fields.items():
        if field.exclude:
            continue
        key = field.alias or name
        rows.append(f"| `{key}` | {_type(field.annotation)} | {_default(field)} | {_md(field.description or '')} |")
    return "\n".join(rows) + "\n"


# --- results store --------------------------------------------------------------------------------

_COLUMN = re.compile(r"^\s*(?P<name>[a-z_]+) (?P<type>[A-Z]+(?:\[\])?)(?P<rest>[^-]*?),?\s*(?:--\s*(?P<doc>.*))?$")


def store_columns(table: str) -> list[tuple[str, str, bool, str]]:
    """(column, SQL type, not null, comment) of a table, in order, added columns last."""
    from agentctl.store.schema import ADDED_COLUMNS, TABLES

    out = []
    for line in TABLES[table].splitlines()[1:]:
        m = _COLUMN.match(line)
        if m and m["name"] not in ("primary",):
            out.append((m["name"], m["type"], "NOT NULL" in m["rest"], m["doc"] or ""))
    known = {c[0] for c in out}
    out += [(col, sql, False, "") for t, col, sql in ADDED_COLUMNS if t == table and col not in known]
    return out


def store_table(table: str) -> str:
    from agentctl.store.schema import TABLES

    m = re.search(r"PRIMARY KEY \(([^)]*)\)", TABLES[table])
    rows = []
    if m:
        rows.append(f"Primary key: {', '.join(f'`{c.strip()}`' for c in m[1].split(','))}.\n")
    rows += ["| column | type | meaning |", "|---|---|---|"]
    for name, sql, not_null, doc in store_columns(table):
        rows.append(f"| `{name}` | {sql}{' NOT NULL' if not_null else ''} | {_md(doc)} |")
    return "\n".join(rows) + "\n"


# --- command line ---------------------------------------------------------------------------------


def _cli() -> Any:
    import typer.main

    from agentctl.main import app

    return typer.main.get_command(app)


def commands() -> list[tuple[list[str], Any]]:
    """Every command of ``agentctl`` (groups too), depth first, as (path, command)."""
    out: list[tuple[list[str], Any]] = []

    def walk(cmd: Any, path: list[str]) -> None:
        out.append((path, cmd))
        for name, sub in (getattr(cmd, "commands", None) or {}).items():
            walk(sub, [*path, name])

    walk(_cli(), [])
    return out


def help_text(path: list[str]) -> str:
    from typer.testing import CliRunner

    from agentctl.main import app

    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": str(HELP_WIDTH), "TERM": "dumb"},
                                prog_name="agentctl")
    if result.exit_code != 0:
        raise RuntimeError(f"agentctl {' '.join(path)} --help exited {result.exit_code}: {result.output}")
    return "\n".join(line.rstrip() for line in result.output.strip("\n").splitlines()) + "\n"


def help_block(what: str) -> str:
    return "```text\n$ agentctl " + " ".join([*what.split(), "--help"]) + "\n" + help_text(what.split()) + "```\n"


def cli_reference(_: str = "") -> str:
    """Every command's ``--help``, each under its own heading."""
    parts = []
    for path, _cmd in commands():
        parts.append(f"## `{' '.join(['agentctl', *path])}`\n\n" + help_block(" ".join(path)))
    return "\n".join(parts)


def _synopsis(path: list[str], cmd: Any) -> str:
    parts = ["agentctl", *path]
    for p in cmd.params:
        if p.name in ("help",) or getattr(p, "hidden", False):
            continue
        if not p.opts[0].startswith("-"):
            name = p.name.upper() + ("..." if p.nargs == -1 else "")
            parts.append(name if p.required else f"[{name}]")
            continue
        opt = max(p.opts, key=len)
        if p.is_flag:
            parts.append(f"[{opt}]")
        else:
            meta = p.metavar or p.name.upper()
            parts.append(f"[{opt} {meta}]" + ("..." if p.multiple else ""))
    return " ".join(parts)


def commands_block(_: str = "") -> str:
    lines = []
    for path, cmd in commands():
        if path and not getattr(cmd, "commands", None):
            synopsis, width = _synopsis(path, cmd), 96
            indent = " " * (len("agentctl ") + len(" ".join(path)) + 1)
            line = ""
            for word in re.findall(r"\[[^\]]*\](?:\.\.\.)?|\S+", synopsis):
                if line and len(line) + 1 + len(word) > width:
                    lines.append(line)
                    line = indent + word
                else:
                    line = f"{line} {word}" if line else word
            lines.append(line)
    return "```\n" + "\n".join(lines) + "\n```\n"


def value_list(ref: str) -> str:
    return "".join(f"- `{v}`\n" for v in _model(ref))


# --- JSON Schemas ---------------------------------------------------------------------------------


def _clean(node: Any) -> Any:
    """Descriptions in Markdown quoting (``x`` -> `x`), as editors show them."""
    if isinstance(node, dict):
        return {k: (_md(v).replace("\\|", "|") if k == "description" and isinstance(v, str) else _clean(v))
                for k, v in node.items()}
    if isinstance(node, list):
        return [_clean(v) for v in node]
    return node


def _tools_schema() -> dict[str, Any]:
    from pydantic import TypeAdapter

    from agentctl.datasets.loader import _OPENAI_FUNCTION_KEYS, _OPENAI_TOP_KEYS
    from agentctl.datasets.models import Tool

    tool = TypeAdapter(Tool).json_schema()
    props = tool["properties"]
    function = {"type": "object", "additionalProperties": False, "required": ["name"],
                "properties": {k: props.get(k, {"type": "boolean"}) for k in _OPENAI_FUNCTION_KEYS}}
    top = {k: props[k] for k in _OPENAI_TOP_KEYS if k in props}
    openai_form = {
        "title": "OpenAIFunctionTool", "type": "object", "additionalProperties": False, "required": ["function"],
        "description": "The plain OpenAI form; `effect` defaults to `write`.",
        "properties": {"type": {"const": "function"}, "function": function, **top},
    }
    items = {"anyOf": [{"$ref": "#/$defs/Tool"}, {"$ref": "#/$defs/OpenAIFunctionTool"}]}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "agentctl tool catalog (tools.yaml)",
        "description": "A list of tools, or {tools: [...]}.",
        "anyOf": [{"type": "array", "items": items},
                  {"type": "object", "additionalProperties": False, "required": ["tools"],
                   "properties": {"tools": {"type": "array", "items": items}}},
                  {"type": "null"}],
        "$defs": {"Tool": tool, "OpenAIFunctionTool": openai_form},
    }


def schemas() -> dict[str, dict[str, Any]]:
    from agentctl.config.models import Suite
    from agentctl.datasets.models import Case

    suite = {"$schema": "https://json-schema.org/draft/2020-12/schema", **Suite.model_json_schema()}
    suite["title"] = "agentctl suite (evalsuites/*.yaml)"
    case = {"$schema": "https://json-schema.org/draft/2020-12/schema", **Case.model_json_schema()}
    case["title"] = "agentctl golden case (one line of cases.jsonl)"
    return {"suite": _clean(suite), "case": _clean(case), "tools": _clean(_tools_schema())}


# --- the files ------------------------------------------------------------------------------------

GENERATORS: dict[str, Callable[[str], str]] = {
    "fields": fields_table, "store": store_table, "help": help_block, "commands": commands_block, "list": value_list,
    "cli": cli_reference,
}


def render_regions(text: str, name: str = "?") -> str:
    def replace(m: re.Match[str]) -> str:
        kind, _, arg = m["what"].strip().partition(" ")
        if kind not in GENERATORS:
            raise ValueError(f"{name}: unknown generated region '{m['what']}'")
        return m.group(1) + GENERATORS[kind](arg.strip()) + m.group(4)

    return REGION.sub(replace, text)


def outputs() -> dict[Path, str]:
    """Every generated file's expected text, by path."""
    out: dict[Path, str] = {}
    for path in [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]:
        text = path.read_text(encoding="utf-8")
        out[path] = render_regions(text, str(path.relative_to(ROOT)))
    for name, schema in schemas().items():
        out[SCHEMA_DIR / f"{name}.schema.json"] = json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
    return out


def stale() -> list[Path]:
    return [p for p, text in outputs().items() if not p.is_file() or p.read_text(encoding="utf-8") != text]


def main(argv: list[str]) -> int:
    if "--check" in argv:
        old = stale()
        for p in old:
            print(f"stale: {p.relative_to(ROOT)}")
        return 1 if old else 0
    for path, text in outputs().items():
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "cli"))
    sys.exit(main(sys.argv[1:]))
