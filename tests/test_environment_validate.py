"""``suite validate`` on stateful datasets, and where an environment may come from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentctl.config.loader import validate_suite
from agentctl.main import app
from env_support import ENVIRONMENT, STATE, write_env_suite

GOOD_CASE = {"id": "ok", "input": "hi", "expected": {"state": {"accounts.acc_1.plan": "free"}}}


def _errors(suite: Path) -> list[str]:
    return [str(p) for p in validate_suite(suite).errors]


def test_a_valid_stateful_suite_validates(tmp_path: Path) -> None:
    from_actions = {"id": "fa", "input": "hi", "expected": {"state": "from_actions", "actions": [
        {"tool": "set_plan", "args": {"account_id": "acc_1", "plan": "pro"}}]}}
    suite = write_env_suite(tmp_path, [GOOD_CASE, from_actions], [{"name": "p", "model": "openai/x"}])
    assert _errors(suite) == []


def test_a_syntax_error_in_environment_py_names_its_line(tmp_path: Path) -> None:
    broken = ENVIRONMENT.replace("    def snapshot(self):", "    def snapshot(self)", 1)
    line = broken.splitlines().index("    def snapshot(self)") + 1
    suite = write_env_suite(tmp_path, [GOOD_CASE], [{"name": "p", "model": "openai/x"}], environment_py=broken)
    (error,) = _errors(suite)
    assert error.startswith(f"{tmp_path / 'data' / 'environment.py'}:{line}: SyntaxError: ")
    result = CliRunner().invoke(app, ["suite", "validate", str(suite)])
    assert result.exit_code == 2
    assert f"environment.py:{line}: SyntaxError" in result.output and "Traceback" not in result.output


def test_an_exception_while_importing_names_file_and_line(tmp_path: Path) -> None:
    source = "import json\nVALUE = json.loads('{broken')\n" + ENVIRONMENT
    suite = write_env_suite(tmp_path, [GOOD_CASE], [{"name": "p", "model": "openai/x"}], environment_py=source)
    (error,) = _errors(suite)
    assert error.startswith(f"{tmp_path / 'data' / 'environment.py'}:2: importing the environment failed: JSONDecodeError")


def test_the_class_and_its_methods_must_exist(tmp_path: Path) -> None:
    suite = write_env_suite(tmp_path / "a", [GOOD_CASE], [{"name": "p", "model": "openai/x"}],
                            environment_py="class Env:\n    pass\n")
    assert _errors(suite) == [f"{tmp_path / 'a' / 'data' / 'environment.py'}: defines no class 'Environment' "
                              "(an environment needs class Environment(case, state))"]
    no_snapshot = "class Environment:\n    def __init__(self, case, state):\n        pass\n\n    def call(self, t, a):\n        return 1\n"
    suite = write_env_suite(tmp_path / "b", [GOOD_CASE], [{"name": "p", "model": "openai/x"}], environment_py=no_snapshot)
    assert _errors(suite) == [f"{tmp_path / 'b' / 'data' / 'environment.py'}:1: class Environment has no method "
                              "snapshot (it needs call(tool, args) and snapshot())"]


def test_state_json_must_be_valid_json(tmp_path: Path) -> None:
    suite = write_env_suite(tmp_path, [GOOD_CASE], [{"name": "p", "model": "openai/x"}],
                            state='{\n "accounts": {\n  "acc_1": {"plan": "free",}\n }\n}\n')
    (error,) = _errors(suite)
    assert error.startswith(f"{tmp_path / 'data' / 'state.json'}:3: invalid JSON: ")


def test_a_typo_in_an_expected_state_path_is_an_error(tmp_path: Path) -> None:
    cases = [GOOD_CASE,
             {"id": "typo", "input": "hi", "expected": {"state": {"accounts.acc_1.plna": "pro"}}},
             {"id": "append", "input": "hi", "expected": {"state": {"log.0": "acc_1"}}},  # past a list's end: fine
             {"id": "matcher", "input": "hi", "expected": {"state": {"accounts.acc_1.plan": {"$regx": "^p"}}}},
             {"id": "patched", "input": "hi", "initial_state": {"accounts": {"acc_3": {"plan": "free"}}},
              "expected": {"state": {"accounts.acc_3.plan": "pro"}}}]
    suite = write_env_suite(tmp_path, cases, [{"name": "p", "model": "openai/x"}])
    assert _errors(suite) == [
        f"{tmp_path / 'data' / 'cases.jsonl'}:2: expected.state.accounts.acc_1.plna: path not in the initial state: "
        "no key 'plna' in accounts.acc_1 (keys: name, plan, email, credit_cents)",
        f"{tmp_path / 'data' / 'cases.jsonl'}:4: expected.state.accounts.acc_1.plan: unknown matcher '$regx' "
        "(expected one of $any, $regex, $in, $approx, $contains, $text, $optional)",
    ]


def test_expected_actions_that_fail_are_a_problem_of_the_case(tmp_path: Path) -> None:
    bad = {"id": "bad", "input": "hi", "expected": {"state": "from_actions", "actions": [
        {"tool": "set_plan", "args": {"account_id": "acc_9", "plan": "pro"}}]}}
    matcher = {"id": "matcher", "input": "hi", "expected": {"state": "from_actions", "actions": [
        {"tool": "set_plan", "args": {"account_id": "acc_1", "plan": {"$in": ["pro", "team"]}}}]}}
    suite = write_env_suite(tmp_path, [bad, matcher], [{"name": "p", "model": "openai/x"}])
    cases = tmp_path / "data" / "cases.jsonl"
    assert _errors(suite) == [
        f"{cases}:1: expected.state: from_actions: expected.actions[0] set_plan raised KeyError: 'acc_9'",
        f"{cases}:2: expected.state: from_actions: expected.actions[0] set_plan: "
        "from_actions needs literal arguments (no matchers)",
    ]


def test_expected_state_without_an_environment_is_an_error(tmp_path: Path) -> None:
    suite = write_env_suite(tmp_path, [GOOD_CASE], [{"name": "p", "model": "openai/x"}])
    (tmp_path / "data" / "environment.py").unlink()
    assert _errors(suite) == [f"{tmp_path / 'data' / 'cases.jsonl'}:1: expected.state: expected.state needs an "
                              "environment: add environment.py beside tools.yaml (or 'environment:' in the suite)"]


def test_the_suite_may_name_a_file_a_module_or_a_registered_plugin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    from agentctl.core import plugins

    site = tmp_path / "site"
    site.mkdir()
    (site / "accounts_sandbox.py").write_text(ENVIRONMENT, encoding="utf-8")
    dist = site / "accounts_sandbox-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: accounts-sandbox\nVersion: 1.0\n", encoding="utf-8")
    (dist / "entry_points.txt").write_text("[agentctl.environments]\naccounts = accounts_sandbox\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(site))
    plugins.refresh()  # the entry points are read once per process
    request.addfinalizer(plugins.refresh)
    (tmp_path / "envs").mkdir()
    (tmp_path / "envs" / "accounts.py").write_text(ENVIRONMENT, encoding="utf-8")
    for value in ["envs/accounts.py", "accounts_sandbox", "accounts"]:
        suite = write_env_suite(tmp_path, [GOOD_CASE], [{"name": "p", "model": "openai/x"}], environment=value)
        (tmp_path / "data" / "environment.py").unlink()
        assert _errors(suite) == [], value
    suite = write_env_suite(tmp_path, [GOOD_CASE], [{"name": "p", "model": "openai/x"}], environment="acounts")
    (error,) = _errors(suite)
    assert error.startswith(f"{suite}:") and "environment: cannot import 'acounts'" in error
    assert error.endswith("registered environments: accounts")


def test_the_state_json_of_the_demo_is_the_generators_shop() -> None:
    root = Path(__file__).resolve().parent.parent / "datasets" / "support-triage"
    state = json.loads((root / "state.json").read_text(encoding="utf-8"))
    assert sorted(state) == ["charges", "customers", "issued_refunds", "orders", "replies", "tickets"]
    assert len(state["tickets"]) >= 220 and set(state["issued_refunds"]) == set(state["charges"])
    assert STATE["accounts"]["acc_1"]["plan"] == "free"  # the test world stays as these tests expect


def test_loading_an_environment_leaves_no_bytecode_in_the_dataset_folder(tmp_path: Path) -> None:
    """Where Python writes bytecode (PYTHONDONTWRITEBYTECODE unset, as on most machines),
    importing environment.py, and a module of the dataset it imports, writes none beside them."""
    import os
    import subprocess
    import sys

    helper = "def plan_of(account):\n    return account['plan']\n"
    environment = "import os, sys\nsys.path.insert(0, os.path.dirname(__file__))\nimport helpers\n" + ENVIRONMENT
    suite = write_env_suite(tmp_path, [GOOD_CASE], [{"name": "p", "model": "openai/x"}], environment_py=environment)
    (tmp_path / "data" / "helpers.py").write_text(helper, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    done = subprocess.run([sys.executable, "-m", "agentctl", "suite", "validate", str(suite)], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not (tmp_path / "data" / "__pycache__").exists()


def test_the_processes_own_bytecode_setting_is_restored_after_loading(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from agentctl.environments.loader import EnvironmentSource, import_environment_class

    (tmp_path / "environment.py").write_text(ENVIRONMENT, encoding="utf-8")
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    cls = import_environment_class(EnvironmentSource(str(tmp_path / "environment.py"), True, None))
    assert cls.__name__ == "Environment" and sys.dont_write_bytecode is False
    (tmp_path / "environment.py").write_text("raise RuntimeError('broken')\n", encoding="utf-8")
    with pytest.raises(Exception, match="broken"):
        import_environment_class(EnvironmentSource(str(tmp_path / "environment.py"), True, None))
    assert sys.dont_write_bytecode is False
    assert not (tmp_path / "__pycache__").exists()
