"""Cedar policies on tool calls (``policy.cedar``), evaluated in process with ``cedarpy``.

Each tool call is one request: the configured principal (default ``Agent::"<candidate>"``),
action ``Action::"<tool>"``, resource ``Tool::"<tool>"`` and the call's arguments as context.
Cedar has no floating point: integers (and floats with an integral value, as JSON does not
tell 5 from 5.0) pass as Longs, other numbers as ``decimal`` values, compared in policies with
``.greaterThan(decimal("12.50"))`` and friends. ``null`` arguments are left out (Cedar has no
null: ``context has x`` is false). A list argument ``ids`` is a set, and ``ids_count`` its length.

The policy files are parsed once per content (the cache below), not once per call.
``cedarpy`` is imported only when a suite has ``policy.cedar``.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentctl.core.errors import InputError, MissingExtra, Problem

if TYPE_CHECKING:
    from agentctl.config.models import CedarPolicy

_PRINCIPAL = re.compile(r'^\s*((?:[A-Za-z_][A-Za-z0-9_]*::)*[A-Za-z_][A-Za-z0-9_]*)::"((?:[^"\\]|\\.)*)"\s*$')
_DECIMAL_MAX = 922337203685477.0
_I64 = 2**63
_CACHE: dict[tuple[Any, ...], CedarPolicies] = {}


def import_cedarpy() -> Any:
    try:
        import cedarpy
    except ImportError:
        raise MissingExtra("cedarpy", "cedar", "policy.cedar") from None
    return cedarpy


@dataclass(frozen=True)
class Statement:
    """One policy (or template) of a ``.cedar`` file, where it starts, and what it is called in reasons."""

    path: Path
    line: int
    text: str
    label: str = ""


@dataclass(frozen=True)
class CedarDecision:
    allowed: bool
    policies: tuple[str, ...]
    """The deciding policies (``@id`` or ``file:line``): the permits of an Allow, the forbids of a Deny."""
    errors: tuple[str, ...]
    """Evaluation errors (a policy Cedar skipped because it failed on this request)."""

    def refusal(self, tool: str) -> str | None:
        """The ``Step.policy`` text of a Deny, ``None`` for an Allow."""
        if self.allowed:
            return None
        why = f"denied by {', '.join(self.policies)}" if self.policies else "denied (no policy permits it)"
        errors = f"; evaluation errors: {'; '.join(self.errors)}" if self.errors else ""
        return f"cedar: {tool} {why}{errors}"

    def notes(self, tool: str) -> list[str]:
        """Evaluation errors of an allowed call: reported, though Cedar's decision stands."""
        if not self.allowed or not self.errors:
            return []
        return [f"cedar: {tool} allowed, but evaluation error: {e}" for e in self.errors]


class CedarPolicies:
    """A parsed policy set and entity store; one per evaluation, shared by every run (no state)."""

    def __init__(self, statements: list[Statement], policy_set: Any, entities: Any, cedarpy: Any) -> None:
        self.statements = statements
        self._labels = {f"policy{i}": s.label for i, s in enumerate(statements)}
        self._policy_set = policy_set
        self._entities = entities
        self._cedarpy = cedarpy

    def decide(self, principal: str, tool: str, args: dict[str, Any] | None) -> CedarDecision:
        request = {
            "principal": parse_principal(principal),
            "action": {"type": "Action", "id": tool},
            "resource": {"type": "Tool", "id": tool},
            "context": to_context(args or {}),
        }
        try:
            result = self._cedarpy.is_authorized(request, self._policy_set, self._entities)
        except Exception as exc:  # a request Cedar cannot even build is refused, and says why
            return CedarDecision(False, (), (f"request not evaluated: {exc}",))
        diagnostics = result.diagnostics
        policies = tuple(self._label(p) for p in diagnostics.reasons)
        errors = tuple(self._relabel(str(e)) for e in diagnostics.errors)
        return CedarDecision(bool(result.allowed), policies, errors)

    def _label(self, policy_id: str) -> str:
        return self._labels.get(policy_id, policy_id)

    def _relabel(self, message: str) -> str:
        return re.sub(r"`(policy\d+)`", lambda m: f"`{self._label(m[1])}`", message)


