"""agentctl.core.children: waiting for a helper process to exit."""

from __future__ import annotations

import subprocess
import sys

import pytest

from agentctl.core.children import wait_exit


def _child(code: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", code])


def test_wait_exit_returns_the_exit_code_once_the_child_has_exited() -> None:
    proc = _child("import sys, time; time.sleep(0.2); sys.exit(3)")
    assert wait_exit(proc, 60) == 3
    assert proc.returncode == 3  # reaped
    assert wait_exit(proc, 60) == 3  # and again, once reaped


def test_wait_exit_times_out_like_popen_wait() -> None:
    proc = _child("import time; time.sleep(60)")
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            wait_exit(proc, 0.2)
        assert proc.poll() is None
    finally:
        proc.kill()
        proc.wait()
