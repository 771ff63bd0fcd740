"""Where a run came from: its id, the git commit, the candidates and suite as stored (no secrets)."""

from __future__ import annotations

import secrets as _random
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agentctl.config.models import CandidateSpec, Suite
from agentctl.core.secrets import scrub_params


def new_run_id() -> str:
    return datetime.now(UTC).strftime("ev-%Y%m%d-%H%M%S-") + _random.token_hex(3)


def git_commit(cwd: Path) -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=cwd, capture_output=True,
                             text=True, timeout=2)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def _prompt_digest(text: str | None) -> str | None:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()[:12] if text else None


def candidate_record(suite: Suite, c: CandidateSpec) -> dict[str, Any]:
    prompt_value = c.system_prompt or suite.agent.system_prompt
    try:
        prompt = suite.system_prompt_for(c)
    except OSError:
        prompt = None
    return {
        "name": c.name, "model": c.model, "params": scrub_params(c.params),
        "system_prompt": prompt_value if prompt_value and len(prompt_value) < 200 else
        (prompt_value[:200] + "..." if prompt_value else None),
        "system_prompt_sha": _prompt_digest(prompt),
    }


def suite_config(suite: Suite) -> dict[str, Any]:
    # every params mapping at any depth (candidates, judges, user simulators...) is scrubbed by structure
    data = scrub_params(suite.model_dump(mode="json", by_alias=True, exclude_none=True))
    data["_source"] = str(suite.source) if suite.source else None
    return data
