"""Readers for a dataset folder: cases.jsonl, tools.yaml and (optional) runs.jsonl.

Every line of a JSONL file is read on its own: a bad line becomes a :class:`Problem` with
its line number and the reader keeps going, so one pass reports everything.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from agentctl.core.errors import Problem, ValidationFailed
from agentctl.core.yamlpos import KeyPath, YamlDocument, key_path, read_yaml, validation_problems
from agentctl.datasets.models import (
    AnyRecording,
    Case,
    Dataset,
    RecordedRun,
    Recording,
    Tool,
    ToolCatalog,
    fast_recording,
)
from agentctl.datasets.run_checks import check_run

if TYPE_CHECKING:
    from agentctl.datasets.halves import HalfReader

CASES_FILE = "cases.jsonl"
RUNS_FILE = "runs.jsonl"
TOOLS_FILE = "tools.yaml"

_OPENAI_TOP_KEYS = ("type", "function", "effect", "cost_usd")
_OPENAI_FUNCTION_KEYS = ("name", "description", "parameters", "strict")


@dataclass
class DatasetFiles:
    """A dataset as read, with where each part came from (for cross-checks and messages)."""

    dataset: Dataset
    case_lines: list[int] = field(default_factory=list)
    """Line in cases.jsonl of each of ``dataset.cases``."""
    tools_doc: YamlDocument | None = None
    """tools.yaml with its lines; None when it could not be read."""
    tool_keys: list[KeyPath] = field(default_factory=list)
    """Key path in tools.yaml of the definition of each of ``dataset.tools.tools``."""
    tools_ok: bool = False
    """tools.yaml was read without errors, so names missing from it really are unknown."""
    effect_defaulted: list[str] = field(default_factory=list)
    """Tools in the plain OpenAI form without ``effect``: counted as writes (the documented default)."""
    run_problems: list[Problem] | None = None
    """What the checks of each recording found, made while its line was read (the recordings
    keep no parsed messages); None when the runs were not read here."""

    def notes(self) -> list[str]:
        """What validation should say besides problems (defaults that decide verdicts)."""
        if not self.effect_defaulted:
            return []
        return [f"{self.tools_path.name}: {', '.join(self.effect_defaulted)}: plain OpenAI form without "
                "effect: counted as write (the default; add effect: read to tools that change nothing)"]

    @property
    def path(self) -> Path:
        return self.dataset.path

    @property
    def cases_path(self) -> Path:
        return self.dataset.path / CASES_FILE

    @property
    def runs_path(self) -> Path:
        return self.dataset.path / RUNS_FILE

    @property
    def tools_path(self) -> Path:
        return self.dataset.path / TOOLS_FILE

    @property
    def has_runs(self) -> bool:
        return self.runs_path.is_file()


def load_dataset(path: Path, problems: list[Problem] | None = None) -> Dataset:
    """Read a dataset folder.

    With ``problems`` None, raise :class:`ValidationFailed` if any error was found;
    otherwise append every problem to ``problems`` and return what could be read.
    """
    found: list[Problem] = []
    files = read_dataset(Path(path), found)
    if problems is None:
        if any(p.severity == "error" for p in found):
            raise ValidationFailed(found)
    else:
        problems.extend(found)
    return files.dataset


def read_dataset(path: Path, problems: list[Problem]) -> DatasetFiles:
    """Read a dataset folder, appending problems; see :class:`DatasetFiles`."""
    try:
        path = Path(path).resolve()
    except (RuntimeError, OSError):  # a symlink loop
        path = Path(path).absolute()
        problems.append(Problem("dataset folder cannot be resolved: too many levels of symbolic links", path))
        return DatasetFiles(Dataset(path=path, cases=[]))
    files = DatasetFiles(Dataset(path=path, cases=[]))
    if not path.is_dir():
        problems.append(Problem("dataset folder not found", path))
        return files
    from agentctl.datasets.halves import HalfReader

    # A big runs.jsonl is read in halves, the second by another process: it starts now and
    # imports what it needs while tools.yaml and cases.jsonl are read.
    helper = HalfReader.start_for(files.runs_path)
    try:
        # tools.yaml first (recordings are checked against it as they are read); its problems
        # still come after those of the JSONL files
        tool_problems: list[Problem] = []
        _read_tools(files, tool_problems)
        for line, _, record in _read_jsonl(path / CASES_FILE, problems, required=True):
            try:
                case = Case.model_validate(record)
            except ValidationError as exc:
                problems += validation_problems(exc, record, Case, path / CASES_FILE, _on_line(line))
                continue
            files.dataset.cases.append(case)
            files.case_lines.append(line)
        _read_runs(files, problems, helper)
    finally:
        if helper is not None:
            helper.close()
    problems += tool_problems
    return files


def _read_runs(files: DatasetFiles, problems: list[Problem], helper: HalfReader | None = None) -> None:
    """Read, validate and check runs.jsonl in one pass, keeping each run compact (a :class:`Recording`).

    With a ``helper`` (:mod:`agentctl.datasets.halves`), its second half is read by that
    process meanwhile; if it cannot, here."""
    path = files.runs_path
    case_ids = {c.id for c in files.dataset.cases}
    catalog = files.dataset.tools if files.tools_ok else None
    runs = files.dataset.runs
    checks: list[Problem] = []
    files.run_problems = checks
    chunks = _jsonl_chunks(path, problems, required=False)
    if chunks is None:
        return
    split = len(chunks)
    if helper is not None and len(chunks) > 1:
        split = len(chunks) // 2
        helper.order(path, split + 1, chunks[split:], case_ids, catalog)
    started = time.perf_counter()
    read_recordings(jsonl_records(chunks[:split], 1, path, problems), path, case_ids, catalog, runs, problems, checks)
    if split == len(chunks):
        return
    assert helper is not None
    answer = helper.answer(time.perf_counter() - started)
    if answer is None:  # it could not: the second half is read here, as one process reads it
        read_recordings(jsonl_records(chunks[split:], split + 1, path, problems), path, case_ids, catalog, runs,
                        problems, checks)
        return
    fields, their_problems, their_checks = answer
    runs.extend(Recording.from_fields(f, chunks[f[0] - 1]) for f in fields)
    problems += their_problems
    checks += their_checks


def read_recordings(
    records: Iterable[tuple[int, bytes, dict[str, Any]]], path: Path, case_ids: Collection[str],
    catalog: ToolCatalog | None, runs: list[AnyRecording], problems: list[Problem], checks: list[Problem],
) -> None:
    """Validate and check each (line, bytes, object) of runs.jsonl: good runs to ``runs``,
    records pydantic refuses to ``problems``, what the checks find to ``checks``."""
    for line, text, record in records:
        run = fast_recording(record, line, text)
        if run is None:
            try:
                model = RecordedRun.model_validate(record)
            except ValidationError as exc:
                problems += validation_problems(exc, record, RecordedRun, path, _on_line(line))
                continue
            run = Recording(model, line, text)
        checks += check_run(run.case_id, record["messages"], path, line, case_ids, catalog)
        runs.append(run)


def _on_line(line: int) -> Callable[[KeyPath], int]:
    """Every key of a JSONL record is on the record's line."""
    return lambda _key: line


