"""One plugin mechanism (entry points) for providers, scorers and importers: built-ins
register like a third party, and a broken plugin is an error naming it (exit 2)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentctl.config.models import CandidateSpec, Suite
from agentctl.core import plugins
from agentctl.core.errors import InputError
from agentctl.datasets.importers.registry import available
from agentctl.datasets.models import Dataset
from agentctl.providers.base import ProviderSettings, make_provider
from agentctl.providers.replay import ReplayProvider

ROOT = Path(__file__).parent.parent
DATASET = Dataset(path=Path("ds"), cases=[])


def install_fake_distribution(where: Path, entry_points: str, modules: dict[str, str] | None = None) -> None:
    """A distribution on ``where`` (a sys.path entry) as pip would leave it: a dist-info with entry points."""
    info = where / "fakeplugin-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fakeplugin\nVersion: 0.1\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(entry_points, encoding="utf-8")
    for name, code in (modules or {}).items():
        (where / f"{name}.py").write_text(code, encoding="utf-8")


@pytest.fixture
def plugin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    where = tmp_path / "site"
    where.mkdir()
    monkeypatch.syspath_prepend(str(where))
    plugins.refresh()
    yield where
    monkeypatch.undo()
    plugins.refresh()


def test_built_ins_are_entry_points_like_any_plugin() -> None:
    assert {"litellm", "replay"} <= set(plugins.names(plugins.PROVIDERS))
    assert {"deepeval", "ragas"} <= set(plugins.names(plugins.SCORERS))
    assert available() == ["openai", "openinference", "otel"]
    assert set(plugins.GROUPS) >= {"agentctl.environments", "agentctl.user_simulators"}
    assert plugins.names(plugins.ENVIRONMENTS) == []


def test_a_third_party_provider_scheme(plugin_dir: Path) -> None:
    install_fake_distribution(
        plugin_dir, "[agentctl.providers]\nmock = mockprov:factory\n",
        {"mockprov": "class P:\n    def __init__(self, *a):\n        self.args = a\n"
                     "def factory(candidate, suite, dataset, settings):\n    return P(candidate.name)\n"})
    suite = Suite(name="t", dataset="ds", candidates=[CandidateSpec(name="m", model="mock:anything")])
    provider = make_provider(suite.candidates[0], suite, DATASET, settings=ProviderSettings())
    assert type(provider).__name__ == "P" and provider.args == ("m",)  # type: ignore[attr-defined]
    replay = CandidateSpec(name="r", model="replay:prod")
    assert isinstance(make_provider(replay, suite, DATASET, settings=ProviderSettings()), ReplayProvider)


def test_a_broken_plugin_is_named_not_swallowed(plugin_dir: Path) -> None:
    install_fake_distribution(plugin_dir, "[agentctl.scorers]\nmycorp = no_such_module_xyz:FAMILY\n")
    with pytest.raises(plugins.PluginError) as raised:
        plugins.load(plugins.SCORERS, "mycorp")
    assert str(raised.value) == ("plugin 'mycorp' (agentctl.scorers) failed to load: "
                                 "ModuleNotFoundError: No module named 'no_such_module_xyz'")
    assert isinstance(raised.value, InputError) and raised.value.exit_code == 2
    with pytest.raises(plugins.PluginError, match="no plugin 'nope' in agentctl.importers"):
        plugins.load(plugins.IMPORTERS, "nope")


def test_a_broken_scorer_plugin_fails_suite_validate_with_its_name(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    install_fake_distribution(site, "[agentctl.scorers]\nmycorp = no_such_module_xyz:FAMILY\n")
    suite = (ROOT / "evalsuites" / "support-triage.yaml").read_text(encoding="utf-8")
    suite = suite.replace("../datasets/", f"{ROOT}/datasets/").replace(
        "  - name: deepeval.tool_correctness", "  - name: mycorp.helpfulness\n  - name: deepeval.tool_correctness", 1)
    path = tmp_path / "suite.yaml"
    path.write_text(suite, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT / "cli")])}
    done = subprocess.run([sys.executable, "-m", "agentctl", "suite", "validate", str(path)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert done.returncode == 2, done.stderr
    line = suite.splitlines().index("  - name: mycorp.helpfulness") + 1
    assert f"suite.yaml:{line}: scorers[0].name: plugin 'mycorp' (agentctl.scorers) failed to load: " \
           "ModuleNotFoundError: No module named 'no_such_module_xyz'" in done.stdout + done.stderr
    assert "Traceback" not in done.stderr
