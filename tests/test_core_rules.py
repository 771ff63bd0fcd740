"""One rule, one place: the scorer, the deepeval/ragas mapping, the reports and the importers
call the same core function, so they cannot disagree (issue 10)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from agentctl.config.models import AgentConfig, CandidateSpec, Price, Suite
from agentctl.core import cost, secrets
from agentctl.core.jsonvalues import finite_or_none, json_ready
from agentctl.core.trajectory import Step, Trajectory, is_write_side_effect
from agentctl.datasets.models import Case, ToolCatalog
from agentctl.datasets.redact import Redactor
from agentctl.metrics.compare import MetricDelta
from agentctl.reports.actions import diff_actions
from agentctl.reports.redact import scrub_mapping, scrub_text
from agentctl.scorers.mapping import select_calls
from agentctl.scorers.outcome import score_outcome

SUITE = Suite(name="t", dataset="ds", agent=AgentConfig(escalation_tool="escalate_to_human"),
              candidates=[CandidateSpec(name="prod", model="replay:prod")])
CATALOG = ToolCatalog.model_validate({"tools": [
    {"name": "get_ticket", "effect": "read"}, {"name": "update_ticket", "effect": "write"}]})


def verdict_and_diff(expected_args: dict[str, Any], actual_args: dict[str, Any], tool: str = "update_ticket",
                     effect: str = "write") -> tuple[bool, Any]:
    """The verdict of a one-write run and the report's diff of the same run (from its stored steps)."""
    case = Case.model_validate({"id": "T-1", "input": "x", "expected": {
        "actions": [{"tool": "update_ticket", "args": expected_args}]}})
    step = Step(index=1, kind="tool", tool=tool, args=actual_args, effect=effect)  # type: ignore[arg-type]
    traj = Trajectory("T-1", "prod", 1, "replay:prod", status="completed",
                      steps=[Step(index=0, kind="model"), step, Step(index=2, kind="model", content="Done.")])
    verdict = score_outcome(case, traj, SUITE, CATALOG)
    timeline = [{"step": s.index, "kind": s.kind, "tool": s.tool, "effect": s.effect, "args": s.args,
                 "error": s.error} for s in traj.steps]
    expected = [a.model_dump() for a in case.expected.actions]
    return verdict.correct, diff_actions(expected, timeline)


@pytest.mark.parametrize(("expected", "actual", "correct"), [
    # $contains looks into lists (the report's old approximation did not)...
    ({"tags": {"$contains": "vip"}}, {"tags": ["billing", "vip"]}, True),
    # ...and is case-sensitive (the old approximation lower-cased both sides).
    ({"note": {"$contains": "VIP"}}, {"note": "a vip customer"}, False),
    # $approx takes numbers only: true is not 1 (the old approximation accepted it).
    ({"priority": {"$approx": [1, 0.5]}}, {"priority": True}, False),
    ({"priority": {"$approx": [1, 0.5]}}, {"priority": 1.2}, True),
])
def test_report_diff_agrees_with_the_verdict(expected: dict[str, Any], actual: dict[str, Any], correct: bool) -> None:
    verdict_correct, diff = verdict_and_diff(expected, actual)
    assert verdict_correct is correct
    assert diff.clean is correct
    line = diff.lines[0]
    assert line.op == ("same" if correct else "changed")
    if not correct:
        # The diff shows the verdict's own difference text, argument by argument.
        key = next(iter(expected))
        assert line.reason is not None and line.reason.startswith(f"{key}: ")
        assert [a.reason for a in line.args] == [line.reason]


def test_approx_true_reason_is_the_matchers_text() -> None:
    _, diff = verdict_and_diff({"priority": {"$approx": [1, 0.5]}}, {"priority": True})
    assert diff.lines[0].reason == "priority: expected 1 ± 0.5, got true"


def test_an_undeclared_tool_is_a_write_for_scorer_mapping_and_report() -> None:
    # Outcome scoring always held that a tool missing from the catalog is a write; the
    # trajectory, the deepeval/ragas mapping and the report now ask the same function.
    step = Step(index=1, kind="tool", tool="wipe_account", args={"id": 7}, effect="unknown")
    traj = Trajectory("T-1", "prod", 1, "replay:prod", status="completed", steps=[step])
    assert is_write_side_effect(step)
    case = Case.model_validate({"id": "T-1", "input": "x", "expected": {"actions": []}})
    verdict = score_outcome(case, traj, SUITE, CATALOG)
    assert verdict.critical_error and verdict.reasons == ["unexpected write: wipe_account(id=7)"]
    assert select_calls(traj, "effects") == [step] == traj.writes
    diff = diff_actions([], [{"step": 1, "kind": "tool", "tool": "wipe_account", "effect": "unknown", "args": {"id": 7}}])
    assert [(line.op, line.tool) for line in diff.lines] == [("extra", "wipe_account")]


def test_call_cost_prefers_the_suite_price_then_the_cost_map() -> None:
    price = Price(input_usd_per_mtok=1.0, output_usd_per_mtok=10.0)
    assert cost.call_cost(price, 1000, 100, lambda: 99.0) == pytest.approx((1000 * 1.0 + 100 * 10.0) / 1e6)
    assert cost.call_cost(None, 1000, 100, lambda: 0.25) == 0.25

    def unknown_model() -> float:
        raise ValueError("model not in the cost map")

    assert cost.call_cost(None, 1000, 100, unknown_model) == 0.0