def _read_jsonl(
    path: Path, problems: list[Problem], required: bool
) -> Iterator[tuple[int, bytes, dict[str, Any]]]:
    """(line, its bytes, the object) of every good line; a bad line becomes a problem."""
    chunks = _jsonl_chunks(path, problems, required)
    return iter(()) if chunks is None else jsonl_records(chunks, 1, path, problems)


def _jsonl_chunks(path: Path, problems: list[Problem], required: bool) -> list[bytes] | None:
    """The lines of a JSONL file as bytes, line 1 first; None (and a problem) when it cannot be read."""
    try:
        if path.exists() and not path.is_file():
            problems.append(Problem("not a regular file (a FIFO, device or folder cannot be read as JSONL)", path))
            return None
        data = path.read_bytes()
    except FileNotFoundError:
        if required:
            problems.append(Problem(f"file not found (a dataset needs {path.name})", path))
        return None
    except OSError as exc:
        problems.append(Problem(f"cannot read file: {exc.strerror or exc}", path))
        return None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    # split on "\n" only: JSON strings may hold U+2028 and friends, which splitlines() breaks on
    return data.split(b"\n")


def jsonl_records(
    chunks: list[bytes], first_line: int, path: Path, problems: list[Problem]
) -> Iterator[tuple[int, bytes, dict[str, Any]]]:
    """(line, its bytes, the object) of every good line of ``chunks`` (the first is line
    ``first_line``); a bad line becomes a problem."""
    from agentctl.core.jsonsafe import JsonInputError, loads_strict

    for number, chunk in enumerate(chunks, start=first_line):
        try:
            raw = chunk.decode("utf-8")
        except UnicodeDecodeError as exc:
            problems.append(Problem(f"not UTF-8 text (byte {exc.start + 1} of the line)", path, number))
            continue
        if not raw.strip():
            continue
        try:
            value = loads_strict(raw)
        except JsonInputError as exc:
            message = str(exc)
            problems.append(Problem(message if message.startswith("invalid JSON") else f"invalid JSON: {message}",
                                    path, number))
            continue
        if not isinstance(value, dict):
            kind = "a list" if isinstance(value, list) else type(value).__name__
            problems.append(Problem(f"expected one JSON object per line, got {kind}", path, number))
            continue
        yield number, chunk, value





