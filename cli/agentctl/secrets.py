"""Keep API keys and authorization headers out of the store, reports, logs and errors."""

from __future__ import annotations

import logging
import os
import re
from typing import Any

_SECRET_KEY = re.compile(r"(api[_-]?key|token|secret|password|authorization|auth|credential|bearer)", re.I)
_SECRET_ENV = re.compile(r"(_API_KEY|_KEY|_TOKEN|_SECRET|_PASSWORD)$")
_SECRET_TEXT = [
    re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"\bsk-[A-Za-z0-9_-]{6,}"),
    re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"),
    re.compile(r"\bAIza[0-9A-Za-z_-]{20,}\b"),
    re.compile(r"\b(?:ghp|gho|ghs|github_pat|xox[abp])_[A-Za-z0-9_]{10,}"),
    re.compile(r"(?i)((?:api[_-]?key|x-api-key|authorization)[\"']?\s*[:=]\s*[\"']?)[^\s\"',}]{6,}"),
]
REDACTED = "***"


def is_secret_key(name: str) -> bool:
    """Whether a parameter name looks like it holds a credential (``api_key``, ``Authorization``...)."""
    return bool(_SECRET_KEY.search(name)) and name.lower() not in {"max_tokens", "tokens"}


def scrub_params(params: dict[str, Any]) -> dict[str, Any]:
    """A copy of litellm params with credential values replaced by ``***`` (at any depth)."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        if is_secret_key(str(key)) and "max_" not in str(key).lower():
            out[key] = REDACTED
        elif isinstance(value, dict):
            out[key] = scrub_params(value)
        else:
            out[key] = value
    return out


def _env_secrets() -> list[str]:
    return [v for k, v in os.environ.items() if _SECRET_ENV.search(k) and len(v) >= 8]


def redact_text(text: str, extra: list[str] | None = None) -> str:
    """``text`` with every known secret value and key-like token replaced by ``***``."""
    if not text:
        return text
    for value in [*_env_secrets(), *(extra or [])]:
        if value and len(value) >= 6:
            text = text.replace(value, REDACTED)
    for pattern in _SECRET_TEXT:
        if pattern.groups:
            text = pattern.sub(lambda m: (m.group(1) + " " if m.group(1).lower() == "bearer" else m.group(1)) + REDACTED
                               if m.lastindex else REDACTED, text)
        else:
            text = pattern.sub(REDACTED, text)
    return text


def secret_values(params: dict[str, Any]) -> list[str]:
    """Credential values found in params, to redact from error messages."""
    found = []
    for key, value in params.items():
        if isinstance(value, str) and is_secret_key(str(key)):
            found.append(value)
        elif isinstance(value, dict):
            found.extend(secret_values(value))
    return found


_KNOWN: set[str] = set()


def remember_secrets(values: list[str]) -> None:
    """Secret values (candidate ``api_key`` params...) that log redaction must also hide."""
    _KNOWN.update(v for v in values if v and len(v) >= 6)


class RedactingFilter(logging.Filter):
    """A logging filter that removes secrets from every record it sees (litellm's debug logs)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a record whose args do not fit its format: leave it to logging
            return True
        record.msg = redact_text(message, extra=sorted(_KNOWN))
        record.args = None
        return True


_LOGGERS = ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "litellm", "httpx", "httpcore", "openai")


def install_log_redaction() -> None:
    """Redact secrets from litellm's, httpx's and openai's loggers and their handlers (idempotent)."""
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        for target in (logger, *logger.handlers):
            if not any(isinstance(f, RedactingFilter) for f in target.filters):
                target.addFilter(RedactingFilter())
