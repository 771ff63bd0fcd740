"""Last line of defence against secrets in reports.

Keys are scrubbed before results reach the store; reports scrub again, because a report is
the file that gets attached to CI jobs and mailed around. The rule is the core's
(:mod:`agentctl.core.secrets`); reports only choose the placeholder.
"""

from __future__ import annotations

from typing import Any

from agentctl.core import secrets

REDACTED = "[redacted]"


def scrub_text(text: str) -> str:
    """Replace anything shaped like a provider key."""
    return secrets.scrub_text(text, REDACTED)


def scrub_mapping(value: Any) -> Any:
    """A copy of ``value`` with secret-named keys' values and key-shaped strings replaced."""
    return secrets.scrub(value, REDACTED)
