"""YAML with line numbers, and pydantic errors turned into problems a person can act on.

Loading keeps the line of every mapping key and sequence item, keyed by its key path
(``("gates", 2, "min")``), so a pydantic error's ``loc`` can be mapped back to the line
it is about. The same translation serves JSONL files, where every key of a record is on
the record's line.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from agentctl.core.errors import Problem

KeyPath = tuple[str | int, ...]

# The C parser composes about ten times faster; construction stays in Python either way.
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE_TAG = "tag:yaml.org,2002:merge"
_PLAIN_KEY = re.compile(r"^[A-Za-z_$][\w$-]*$")
MAX_NODES = 200_000
"""Nodes a YAML file may expand to, aliases followed: a small alias bomb must not take minutes and gigabytes."""
MAX_DEPTH = 100
"""Deepest nesting of mappings and lists accepted (suites and tool schemas stay far below)."""
MAX_INT_DIGITS = 4300
"""Python's own limit for converting digits to an int."""


class _TooBig(Exception):
    """The walk stopped: the problem is already recorded."""


@dataclass
class YamlDocument:
    """A parsed YAML file and the line (1-based) of every key and item in it."""

    path: Path
    data: Any
    lines: dict[KeyPath, int] = field(default_factory=dict)

    def line_of(self, key: Sequence[str | int]) -> int:
        """Line of the node at ``key``, or of its nearest ancestor that exists."""
        path = tuple(key)
        while path:
            line = self.lines.get(path)
            if line is not None:
                return line
            path = path[:-1]
        return self.lines.get((), 1)


def key_path(key: Sequence[str | int]) -> str:
    """``("gates", 2, "min")`` -> ``gates[2].min``; odd keys are quoted: ``pricing["a/b"]``."""
    out = ""
    for part in key:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        elif _PLAIN_KEY.match(str(part)):
            out += f".{part}" if out else str(part)
        else:
            out += '["' + str(part).replace('"', '\\"') + '"]'
    return out


def parse_yaml(text: str, path: Path, problems: list[Problem]) -> YamlDocument | None:
    """Parse YAML text; malformed YAML and duplicate keys are appended to ``problems``.

    Returns None when the text cannot be parsed at all. With duplicate keys the document
    is still returned (the last value wins) so that later checks can run.
    """
    loader = _Loader(text)
    try:
        try:
            node = loader.get_single_node()
            doc = YamlDocument(path, None, {(): 1})
            if node is None:
                return doc
            doc.lines[()] = node.start_mark.line + 1
            before = len(problems)
            try:
                _walk(loader, node, (), doc, problems, set(), [MAX_NODES])
            except _TooBig:
                return None
            if any(p.severity == "error" and "alias" in p.message for p in problems[before:]):
                return None  # a cycle: constructing it would give a self-containing value
            doc.data = loader.construct_document(node)
            return doc
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        problems.append(_yaml_problem(exc, path))
        return None
    except (ValueError, RecursionError) as exc:  # what construction may still refuse
        problems.append(Problem(f"invalid YAML: {exc}".split(";")[0], path))
        return None


def read_yaml(path: Path, problems: list[Problem]) -> YamlDocument | None:
    """Read and parse a YAML file (see :func:`parse_yaml`); an unreadable file is a problem."""
    try:
        if path.exists() and not path.is_file():
            problems.append(Problem("not a regular file (a FIFO, device or folder cannot be read as YAML)", path))
            return None
        data = path.read_bytes()
    except FileNotFoundError:
        problems.append(Problem("file not found", path))
        return None
    except OSError as exc:
        problems.append(Problem(f"cannot read file: {exc.strerror or exc}", path))
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        problems.append(Problem(f"not UTF-8 text (byte {exc.start + 1})", path, line))
        return None
    return parse_yaml(text, path, problems)


def _yaml_problem(exc: yaml.YAMLError, path: Path) -> Problem:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    what = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    detail = f"{context}, " if context else ""
    if mark is None:
        return Problem(f"invalid YAML: {what}", path)
    return Problem(f"invalid YAML: {what} ({detail}column {mark.column + 1})", path, mark.line + 1)