def parse_principal(text: str) -> dict[str, str]:
    """``Agent::"RefundAgent"`` as Cedar's ``{"type", "id"}``; ``InputError`` when malformed."""
    m = _PRINCIPAL.match(text)
    if m is None:
        raise InputError(f"policy.cedar.principal {text!r}: expected an entity such as Agent::\"RefundAgent\"",
                         key="policy.cedar.principal")
    return {"type": m[1], "id": json.loads(f'"{m[2]}"')}


def principal_for(cedar: CedarPolicy, candidate: str) -> str:
    return cedar.principal or f"Agent::{json.dumps(candidate)}"


def to_context(args: dict[str, Any]) -> dict[str, Any]:
    """The call's arguments as a Cedar context record.

    Lists become sets. Cedar sets have no size (and fold duplicates), so a list argument
    ``ids`` also gives ``ids_count``, its length, unless an argument already has that name.
    """
    context = {str(k): _value(v) for k, v in args.items() if v is not None}
    for k, v in args.items():
        if isinstance(v, list) and f"{k}_count" not in args:
            context[f"{k}_count"] = len(v)
    return context


def _value(v: Any) -> Any:
    if isinstance(v, bool) or isinstance(v, str):
        return v
    if isinstance(v, int):
        return v if -_I64 <= v < _I64 else _decimal(float(v))
    if isinstance(v, float):
        if math.isfinite(v) and v.is_integer() and abs(v) < 2**53:
            return int(v)
        return _decimal(v)
    if isinstance(v, list):
        return [_value(x) for x in v if x is not None]
    if isinstance(v, dict):
        if "__entity" in v or "__extn" in v:  # Cedar's JSON escapes: an argument may not forge an entity
            return json.dumps(v, sort_keys=True)
        return {str(k): _value(x) for k, x in v.items() if x is not None}
    return str(v)


def _decimal(v: float) -> Any:
    if not math.isfinite(v) or abs(v) >= _DECIMAL_MAX:
        return str(v)  # outside Cedar's decimal range: only a string can carry it
    text = f"{v:.4f}".rstrip("0")
    return {"__extn": {"fn": "decimal", "arg": text + "0" if text.endswith(".") else text}}


# ---- reading the files ---------------------------------------------------------------------------


def policy_files(cedar: CedarPolicy, base_dir: Path) -> list[Path]:
    """The ``.cedar`` files ``policies`` names (a folder stands for its ``*.cedar`` files, sorted)."""
    values = cedar.policies if isinstance(cedar.policies, list) else [cedar.policies]
    files: list[Path] = []
    for value in values:
        path = (base_dir / value).resolve()
        files.extend(sorted(path.glob("*.cedar")) if path.is_dir() else [path])
    return files


def split_statements(text: str, path: Path) -> list[Statement]:
    """The policies of a file, each with the line it starts on (comments and strings respected)."""
    out: list[Statement] = []
    start: int | None = None
    i, line, start_line, n = 0, 1, 1, len(text)
    while i < n:
        ch = text[i]
        if ch == "\n":
            line += 1
        elif ch == "/" and text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        elif start is None and not ch.isspace():
            start, start_line = i, line
        if ch == '"':
            i += 1
            while i < n and text[i] != '"':
                if text[i] == "\\":
                    i += 1
                elif text[i] == "\n":
                    line += 1
                i += 1
        elif ch == ";" and start is not None:
            out.append(Statement(path, start_line, text[start : i + 1]))
            start = None
        i += 1
    if start is not None and text[start:].strip():
        out.append(Statement(path, start_line, text[start:]))
    return out


def _error_line(statement: Statement, message: str) -> int:
    """The line of the token the parser names (``unexpected token `}```), else where the policy starts."""
    m = re.search(r"`([^`]+)`|: ([A-Za-z_][A-Za-z0-9_]*)$", message)
    token = (m[1] or m[2]) if m else None
    if token:
        offset = statement.text.find(token)
        if offset >= 0:
            return statement.line + statement.text.count("\n", 0, offset)
    return statement.line


def read_statements(cedar: CedarPolicy, base_dir: Path, problems: list[Problem]) -> list[Statement]:
    """Every statement of the policy files, labelled; syntax errors go to ``problems`` with file and line."""
    cedarpy = import_cedarpy()
    statements: list[Statement] = []
    files = policy_files(cedar, base_dir)
    if not files:
        problems.append(Problem(f"no .cedar files in {cedar.policies}", None, None, "policy.cedar.policies"))
    for file in files:
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            problems.append(Problem(f"cannot read Cedar policies: {exc.strerror or exc}", file, None,
                                    "policy.cedar.policies"))
            continue
        for st in split_statements(text, file):
            try:
                est = json.loads(cedarpy.policies_to_json_str(st.text))
            except ValueError as exc:
                problems.append(Problem(f"Cedar syntax error: {exc}", file, _error_line(st, str(exc))))
                continue
            body: dict[str, Any] = next(iter({**est.get("staticPolicies", {}), **est.get("templates", {})}.values()), {})
            annotation = (body.get("annotations") or {}).get("id")
            label = annotation or f"{file.name}:{st.line}"
            statements.append(Statement(file, st.line, st.text, label))
    return statements


