"""The committed trace fixtures are what their generator writes."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from support.traces import TRACES


def test_committed_fixtures_match_their_generator(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_fixtures", TRACES / "make_fixtures.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(tmp_path)
    generated = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert generated, "the generator wrote nothing"
    for rel in generated:
        assert (TRACES / rel).read_bytes() == (tmp_path / rel).read_bytes(), f"{rel} is stale: run make_fixtures.py"