def _walk(
    loader: yaml.SafeLoader,
    node: yaml.Node,
    path: KeyPath,
    doc: YamlDocument,
    problems: list[Problem],
    active: set[int],
    budget: list[int] | None = None,
) -> None:
    # Bounded: every visit (aliases followed) spends one node of the budget, and nesting is
    # capped, so neither an alias bomb nor 5,000 nested lists can exhaust time, memory or stack.
    if budget is not None:
        budget[0] -= 1
        if budget[0] < 0:
            problems.append(Problem(f"YAML expands to more than {MAX_NODES:,} nodes when its aliases are followed "
                                    "(an alias bomb?)", doc.path, node.start_mark.line + 1, key_path(path) or None))
            raise _TooBig
        if len(path) > MAX_DEPTH:
            problems.append(Problem(f"nested more than {MAX_DEPTH} levels deep", doc.path,
                                    node.start_mark.line + 1, key_path(path) or None))
            raise _TooBig
    if id(node) in active:
        # An alias that points at one of its own ancestors: the value would contain itself.
        problems.append(Problem("an alias refers to itself (a value that contains itself is not allowed)",
                                doc.path, node.start_mark.line + 1, key_path(path) or None))
        return
    if isinstance(node, yaml.ScalarNode):
        if node.tag.endswith(":int") and len(node.value) > MAX_INT_DIGITS:
            problems.append(Problem(f"an integer of more than {MAX_INT_DIGITS} digits", doc.path,
                                    node.start_mark.line + 1, key_path(path) or None))
            raise _TooBig
        return
    active.add(id(node))
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                continue  # merged keys take the line of the mapping that merges them
            if not isinstance(key_node, yaml.ScalarNode):
                continue  # complex keys: construction reports them if they are unhashable
            key = loader.construct_object(key_node)
            line = key_node.start_mark.line + 1
            child = (*path, key)
            if key in seen:
                problems.append(
                    Problem(
                        f"duplicate key '{key}' (first on line {seen[key]})", doc.path, line, key_path(child)
                    )
                )
            else:
                seen[key] = line
            doc.lines[child] = line
            _walk(loader, value_node, child, doc, problems, active, budget)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            child = (*path, i)
            doc.lines[child] = item.start_mark.line + 1
            _walk(loader, item, child, doc, problems, active, budget)
    active.discard(id(node))


# --- pydantic errors -> problems ----------------------------------------------------------

_EXPECTED = {
    "string_type": "a string",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "tuple_type": "a list",
    "set_type": "a list",
    "dict_type": "a mapping (key: value)",
    "model_type": "a mapping (key: value)",
    "model_attributes_type": "a mapping (key: value)",
    "none_required": "null",
}
"""Errors that say the value has the wrong type, and what type was expected."""


def _got(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, str):
        short = value if len(value) <= 40 else value[:37] + "..."
        return repr(short)
    return str(value)


def _expected(err: dict[str, Any]) -> str | None:
    if err["type"] == "literal_error":
        return str(err.get("ctx", {}).get("expected", "one of the allowed values"))
    return _EXPECTED.get(err["type"])


def _clean_loc(data: Any, loc: Sequence[str | int], error_type: str) -> tuple[KeyPath, KeyPath | None]:
    """The key path of ``loc`` in ``data``, without pydantic's union tags.

    Also returns the key path at which a union tag was met (None when there was none), so
    that the errors of one union can be sorted out together.
    """
    out: list[str | int] = []
    union_at: KeyPath | None = None
    cur: Any = data
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(cur, dict) and part in cur:
            out.append(part)
            cur = cur[part]
        elif isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur):
            out.append(part)
            cur = cur[part]
        elif isinstance(cur, dict) and last and error_type == "missing":
            out.append(part)
        else:
            if union_at is None:
                union_at = tuple(out)
            # a union member's tag such as 'list[Condition]': it names no node of the data
            cur = cur if isinstance(cur, dict | list) else None
    return tuple(out), union_at


def _allowed_keys(model: type[BaseModel], path: KeyPath) -> list[str]:
    """Field names (aliases where set) of the model found at ``path`` under ``model``."""
    options: list[Any] = [model]
    for part in path:
        nxt: list[Any] = []
        for tp in _members(options):
            if isinstance(part, int):
                if typing.get_origin(tp) in (list, tuple, set):
                    nxt += list(typing.get_args(tp))[:1]
            elif isinstance(tp, type) and issubclass(tp, BaseModel):
                for name, info in tp.model_fields.items():
                    if part in (name, info.alias):
                        nxt.append(info.annotation)
            elif typing.get_origin(tp) is dict:
                nxt += list(typing.get_args(tp))[1:2]
        options = nxt
    for tp in _members(options):
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            return [info.alias or name for name, info in tp.model_fields.items()]
    return []