def named_actions(statement: Statement) -> list[str]:
    """The ``Action::"..."`` ids a policy's scope names (none when it applies to every action)."""
    cedarpy = import_cedarpy()
    est = json.loads(cedarpy.policies_to_json_str(statement.text))
    body: dict[str, Any] = next(iter({**est.get("staticPolicies", {}), **est.get("templates", {})}.values()), {})
    scope = body.get("action") or {}
    entities = scope.get("entities") or ([scope["entity"]] if "entity" in scope else [])
    return [str(e.get("id")) for e in entities if str(e.get("type", "")).split("::")[-1] == "Action"]


def _read_entities(cedar: CedarPolicy, base_dir: Path, problems: list[Problem]) -> tuple[str, list[Any]]:
    if cedar.entities is None:
        return "[]", []
    path = (base_dir / cedar.entities).resolve()
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text)
    except OSError as exc:
        problems.append(Problem(f"cannot read Cedar entities: {exc.strerror or exc}", path, None,
                                "policy.cedar.entities"))
        return "[]", []
    except json.JSONDecodeError as exc:
        problems.append(Problem(f"invalid JSON: {exc.msg}", path, exc.lineno))
        return "[]", []
    if not isinstance(data, list):
        problems.append(Problem("expected a JSON list of Cedar entities ({uid, attrs, parents})", path, 1))
        return "[]", []
    return text, data


def check_cedar(cedar: CedarPolicy, base_dir: Path, tools: list[str]) -> tuple[list[Problem], CedarPolicies | None]:
    """Parse everything ``policy.cedar`` names; the problems (file and line) and, when none, the policies."""
    problems: list[Problem] = []
    cedarpy = import_cedarpy()
    statements = read_statements(cedar, base_dir, problems)
    entities_text, entities = _read_entities(cedar, base_dir, problems)
    if cedar.principal is not None:
        try:
            parse_principal(cedar.principal)
        except InputError as exc:
            problems.append(Problem(exc.message, None, None, "policy.cedar.principal"))
    entity_ids = {str((e.get("uid") or {}).get("id")) for e in entities if isinstance(e, dict)
                  and isinstance(e.get("uid"), dict) and str(e["uid"].get("type", "")).endswith("Action")}
    known = set(tools)
    for st in statements:
        for action in named_actions(st):
            if action not in known and action not in entity_ids:
                import difflib

                close = difflib.get_close_matches(action, sorted(known), n=1)
                hint = f"did you mean '{close[0]}'?" if close else f"tools: {', '.join(sorted(known))}"
                problems.append(Problem(f'policy names Action::"{action}", which no tool has ({hint})',
                                        st.path, st.line))
    if problems:
        return problems, None
    try:
        policy_set = cedarpy.PolicySet.from_str("\n".join(s.text for s in statements))
        store = cedarpy.Entities.from_json_str(entities_text)
    except ValueError as exc:
        where = (base_dir / cedar.entities).resolve() if cedar.entities else None
        return [Problem(f"Cedar rejected the policies or entities: {exc}", where, None, "policy.cedar")], None
    return [], CedarPolicies(statements, policy_set, store, cedarpy)


def load_cedar(cedar: CedarPolicy, base_dir: Path, tools: list[str]) -> CedarPolicies:
    """The parsed policies, from the cache when no file changed; ``InputError`` naming file and line."""
    files = policy_files(cedar, base_dir)
    if cedar.entities is not None:
        files.append((base_dir / cedar.entities).resolve())
    stamp = tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) if f.exists() else (str(f),) for f in files)
    key = (stamp, cedar.principal, tuple(sorted(tools)))
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    problems, policies = check_cedar(cedar, base_dir, tools)
    if policies is None:
        first = problems[0]
        raise InputError(first.message, first.path, first.line, first.key)
    _CACHE[key] = policies
    return policies
