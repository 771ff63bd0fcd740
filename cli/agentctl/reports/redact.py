"""Last line of defence against secrets in reports.

Keys are scrubbed before results reach the store; reports scrub again, because a report is
the file that gets attached to CI jobs and mailed around.
"""

from __future__ import annotations

import re
from typing import Any

# Whole-word names only: ``max_tokens`` is a parameter, ``access_token`` a secret.
_SECRET_KEY = re.compile(
    r"(^|[_-])(api[_-]?key|key|secret|token|password|passwd|authorization|auth|credentials?|cookie)$", re.I
)
_SECRET_VALUE = re.compile(
    r"\b(sk-[A-Za-z0-9_\-]{16,}|sk-ant-[A-Za-z0-9_\-]{16,}|gh[pousr]_[A-Za-z0-9]{20,}|AKIA[0-9A-Z]{16}"
    r"|xox[abprs]-[A-Za-z0-9\-]{10,}|AIza[0-9A-Za-z_\-]{30,})"
)
REDACTED = "[redacted]"


def scrub_text(text: str) -> str:
    """Replace anything shaped like a provider key."""
    return _SECRET_VALUE.sub(REDACTED, text)


def scrub_mapping(value: Any) -> Any:
    """A copy of ``value`` with secret-named keys' values and key-shaped strings replaced."""
    if isinstance(value, dict):
        return {
            k: (REDACTED if _SECRET_KEY.search(str(k)) and v not in (None, "", False) else scrub_mapping(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [scrub_mapping(v) for v in value]
    if isinstance(value, str):
        return scrub_text(value)
    return value
