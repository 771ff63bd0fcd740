"""Keep API keys and authorization headers out of the store, reports, logs and errors."""

from __future__ import annotations

import logging
import os
import re
from typing import Any

# Whole-word names only: ``max_tokens`` and ``prompt_tokens`` are parameters, ``access_token`` a secret.
_SECRET_KEY = re.compile(
    r"(^|[_-])(api[_-]?key|key|secret|token|password|passwd|authorization|auth|credentials?|cookie|bearer)$", re.I
)
_SECRET_ENV = re.compile(r"(_API_KEY|_KEY|_TOKEN|_SECRET|_PASSWORD)$")
TOKEN_PATTERN = re.compile(
    r"(?<![A-Za-z0-9])(?:sk-(?:proj-|ant-)?[A-Za-z0-9_-]{6,}|(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{10,}"
    r"|(?:AKIA|ASIA)[A-Z0-9]{16}|AIza[0-9A-Za-z_-]{20,}|(?:gh[pousr]|github_pat)_[A-Za-z0-9_]{10,}"
    r"|xox[abprs][-_][A-Za-z0-9-]{10,}|eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})"
)
"""A provider key or token by its shape (OpenAI, Anthropic, Stripe, AWS, Google, GitHub, Slack, JWT)."""
BEARER_PATTERN = re.compile(r"(?<=[Bb][Ee][Aa][Rr][Ee][Rr] )[A-Za-z0-9._~+/=-]{8,}")
"""The credential of an ``Authorization: Bearer ...`` value."""
_KEY_VALUE = re.compile(r"(?i)((?:api[_-]?key|x-api-key|authorization)[\"']?\s*[:=]\s*[\"']?)[^\s\"',}]{6,}")
SECRET_PATTERNS: tuple[re.Pattern[str], ...] = (BEARER_PATTERN, TOKEN_PATTERN)
"""Every secret found by shape alone, each match the secret itself: the one set that logs, the
store, reports and dataset imports redact."""
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
    return scrub_text(text, REDACTED)


def scrub_text(text: str, placeholder: str = REDACTED) -> str:
    """``text`` with every secret found by shape (:data:`SECRET_PATTERNS`, ``api_key=...``) replaced."""
    if not text:
        return text
    for pattern in SECRET_PATTERNS:
        text = pattern.sub(placeholder, text)
    return _KEY_VALUE.sub(lambda m: m.group(1) + placeholder, text)


def scrub(value: Any, placeholder: str = REDACTED) -> Any:
    """A copy of a JSON-like ``value``: secret-named keys' values and secret-shaped strings replaced."""
    if isinstance(value, dict):
        return {
            k: (placeholder if is_secret_key(str(k)) and v not in (None, "", False) else scrub(v, placeholder))
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [scrub(v, placeholder) for v in value]
    if isinstance(value, str):
        return scrub_text(value, placeholder)
    return value


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