TOKENS = [
    "sk-ant-api03-abcdefghijklmnopqrst",
    "sk-proj-abcdefghijklmnopqrstuvwx",
    "ghp_abcdefghijklmnopqrstuvwxyz0123",
    "github_pat_11ABCDEFG0123456789_abcdefghij",
    "AKIAABCDEFGHIJKLMNOP",
    "AIzaSyA-abcdefghijklmnopqrstuvwxyz012345",
    "xoxb-1234567890-abcdefghij",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
]


@pytest.mark.parametrize("token", TOKENS)
def test_one_secret_set_for_logs_reports_and_imports(token: str) -> None:
    text = f"call failed with key {token} (retrying)"
    assert token not in secrets.redact_text(text)
    assert token not in scrub_text(text)
    assert token not in str(scrub_mapping({"message": text}))
    assert token not in Redactor(key=b"k").text(text)
    record = logging.LogRecord("litellm", logging.INFO, __file__, 1, text, None, None)
    secrets.RedactingFilter().filter(record)
    assert token not in record.getMessage()


def test_secret_key_names_are_whole_words() -> None:
    assert secrets.is_secret_key("api_key") and secrets.is_secret_key("access_token")
    assert secrets.is_secret_key("Authorization") and secrets.is_secret_key("x-api-key")
    # usage counters are not credentials (they used to be, by substring)
    assert not secrets.is_secret_key("prompt_tokens") and not secrets.is_secret_key("max_tokens")
    assert scrub_mapping({"usage": {"prompt_tokens": 12}, "api_key": "abc"}) == {
        "usage": {"prompt_tokens": 12}, "api_key": "[redacted]"}


def test_one_convention_for_non_finite_numbers() -> None:
    assert json_ready({"a": float("inf"), "b": [float("-inf"), float("nan"), 1.5]}) == {"a": "inf", "b": ["-inf", "nan", 1.5]}
    assert finite_or_none(float("inf")) is None and finite_or_none(2.0) == 2.0
    # `eval compare --json` spells them as the JSON report does; the stored row holds NULL.
    delta = MetricDelta("cost_per_success_usd", float("inf"), 1.0, float("-inf"), 4)
    assert delta.to_dict(json=True)["baseline"] == "inf" and delta.to_dict(json=True)["delta"] == "-inf"
    assert delta.to_dict()["baseline"] is None


SHAPES = [*TOKENS, "sk_live_abcdefghijkl", "rk_test_abcdefghijkl", "ASIAABCDEFGHIJKLMNOP", "gho_abcdefghijk",
          "xoxp_abcdefghijklm", "Authorization: Bearer abc.def~ghi+jkl", "BEARER abcdefghij",
          "https://svc:hunter2secret@example.com/v1", "API_KEY=abcdef123456", "x-api-key: 'abcdef123456'",
          "apikey: abcdefghi", '{"authorization":"abcdefghijk"}']


@pytest.mark.parametrize("shape", SHAPES)
def test_scrub_text_precheck_never_skips_a_secret(shape: str) -> None:
    """scrub_text skips text without any pattern's fixed part: it must give what the patterns
    alone give, for every shape each pattern matches, wherever it sits in the text."""
    def patterns_only(text: str) -> str:
        for pattern in secrets.SECRET_PATTERNS:
            text = pattern.sub("***", text)
        text = secrets._USERINFO.sub(lambda m: f"{m.group(1)}{m.group(2)}:***@" if m.group(3) else m.group(0), text)
        return secrets._KEY_VALUE.sub(lambda m: m.group(1) + "***", text)

    for text in (shape, f"x {shape}", f"{shape}.", f"error: {shape} (retry)", shape.upper(), shape.lower()):
        expected = patterns_only(text)
        assert secrets.scrub_text(text) == expected, text
    assert patterns_only(shape) != shape, "each shape must be one the patterns redact"


def test_may_hold_secret_misses_nothing_the_case_blind_precheck_finds() -> None:
    """Reports skip scrubbing text that may_hold_secret clears: it must flag every text the
    precheck's case-blind pattern matches, İ/ı/ſ/K (which that pattern takes for i/s/k) included,
    and every shape inside JSON encoded with ensure_ascii=False."""
    import random
    import re

    # Every character a case-blind a-z matches: A-Z, a-z and exactly these four.
    everything = "".join(chr(i) for i in range(0x110000) if not 0xD800 <= i < 0xE000)
    extra = {m.group() for m in re.finditer(r"(?i)[a-z]", everything)} - set("abcdefghijklmnopqrstuvwxyz".upper())
    assert extra - set("abcdefghijklmnopqrstuvwxyz") == {"\u0130", "\u0131", "\u017f", "\u212a"}
    rng = random.Random(13)
    alphabet = "skrpaiAIzZghpousrtxbyeJjKkcnHU_-: /\u0130\u0131\u017f\u212a"
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(2, 14))) for _ in range(100_000)]
    texts += ["ap\u0130_key", "ap\u0131key", "\u017fk-", "s\u212a_", "GitHub_PAT_x", "BEARER x", "x-API-KEY"]
    missed = [t for t in texts if secrets._MAYBE_SECRET.search(t) and not secrets.may_hold_secret(t)]
    assert missed == []
    assert sum(bool(secrets._MAYBE_SECRET.search(t)) for t in texts) > 300  # the fuzz reaches the pattern
    for shape in SHAPES:
        assert secrets.may_hold_secret(json.dumps({"reason": f"got {shape}"}, ensure_ascii=False)), shape
    assert not secrets.may_hold_secret('{"status":"completed","model":"gpt-4o","reasons":["high priority"]}')
