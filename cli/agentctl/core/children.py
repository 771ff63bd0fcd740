"""What agentctl's own helper processes (``python -m agentctl....``) are started with."""

from __future__ import annotations

import os
from pathlib import Path


def child_env() -> dict[str, str]:
    """This process's environment, with the folder holding this ``agentctl`` first on
    ``PYTHONPATH``: the child imports the same code as its parent, installed or not."""
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parents[2])  # the folder holding agentctl/
    env["PYTHONPATH"] = os.pathsep.join([package_root, *filter(None, [env.get("PYTHONPATH")])])
    return env
