"""Keep API keys and authorization headers out of the store, reports, logs and errors."""

from __future__ import annotations

import logging
import os
import re
from functools import lru_cache
from typing import Any

# Whole-word names only: ``max_tokens`` and ``prompt_tokens`` are parameters, ``access_token`` a secret.
_SECRET_KEY = re.compile(
    r"(^|[_-])(api[_-]?key|key|secret|token|password|passwd|authorization|auth|credentials?|cookie|bearer)$", re.I
)
# Credential-shaped names litellm takes (aws_access_key_id, vertex_credentials, azure_ad_token,
# client_secret, api_key, ...): a name part that is a credential word.
_SECRET_PART = re.compile(
    r"(?:^|[_-])(?:key|keys|key_id|token|secret|secrets|password|passwd|pwd|credentials?|cookie|session|"
    r"signature|private)(?:$|[_-])", re.I)
_HEADER_KEYS = {"extra_headers", "headers", "default_headers"}
"""Params whose values are HTTP headers: every header value may be a credential."""
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)([^/@\s:]*):([^/@\s]*)@")
"""A URL whose userinfo carries a password (``https://svc:PASSWORD@host/v1``)."""
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


@lru_cache(maxsize=4096)
def is_secret_key(name: str) -> bool:
    """Whether a parameter name looks like it holds a credential (``api_key``, ``Authorization``...).

    Cached: a report asks this of the same few dozen names hundreds of thousands of times."""
    lowered = name.lower()
    if "max_" in lowered or lowered.endswith("tokens"):
        return False  # max_tokens, max_completion_tokens, stop_tokens: counts, not credentials
    return bool(_SECRET_KEY.search(name) or _SECRET_PART.search(name))


def strip_userinfo(value: str) -> str:
    """A URL with the password of its userinfo replaced (``https://svc:***@host/v1``)."""
    return _USERINFO.sub(lambda m: f"{m.group(1)}{m.group(2)}:{REDACTED}@", value)


def scrub_params(params: dict[str, Any]) -> dict[str, Any]:
    """A copy of litellm params with credentials replaced by ``***``, found by structure at any depth:
    values of credential-named keys, every header value, the password of a URL's userinfo, and
    key-like tokens in any string."""
    return _scrub(params)  # type: ignore[no-any-return]


def _scrub(value: Any, key: str = "") -> Any:
    if key and is_secret_key(key) and value not in (None, "", {}, []):
        return REDACTED
    if isinstance(value, dict):
        if key.lower() in _HEADER_KEYS:
            return {k: REDACTED for k in value}
        return {k: _scrub(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    if isinstance(value, str):
        return redact_text(strip_userinfo(value))
    return value


def _env_secrets() -> list[str]:
    return [v for k, v in os.environ.items() if _SECRET_ENV.search(k) and len(v) >= 8]


def redact_text(text: str, extra: list[str] | None = None) -> str:
    """``text`` with every known secret value and key-like token replaced by ``***``."""
    if not text:
        return text
    for value in sorted({*_env_secrets(), *_KNOWN, *(extra or [])}, key=len, reverse=True):
        if value and len(value) >= 6:
            text = text.replace(value, REDACTED)
    return scrub_text(text, REDACTED)


_MAYBE_SECRET = re.compile(
    r"(?i)sk-|sk_|rk_|pk_|AKIA|ASIA|AIza|gh[pousr]_|github_pat_|xox[abprs]|eyJ|bearer |://|api[_-]?key|authorization"
)
"""A superset of what :func:`scrub_text` can replace: the fixed text each of its patterns starts
with or needs (a token's prefix, ``bearer ``, a URL's ``://``, ``api_key``/``authorization``).
Text without any of it cannot hold a secret by shape, and is returned after one scan."""
_MIN_SECRET_LEN = 9
"""No pattern of :func:`scrub_text` matches fewer characters (``sk-`` and six more)."""


_MAYBE_ANCHORS = ("k-", "k_", "kia", "asia", "aiz", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "hub_pat", "xox", "eyj",
                  "bearer ", "://", "key", "auth")
"""Lowercased, each text :data:`_MAYBE_SECRET` matches holds one of these (sk-, sk_/rk_/pk_, akia/asia,
aiza, ghp_/github_pat_, xox*, eyj, bearer, ://, api_key/apikey, authorization): a few substring
tests are many times faster than that case-blind pattern."""


def may_hold_secret(text: str) -> bool:
    """False proves that :func:`scrub_text` leaves ``text`` alone, and every string whose characters
    appear in ``text`` in order and unbroken (such as a string inside JSON text encoded with
    ``ensure_ascii=False``, which escapes only quotes, backslashes and control characters).

    ``str.lower`` turns A-Z and the Kelvin sign into a-z; the other letters a case-blind pattern
    takes for a-z (İ and ı for i, ſ for s) it leaves, so text holding one of them may hold a secret.
    """
    lowered = text.lower()
    for anchor in _MAYBE_ANCHORS:  # a loop, not any(...): this runs for every string of a report
        if anchor in lowered:
            return True
    return "\u0130" in text or "\u0131" in text or "\u017f" in text


def scrub_text(text: str, placeholder: str = REDACTED) -> str:
    """``text`` with every secret found by shape (:data:`SECRET_PATTERNS`, ``api_key=...``) replaced."""
    # The substring test first: it clears most text at a tenth of the pattern's cost.
    if not text or len(text) < _MIN_SECRET_LEN or not may_hold_secret(text) or not _MAYBE_SECRET.search(text):
        return text
    for pattern in SECRET_PATTERNS:
        text = pattern.sub(placeholder, text)
    text = _USERINFO.sub(lambda m: f"{m.group(1)}{m.group(2)}:{placeholder}@" if m.group(3) else m.group(0), text)
    return _KEY_VALUE.sub(lambda m: m.group(1) + placeholder, text)


def scrub(value: Any, placeholder: str = REDACTED) -> Any:
    """A copy of a JSON-like ``value``: secret-named keys' values and secret-shaped strings replaced."""
    kind = type(value)
    if kind is str:
        return scrub_text(value, placeholder)
    if kind is int or kind is float or kind is bool or value is None:
        return value
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
    found: list[str] = []
    for key, value in params.items():
        if isinstance(value, str) and is_secret_key(str(key)):
            found.append(value)
        elif isinstance(value, dict) and str(key).lower() in _HEADER_KEYS:
            found.extend(str(v) for v in value.values() if isinstance(v, str))
            found.extend(v.split(" ", 1)[1] for v in value.values() if isinstance(v, str) and " " in v)
        elif isinstance(value, dict):
            found.extend(secret_values(value))
        elif isinstance(value, str):
            found.extend(m.group(3) for m in _USERINFO.finditer(value) if m.group(3))
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
