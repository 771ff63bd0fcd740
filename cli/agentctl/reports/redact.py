"""Last line of defence against secrets in reports.

Keys are scrubbed before results reach the store; reports scrub again, because a report is
the file that gets attached to CI jobs and mailed around. The rule is the core's
(:mod:`agentctl.core.secrets`); reports only choose the placeholder.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agentctl.core import secrets
from agentctl.core.jsonvalues import json_ready

REDACTED = "[redacted]"


def scrub_text(text: str) -> str:
    """Replace anything shaped like a provider key."""
    return secrets.scrub_text(text, REDACTED)


def scrub_mapping(value: Any) -> Any:
    """A copy of ``value`` with secret-named keys' values and key-shaped strings replaced."""
    return secrets.scrub(value, REDACTED)


def encode_scrubbed(value: Any, encode: Callable[[Any], str], *, plain_keys: bool) -> str:
    """``encode(json_ready(scrub_mapping(value)))``, made cheap for the usual value with nothing to scrub.

    ``encode`` must be a JSON encoder with ``ensure_ascii=False`` and ``allow_nan=False`` and no
    ``default``; ``plain_keys`` says that every dict key inside ``value`` is a string and none is
    secret-named (the caller's keys are fixed). Then ``value`` is encoded as it is, and the text is
    kept when no string in it may hold a secret: the encoder copies every character a secret's
    shape needs unchanged, so that text is exactly what the scrubbed, JSON-ready copy would encode
    to. Anything else (a possible secret, a non-finite number, a timestamp) takes the long way.
    """
    if plain_keys:
        try:
            text = encode(value)
        except (TypeError, ValueError):  # a timestamp or a non-finite float: json_ready spells those
            pass
        else:
            if not secrets.may_hold_secret(text):
                return text
    return encode(json_ready(scrub_mapping(value)))


def plain_keys(keys: Any) -> bool:
    """Whether every one of ``keys`` is a string that is not secret-named."""
    return all(isinstance(k, str) and not secrets.is_secret_key(k) for k in keys)
