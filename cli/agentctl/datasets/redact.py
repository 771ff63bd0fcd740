"""Redaction of personal data and secrets in imported recordings.

Emails, phone numbers, payment card numbers (Luhn-checked), API-key-like tokens and IBANs
(mod-97-checked) are replaced by placeholders such as ``<EMAIL_3f2a9c1b>``. A placeholder is
an HMAC of the value under a key kept beside the dataset, so the same value gets the same
placeholder across a dataset and across imports (replayed calls still match their recorded
arguments), while nobody holding the dataset alone can reverse or brute-force it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentctl.core.errors import InputError
from agentctl.core.secrets import BEARER_PATTERN, TOKEN_PATTERN

KEY_FILE = ".redaction-key"
"""File in the dataset folder holding the placeholder key (keep it out of version control)."""
KEY_ENV = "AGENTCTL_REDACTION_KEY"
"""Environment variable that overrides the key file (share one key across a team's datasets)."""


def luhn_ok(digits: str) -> bool:
    """Whether a digit string passes the Luhn checksum of payment card numbers."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def iban_ok(text: str) -> bool:
    """Whether ``text`` (spaces allowed) is an IBAN with a valid mod-97 check."""
    s = text.replace(" ", "").upper()
    if not 15 <= len(s) <= 34:
        return False
    rearranged = s[4:] + s[:4]
    try:
        number = int("".join(str(int(c, 36)) for c in rearranged))
    except ValueError:
        return False
    return number % 97 == 1


def _card_ok(match: str) -> bool:
    digits = re.sub(r"[ -]", "", match)
    return 13 <= len(digits) <= 19 and luhn_ok(digits)


@dataclass(frozen=True)
class Pattern:
    """A kind of value to redact: a regex and an optional check that must also pass."""

    kind: str
    regex: re.Pattern[str]
    check: Callable[[str], bool] | None = None


# Order matters: keys and IBANs before cards (an IBAN holds long digit runs), cards before phones.
BUILTIN_PATTERNS: tuple[Pattern, ...] = (
    Pattern("API_KEY", TOKEN_PATTERN),
    Pattern("API_KEY", BEARER_PATTERN),
    Pattern("IBAN", re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b"), iban_ok),
    Pattern("CARD", re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])"), _card_ok),
    Pattern("EMAIL", re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")),
    Pattern("PHONE", re.compile(
        r"(?<![\w+])(?:\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,4}){1,4}"
        r"|\(\d{3}\)[ .-]?\d{3}[ .-]\d{4}|\d{3}[.-]\d{3}[.-]\d{4})(?![\w])"
    ), lambda m: 8 <= sum(c.isdigit() for c in m) <= 15),
)

PLACEHOLDER = re.compile(r"<([A-Z][A-Z0-9_]*)_[0-9a-f]{8}>")
"""Shape of a placeholder; never redacted again (re-imports are idempotent)."""


def parse_extra_patterns(specs: list[str]) -> list[Pattern]:
    """``NAME=REGEX`` strings (from ``--redact-pattern``) as patterns; bad ones are input errors."""
    out: list[Pattern] = []
    for spec in specs:
        name, sep, regex = spec.partition("=")
        kind = re.sub(r"[^A-Z0-9_]", "_", name.strip().upper())
        if not sep or not kind or not regex:
            raise InputError(f"--redact-pattern {spec!r}: expected NAME=REGEX")
        try:
            out.append(Pattern(kind, re.compile(regex)))
        except re.error as exc:
            raise InputError(f"--redact-pattern {spec!r}: invalid regular expression ({exc})") from exc
    return out


def load_key(dataset_dir: Path) -> bytes:
    """The placeholder key: ``$AGENTCTL_REDACTION_KEY``, else the dataset's key file (created once)."""
    env = os.environ.get(KEY_ENV)
    if env:
        return env.encode()
    path = dataset_dir / KEY_FILE
    if path.exists():
        return path.read_text(encoding="utf-8").strip().encode()
    dataset_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key + "\n", encoding="utf-8")
    path.chmod(0o600)
    ignore = dataset_dir / ".gitignore"
    if not ignore.exists():
        # The key lets its holder test guesses against placeholders; it must not travel with the data.
        ignore.write_text(f"{KEY_FILE}\n", encoding="utf-8")
    return key.encode()


@dataclass
class Redactor:
    """Replaces sensitive values in strings and JSON-like structures, counting what it replaced."""

    key: bytes
    patterns: list[Pattern] = field(default_factory=lambda: list(BUILTIN_PATTERNS))
    counts: Counter[str] = field(default_factory=Counter)
    """Replacements made, by kind."""
    distinct: dict[str, set[str]] = field(default_factory=dict)
    """Distinct placeholders handed out, by kind."""

    def placeholder(self, kind: str, value: str) -> str:
        digest = hmac.new(self.key, f"{kind}\0{value}".encode(), hashlib.sha256).hexdigest()[:8]
        token = f"<{kind}_{digest}>"
        self.counts[kind] += 1
        self.distinct.setdefault(kind, set()).add(token)
        return token

    def text(self, value: str) -> str:
        """``value`` with every sensitive match replaced by its placeholder."""
        for pattern in self.patterns:
            value = self._apply(pattern, value)
        return value

    def _apply(self, pattern: Pattern, value: str) -> str:
        def replace(m: re.Match[str]) -> str:
            found = m.group(0)
            if PLACEHOLDER.fullmatch(found) or (pattern.check is not None and not pattern.check(found)):
                return found
            # Cards and phones are the same number however they are spaced.
            canonical = re.sub(r"[ .()-]", "", found) if pattern.kind in ("CARD", "PHONE", "IBAN") else found
            return self.placeholder(pattern.kind, canonical)

        return pattern.regex.sub(replace, value)

    def value(self, obj: Any) -> Any:
        """A redacted copy of a JSON-like value (strings holding JSON are redacted inside, and stay JSON)."""
        if isinstance(obj, str):
            stripped = obj.lstrip()
            if stripped[:1] in ("{", "["):
                try:
                    parsed = json.loads(obj)
                except ValueError:
                    return self.text(obj)
                redacted = self.value(parsed)
                return obj if redacted == parsed else json.dumps(redacted, ensure_ascii=False)
            return self.text(obj)
        if isinstance(obj, bool) or obj is None or isinstance(obj, float):
            return obj
        if isinstance(obj, int):
            # A card number sent as a JSON number.
            digits = str(abs(obj))
            if 13 <= len(digits) <= 19 and luhn_ok(digits) and any(p.kind == "CARD" for p in self.patterns):
                return self.placeholder("CARD", digits)
            return obj
        if isinstance(obj, dict):
            return {k: self.value(v) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return [self.value(v) for v in obj]
        return obj

    def report(self) -> dict[str, dict[str, int]]:
        """What was redacted: per kind, the number of replacements and of distinct values."""
        return {
            kind: {"replacements": n, "distinct_values": len(self.distinct.get(kind, ()))}
            for kind, n in sorted(self.counts.items())
        }


def redactor_for(dataset_dir: Path, extra: list[str] | None = None) -> Redactor:
    """A redactor with the built-in patterns, ``NAME=REGEX`` extras, and the dataset's key."""
    patterns = [*parse_extra_patterns(extra or []), *BUILTIN_PATTERNS]
    return Redactor(key=load_key(dataset_dir), patterns=patterns)
