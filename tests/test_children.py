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


def test_wait_exit_works_with_more_descriptors_open_than_select_takes() -> None:
    """A run with a high concurrency holds thousands of sockets: the child's process
    descriptor may be numbered past 1024, where select() refuses it."""
    import os
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1200:
        pytest.skip("the descriptor limit is below 1,200")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200), hard))
    held = []
    try:
        while (fd := os.open(os.devnull, os.O_RDONLY)) < 1100:
            held.append(fd)
        held.append(fd)
        proc = _child("import sys; sys.exit(4)")
        assert wait_exit(proc, 60) == 4
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