def _read_tools(files: DatasetFiles, problems: list[Problem]) -> None:
    path = files.tools_path
    if not path.is_file():
        problems.append(Problem(f"file not found (a dataset needs {TOOLS_FILE}, the tool catalog)", path))
        return
    before = len(problems)
    doc = read_yaml(path, problems)
    files.tools_doc = doc
    if doc is None:
        return
    items: Any = doc.data
    base: KeyPath = ()
    if isinstance(items, dict) and set(items) == {"tools"}:
        items, base = items["tools"], ("tools",)  # {tools: [...]} is accepted as well
    if items is None:
        items = []
    if not isinstance(items, list):
        problems.append(Problem("expected a list of tools", path, doc.line_of(base), None))
        return
    first_line: dict[str, int] = {}
    for i, item in enumerate(items):
        key: KeyPath = (*base, i)
        tool, tool_key = _read_tool(item, key, doc, problems)
        if tool is None:
            continue
        line = doc.line_of((*tool_key, "name"))
        if tool.name in first_line:
            problems.append(
                Problem(
                    f"duplicate tool '{tool.name}' (first on line {first_line[tool.name]})",
                    path,
                    line,
                    _kp((*tool_key, "name")),
                )
            )
            continue
        first_line[tool.name] = line
        if "effect" not in item:
            files.effect_defaulted.append(tool.name)
        files.dataset.tools.tools.append(tool)
        files.tool_keys.append(tool_key)
    files.tools_ok = not any(p.severity == "error" for p in problems[before:])


def _read_tool(
    item: Any, key: KeyPath, doc: YamlDocument, problems: list[Problem]
) -> tuple[Tool | None, KeyPath]:
    path = doc.path
    if not isinstance(item, dict):
        problems.append(
            Problem(
                "expected a tool (a mapping with name, parameters, ...)", path, doc.line_of(key), _kp(key)
            )
        )
        return None, key
    if "function" not in item and item.get("type") != "function":
        tool: Tool | None = None
        try:
            tool = Tool.model_validate(item)
        except ValidationError as exc:
            problems += validation_problems(exc, item, Tool, path, doc.line_of, prefix=key)
        if "effect" not in item:
            # A silent default would turn every read of a correct model into an "unexpected write".
            name = f" '{item['name']}'" if isinstance(item.get("name"), str) else ""
            problems.append(Problem(f"required key is missing: effect (read or write) of tool{name}",
                                    path, doc.line_of(key), _kp(key)))
        return tool, key
    # The plain OpenAI form: {type: function, function: {name, description, parameters}}.
    fn_key = (*key, "function")
    ok = True
    for k in item:
        if k not in _OPENAI_TOP_KEYS:
            problems.append(
                Problem(
                    f"unknown key '{k}' (allowed keys: {', '.join(_OPENAI_TOP_KEYS)})",
                    path,
                    doc.line_of((*key, k)),
                    _kp(key),
                )
            )
            ok = False
    if item.get("type", "function") != "function":
        problems.append(
            Problem(
                f"expected 'function', got {item.get('type')!r}",
                path,
                doc.line_of((*key, "type")),
                _kp((*key, "type")),
            )
        )
        ok = False
    fn = item.get("function")
    if not isinstance(fn, dict):
        problems.append(
            Problem(
                "expected a mapping with name, description, parameters",
                path,
                doc.line_of(fn_key),
                _kp(fn_key),
            )
        )
        return None, fn_key
    for k in fn:
        if k not in _OPENAI_FUNCTION_KEYS:
            allowed = ", ".join(_OPENAI_FUNCTION_KEYS)
            problems.append(
                Problem(
                    f"unknown key '{k}' (allowed keys: {allowed})",
                    path,
                    doc.line_of((*fn_key, k)),
                    _kp(fn_key),
                )
            )
            ok = False
    flat = {k: v for k, v in fn.items() if k in _OPENAI_FUNCTION_KEYS and k != "strict"}
    flat.update({k: item[k] for k in ("effect", "cost_usd") if k in item})

    def relocate(loc: KeyPath) -> KeyPath:
        return (*key, *loc) if loc[:1] in (("effect",), ("cost_usd",)) else (*fn_key, *loc)

    try:
        tool = Tool.model_validate(flat)
    except ValidationError as exc:
        problems += validation_problems(exc, flat, Tool, path, doc.line_of, relocate=relocate)
        return None, fn_key
    return (tool if ok else None), fn_key


def _kp(key: KeyPath) -> str | None:
    return key_path(key) or None


def dataset_hash(path: Path) -> str:
    """sha256 over the bytes of cases.jsonl, tools.yaml and runs.jsonl (for provenance)."""
    digest = hashlib.sha256()
    for name in (CASES_FILE, TOOLS_FILE, RUNS_FILE):
        file = Path(path) / name
        # the name and length frame each file, so moving bytes between files changes the hash
        data = file.read_bytes() if file.is_file() else b""
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()
