"""Committed golden files: compared, or rewritten on purpose with ``AGENTCTL_UPDATE_GOLDEN=1``.

Each golden file has exactly one test that writes it, and the write is atomic (a temporary
file beside it, then a rename), so parallel workers (``pytest -n auto``) never read half a file.
"""

from __future__ import annotations

import os
from pathlib import Path

UPDATE = "AGENTCTL_UPDATE_GOLDEN"


def golden_text(path: Path, current: str) -> str:
    """The committed text of ``path``; first replaced by ``current`` when regenerating on purpose."""
    if os.environ.get(UPDATE):
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(current, encoding="utf-8")
        os.replace(tmp, path)
    return path.read_text(encoding="utf-8")
