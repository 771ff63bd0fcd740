"""Redaction on the way in: what is replaced, what is left alone, and that placeholders are stable."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentctl.commands.dataset import dataset_app
from agentctl.core.errors import InputError
from agentctl.datasets.redact import (
    BUILTIN_PATTERNS,
    KEY_ENV,
    KEY_FILE,
    PLACEHOLDER,
    Redactor,
    iban_ok,
    luhn_ok,
    parse_extra_patterns,
    redactor_for,
)
from support.traces import TRACES

PLANTED = ["jane.doe@example.com", "4111 1111 1111 1111", "4111111111111111", "sk-proj-Ab12Cd34Ef56Gh78Ij90Kl12Mn34",
           "DE89 3704 0044 0532 0130 00", "DE89370400440532013000", "+1 415 555 0100", "415 555 0100"]


def _redactor(key: bytes = b"k") -> Redactor:
    return Redactor(key=key)


@pytest.mark.parametrize("text,kind", [
    ("mail jane.doe@example.com now", "EMAIL"),
    ("card 4111 1111 1111 1111 ok", "CARD"),
    ("card 4111-1111-1111-1111 ok", "CARD"),
    ("card 5500005555555559.", "CARD"),
    ("call +1 415 555 0100 today", "PHONE"),
    ("call (415) 555-0100 today", "PHONE"),
    ("call 415-555-0100 today", "PHONE"),
    ("call +44 20 7946 0958 today", "PHONE"),
    ("key sk-proj-Ab12Cd34Ef56Gh78Ij90Kl12Mn34 here", "API_KEY"),
    ("aws AKIAIOSFODNN7EXAMPLE here", "API_KEY"),
    ("gh ghp_abcdefghijklmnopqrstuvwxyz0123456789 here", "API_KEY"),
    ("Authorization: Bearer abcdef0123456789abcdef", "API_KEY"),
    ("pay to DE89 3704 0044 0532 0130 00 please", "IBAN"),
    ("pay to GB82WEST12345698765432 please", "IBAN"),
])
def test_sensitive_values_are_replaced(text: str, kind: str) -> None:
    r = _redactor()
    out = r.text(text)
    assert out != text and f"<{kind}_" in out
    assert r.counts[kind] == 1
    assert PLACEHOLDER.search(out)


@pytest.mark.parametrize("text", [
    "order 5521 of 2026-05-14 for 7500 cents",
    "charge ch_123 refund re_1 ticket 883192",
    "tracking 1234567890123",            # 13 digits failing Luhn: an id, not a card
    "account DE00 3704 0044 0532 0130 00",  # IBAN shape, bad checksum
    "version 1.2.3 at 10:00:00Z",
])
def test_ordinary_values_are_left_alone(text: str) -> None:
    assert _redactor().text(text) == text


def test_checksums() -> None:
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    assert iban_ok("DE89 3704 0044 0532 0130 00") and not iban_ok("DE89 3704 0044 0532 0130 01")


def test_same_value_same_placeholder_across_spacing_instances_and_imports(tmp_path: Path) -> None:
    a = redactor_for(tmp_path)
    b = redactor_for(tmp_path)  # a later import into the same dataset
    assert a.text("4111 1111 1111 1111") == a.text("4111-1111-1111-1111") == b.text("4111111111111111")
    assert a.text("x jane@example.com") == b.text("x jane@example.com")
    assert a.text("jane@example.com") != a.text("john@example.com")
    assert redactor_for(tmp_path / "other").text("jane@example.com") != a.text("jane@example.com")
    key = tmp_path / KEY_FILE
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert KEY_FILE in (tmp_path / ".gitignore").read_text()


def test_key_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "team-key")
    assert redactor_for(tmp_path / "a").text("jane@example.com") == redactor_for(tmp_path / "b").text(
        "jane@example.com")
    assert not (tmp_path / "a" / KEY_FILE).exists()


def test_structures_stay_valid_json_and_redaction_is_idempotent() -> None:
    r = _redactor()
    args = json.dumps({"email": "jane.doe@example.com", "card": 4111111111111111, "n": 5521})
    out = r.value({"arguments": args, "list": ["+1 415 555 0100"], "n": 4111111111111111})
    parsed = json.loads(out["arguments"])
    assert parsed["email"].startswith("<EMAIL_") and parsed["card"].startswith("<CARD_") and parsed["n"] == 5521
    assert out["n"] == parsed["card"]  # a number and the same number in text: one placeholder
    assert r.value(out) == out


def test_extra_patterns_and_bad_ones() -> None:
    r = Redactor(key=b"k", patterns=[*parse_extra_patterns(["ORDER=ORD-\\d+"]), *BUILTIN_PATTERNS])
    assert r.text("see ORD-12345").startswith("see <ORDER_")
    with pytest.raises(InputError, match="NAME=REGEX"):
        parse_extra_patterns(["ORDER"])
    with pytest.raises(InputError, match="invalid regular expression"):
        parse_extra_patterns(["X=("])


def test_import_leaves_no_planted_value_anywhere_and_reports_counts(tmp_path: Path) -> None:
    result = CliRunner().invoke(dataset_app, [
        "import", "--from", "otel", str(TRACES / "otel" / "collector_file.json"),
        str(TRACES / "otel" / "otlp_structured.json"), "--out", str(tmp_path), "--label", "prod", "--json",
        "--redact-pattern", "CUSTOMER=cus_\\d+"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["redaction"]["EMAIL"] == {"replacements": 3, "distinct_values": 1}
    assert {k: v["distinct_values"] for k, v in report["redaction"].items()} == {
        "API_KEY": 1, "CARD": 1, "CUSTOMER": 1, "EMAIL": 1, "IBAN": 1, "PHONE": 1}
    written = "".join(p.read_text() for p in tmp_path.rglob("*") if p.is_file() and p.name != KEY_FILE)
    for value in [*PLANTED, "cus_77"]:
        assert value not in written, value


def test_no_redact_is_loud_and_keeps_values(tmp_path: Path) -> None:
    result = CliRunner().invoke(dataset_app, ["import", "--from", "openai", str(TRACES / "openai" / "support.jsonl"),
                                              "--out", str(tmp_path), "--no-redact"])
    assert result.exit_code == 0
    assert "--no-redact" in result.output and "Do not commit" in result.output
    assert "jane.doe@example.com" in (tmp_path / "runs.jsonl").read_text()
    assert not (tmp_path / KEY_FILE).exists()
