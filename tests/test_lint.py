"""The code stays clean: ruff (which also bans module-level imports of the heavy libraries)
and mypy, run as part of the test command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff() -> None:
    out = _run(str(BIN / "ruff"), "check", "cli", "tests")
    assert out.returncode == 0, out.stdout + out.stderr


def test_mypy() -> None:
    out = _run(str(BIN / "mypy"))
    assert out.returncode == 0, out.stdout + out.stderr
