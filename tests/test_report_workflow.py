"""The example release-gate workflow is a valid GitHub Actions workflow and does what the issue asks.

Validated against the GitHub workflow JSON Schema that check-jsonschema bundles (SchemaStore's
``github-workflow.json``, offline), in-process with jsonschema, and with the check-jsonschema CLI
when it can start in this environment.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
WORKFLOW = REPO / ".github" / "workflows" / "release-gate.yml"


class _Yaml12Loader(yaml.SafeLoader):
    """YAML 1.2 booleans (only true/false), as GitHub reads workflows: ``on:`` is a key, not True."""


_Yaml12Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:bool"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.copy().items()
}
_Yaml12Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|false)$"), list("tf"))


def _schema() -> dict[str, Any]:
    import json

    # find_spec locates the package without importing it (its CLI may not import here).
    spec = importlib.util.find_spec("check_jsonschema")
    assert spec is not None and spec.origin is not None, "check-jsonschema is a dev dependency"
    path = Path(spec.origin).parent / "builtin_schemas" / "vendor" / "github-workflows.json"
    return json.loads(path.read_text(encoding="utf-8"))


def _load(text: str) -> dict[str, Any]:
    return yaml.load(text, Loader=_Yaml12Loader)  # noqa: S506 - a SafeLoader subclass


@pytest.mark.parametrize("name", ["release-gate.yml", "ci.yml"])
def test_workflow_is_valid_against_the_github_workflow_schema(name: str) -> None:
    validator = jsonschema.Draft7Validator(_schema())
    text = (WORKFLOW.parent / name).read_text()
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(_load(text))]
    assert errors == []


def test_project_ci_lints_then_runs_the_readme_test_command() -> None:
    ci = _load((WORKFLOW.parent / "ci.yml").read_text())
    runs = [s.get("run", "") for s in ci["jobs"]["test"]["steps"]]
    assert runs.index("make lint") < runs.index("make test")
    commands = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()
                if line.strip().startswith("make ")]
    assert commands == ["make lint", "make test"]
    assert "make test" in (REPO / "README.md").read_text()
    makefile = (REPO / "Makefile").read_text()
    assert "\t$(BIN)/python -m pytest -q -n auto --dist loadgroup\n" in makefile.split("\ntest:", 1)[1].split("\n\n")[0] + "\n"


def test_the_schema_check_catches_a_broken_workflow() -> None:
    broken = _load(WORKFLOW.read_text())
    del broken["jobs"]["eval"]["runs-on"]
    broken["jobs"]["eval"]["steps"][0]["run"] = "echo both uses and run"
    broken["on"]["pull_request"]["pathz"] = ["x"]
    assert not jsonschema.Draft7Validator(_schema()).is_valid(broken)


def test_workflow_runs_the_gate_uploads_reports_and_keeps_the_key_in_secrets() -> None:
    wf = _load(WORKFLOW.read_text())
    assert "pull_request" in wf["on"]
    steps = wf["jobs"]["eval"]["steps"]
    run = next(s for s in steps if s.get("id") == "eval")
    assert "agentctl eval run" in run["run"] and "--junit reports/junit.xml" in run["run"]
    assert "--report-dir reports" in run["run"]
    assert run["env"]["OPENAI_API_KEY"] == "${{ secrets.OPENAI_API_KEY }}"
    upload = next(s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact"))
    assert upload["if"] == "always()"
    assert "reports/*.html" in upload["with"]["path"] and "reports/junit.xml" in upload["with"]["path"]
    gate = steps[-1]
    assert gate["if"] == "always()" and "exit" in gate["run"] and "steps.eval.outputs.exit_code" in gate["env"]["EXIT_CODE"]
    assert "sk-" not in WORKFLOW.read_text()


def test_check_jsonschema_cli_accepts_the_workflow() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)],
        capture_output=True, text=True, timeout=60,
    )
    if proc.returncode != 0 and "Traceback" in proc.stderr and "ok -- validation done" not in proc.stdout:
        pytest.skip(f"check-jsonschema cannot start here: {proc.stderr.strip().splitlines()[-1]}")
    assert proc.returncode == 0, proc.stdout + proc.stderr
