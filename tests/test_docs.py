"""The users' reference in docs/ (and the README's command block) says what the code does.

The generated parts are regenerated in memory by scripts/gen_docs.py and compared with the
files; the rest of the checks make sure every model, table and command has its place.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType
from typing import Any, get_args

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
FIX = "run `make docs` (or .venv/bin/python scripts/gen_docs.py) and commit the result"


def _gen() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_docs", ROOT / "scripts" / "gen_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen = _gen()


def _regions(kind: str) -> set[str]:
    found = set()
    for path in [ROOT / "README.md", *DOCS.glob("*.md")]:
        for m in gen.REGION.finditer(path.read_text(encoding="utf-8")):
            what = m["what"].strip()
            if what.split(" ")[0] == kind:
                found.add(what.partition(" ")[2].strip())
    return found


def test_generated_docs_and_schemas_are_current() -> None:
    stale = [str(p.relative_to(ROOT)) for p, text in gen.outputs().items()
             if not p.is_file() or p.read_text(encoding="utf-8") != text]
    assert stale == [], f"out of date with the code: {', '.join(stale)}; {FIX}"


def _models_reachable(*roots: Any) -> set[Any]:
    from pydantic import BaseModel

    seen: set[Any] = set()

    def visit(tp: Any) -> None:
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            if tp not in seen:
                seen.add(tp)
                for field in tp.model_fields.values():
                    if not field.exclude:
                        visit(field.annotation)
        for arg in get_args(tp):
            visit(arg)

    for root in roots:
        visit(root)
    return seen


def test_every_file_format_model_has_a_field_table() -> None:
    from agentctl.config.models import Suite
    from agentctl.datasets.models import Case, RecordedRun, Tool

    documented = _regions("fields")
    missing = sorted(f"{m.__module__}:{m.__name__}" for m in _models_reachable(Suite, Case, RecordedRun, Tool)
                     if f"{m.__module__}:{m.__name__}" not in documented)
    assert missing == [], (
        f"add a field table for each to a page of docs/ (<!-- BEGIN GENERATED fields MODULE:Model --> "
        f"... <!-- END GENERATED fields MODULE:Model -->), then {FIX}: {missing}")


def test_every_store_table_is_documented() -> None:
    from agentctl.store.schema import TABLES

    missing = sorted(set(TABLES) - _regions("store"))
    assert missing == [], f"add a section to docs/store.md (<!-- BEGIN GENERATED store TABLE -->), then {FIX}: {missing}"


def test_every_command_option_and_argument_has_help_text() -> None:
    undocumented = []
    for path, cmd in gen.commands():
        name = " ".join(["agentctl", *path])
        if not (cmd.help or "").strip():
            undocumented.append(name)
        for param in cmd.params:
            if param.name not in ("help",) and not (getattr(param, "help", None) or "").strip():
                undocumented.append(f"{name} {param.name}")
    assert undocumented == []


def test_the_readme_command_block_lists_every_command_with_its_options() -> None:
    block = re.search(r"<!-- BEGIN GENERATED commands -->\n```\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert block is not None, "README.md lost its generated command block"
    listed = " ".join(block[1].split())
    for path, cmd in gen.commands():
        if getattr(cmd, "commands", None) or not path:
            continue
        assert f"agentctl {' '.join(path)} " in listed + " ", path
        options = [max(p.opts, key=len) for p in cmd.params if p.opts[0].startswith("-") and p.name != "help"]
        assert [o for o in options if f"[{o}" not in listed] == [], (path, FIX)


def test_every_command_s_help_is_in_the_cli_reference() -> None:
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    for path, _ in gen.commands():
        assert f"$ agentctl {' '.join([*path, '--help'])}\n" in text, (path, FIX)


def _schema(name: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((DOCS / "schema" / f"{name}.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _errors(validator: jsonschema.Draft202012Validator, value: Any) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(value)]


@pytest.mark.parametrize("suite", sorted((ROOT / "evalsuites").glob("*.yaml")), ids=lambda p: p.name)
def test_bundled_suites_fit_the_schema_and_point_editors_at_it(suite: Path) -> None:
    from agentctl.config.loader import load_suite

    text = suite.read_text(encoding="utf-8")
    assert text.splitlines()[0] == "# yaml-language-server: $schema=../docs/schema/suite.schema.json"
    assert _errors(_schema("suite"), yaml.safe_load(text)) == []
    assert load_suite(suite).name  # the comment is harmless to the loader


def test_bundled_catalogs_and_cases_fit_their_schemas() -> None:
    tools, case = _schema("tools"), _schema("case")
    catalogs = sorted((ROOT / "datasets").glob("*/tools.yaml"))
    assert len(catalogs) == 3
    for path in catalogs:
        assert _errors(tools, yaml.safe_load(path.read_text(encoding="utf-8"))) == [], path
    for path in sorted((ROOT / "datasets").glob("*/cases.jsonl")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            assert _errors(case, json.loads(line)) == [], f"{path}:{n}"


def test_the_schemas_reject_what_the_loader_rejects() -> None:
    suite = yaml.safe_load((ROOT / "evalsuites" / "support-triage.yaml").read_text(encoding="utf-8"))
    suite["agent"]["max_stesp"] = 3
    assert _errors(_schema("suite"), suite) == [
        "['agent']: Additional properties are not allowed ('max_stesp' was unexpected)"]
    # a case needs input, or a simulated user who writes the first message
    assert _errors(_schema("case"), {"id": "c1"}) == ["[]: {'id': 'c1'} is not valid under any of the given schemas"]
    assert _errors(_schema("case"), {"id": "c1", "user": {"instructions": "You are Mia."}}) == []
    openai_form = [{"type": "function", "effect": "read", "function": {"name": "get_ticket", "parameters": {}}}]
    assert _errors(_schema("tools"), openai_form) == []
    assert _errors(_schema("tools"), [{"name": "x", "effect": "delete"}]) != []


def test_exit_codes_page_lists_exactly_the_exit_codes() -> None:
    from agentctl.core import errors

    codes = sorted(v for k, v in vars(errors).items() if k.startswith("EXIT_"))
    page = (DOCS / "exit-codes.md").read_text(encoding="utf-8")
    assert [int(c) for c in re.findall(r"^\| (\d+) \|", page, re.M)] == codes


def test_readme_store_table_names_real_columns() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(\w+)` \| [^|]+ \| (.+) \|$", readme, re.M)
    assert [t for t, _ in rows] == ["eval_runs", "results", "steps", "scores", "metrics", "gates", "schema_info"]
    for table, columns in rows:
        named = set(re.findall(r"`(\w+)`", columns))
        if table == "steps":
            named -= {"model"}  # a value of `kind`
        assert named <= {c[0] for c in gen.store_columns(table)}, (table, sorted(named - {c[0] for c in gen.store_columns(table)}))