def _members(types_: list[Any]) -> list[Any]:
    out: list[Any] = []
    for tp in types_:
        origin = typing.get_origin(tp)
        if origin is typing.Union or origin is types.UnionType:
            out += _members(list(typing.get_args(tp)))
        elif origin is typing.Annotated:
            out += _members([typing.get_args(tp)[0]])
        else:
            out.append(tp)
    return out


def _unknown_key(key: Any, allowed: list[str]) -> tuple[str, str | None]:
    """The message for an unknown key, and the allowed key it is probably a typo of."""
    close = difflib.get_close_matches(str(key), allowed, n=1)
    if close:
        return f"unknown key '{key}' (did you mean '{close[0]}'?)", close[0]
    if allowed:
        return f"unknown key '{key}' (allowed keys: {', '.join(allowed)})", None
    return f"unknown key '{key}'", None


def _message(err: dict[str, Any]) -> str:
    kind, ctx = err["type"], err.get("ctx") or {}
    value = err.get("input")
    expected = _expected(err)
    if expected is not None:
        return f"expected {expected}, got {_got(value)}"
    if kind == "missing":
        return "required key is missing"
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return str(ctx["error"])
    bounds = {
        "greater_than_equal": ("at least", "ge"),
        "greater_than": ("greater than", "gt"),
        "less_than_equal": ("at most", "le"),
        "less_than": ("less than", "lt"),
    }
    if kind in bounds:
        word, name = bounds[kind]
        return f"must be {word} {ctx.get(name)}, got {_got(value)}"
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length')} item(s)"
    if kind == "too_long":
        return f"allows at most {ctx.get('max_length')} item(s)"
    msg = str(err.get("msg", "invalid value"))
    return msg[:1].lower() + msg[1:]


def validation_problems(
    exc: ValidationError,
    data: Any,
    model: type[BaseModel],
    path: Path | str,
    line_of: Callable[[KeyPath], int | None],
    prefix: KeyPath = (),
    relocate: Callable[[KeyPath], KeyPath] | None = None,
) -> list[Problem]:
    """One :class:`Problem` per thing pydantic found wrong with ``data``.

    ``prefix`` is the key path of ``data`` inside its file (for example ``(2,)`` for the
    third tool of a catalog), or ``relocate`` maps a key path of ``data`` to its key path in
    the file; ``line_of`` maps a full key path to its line. Errors of one
    union are merged: when the value had the shape of one member, only that member's
    errors are kept; when it fitted none, one "expected X or Y" message is given.
    """
    errors: list[dict[str, Any]] = [dict(e) for e in exc.errors()]
    cleaned = [(_clean_loc(data, e["loc"], e["type"]), e) for e in errors]
    # For each union location: did the value match some member's shape?
    deeper: set[KeyPath] = set()
    for (loc, union_at), err in cleaned:
        if union_at is not None and (loc != union_at or _expected(err) is None):
            deeper.add(union_at)

    def where(loc: KeyPath) -> KeyPath:
        return relocate(loc) if relocate is not None else (*prefix, *loc)

    # A typo ('modle') also makes the real key ('model') missing; the typo says it all.
    missing = {loc for (loc, _), err in cleaned if err["type"] == "missing"}
    unknown: dict[KeyPath, str] = {}
    explained: set[KeyPath] = set()
    for (loc, _), err in cleaned:
        if err["type"] == "extra_forbidden" and loc:
            message, typo_of = _unknown_key(loc[-1], _allowed_keys(model, loc[:-1]))
            unknown[loc] = message
            if typo_of is not None and (*loc[:-1], typo_of) in missing:
                explained.add((*loc[:-1], typo_of))

    problems: list[Problem] = []
    merged: dict[KeyPath, list[dict[str, Any]]] = {}
    for (loc, union_at), err in cleaned:
        if err["type"] == "missing" and loc in explained:
            continue
        if union_at is not None and loc == union_at and _expected(err) is not None:
            if union_at in deeper:
                continue  # the value is of another member's type; that member's errors say more
            merged.setdefault(loc, []).append(err)
            continue
        full = where(loc)
        if loc in unknown:
            problems.append(Problem(unknown[loc], path, line_of(full), key_path(full[:-1]) or None))
        else:
            problems.append(Problem(_message(err), path, line_of(full), key_path(full) or None))
    for loc, errs in merged.items():
        full = where(loc)
        wanted = list(dict.fromkeys(str(_expected(e)) for e in errs))
        message = f"expected {' or '.join(wanted)}, got {_got(errs[0].get('input'))}"
        problems.append(Problem(message, path, line_of(full), key_path(full) or None))
    problems.sort(key=lambda p: p.line or 0)
    return problems
