"""Argument matching: strict equality after normalisation, and every matcher at any depth."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agentctl.core.matchers import (
    match_args,
    match_subset,
    match_value,
    render_call,
    render_value,
)
from agentctl.datasets import validate_dataset_dir

# --- strict equality -------------------------------------------------------------------


def test_equal_arguments_match() -> None:
    assert (
        match_args(
            {"charge_id": "ch_123", "amount_cents": 7500}, {"charge_id": "ch_123", "amount_cents": 7500}
        )
        is None
    )


def test_key_order_is_ignored_at_every_depth() -> None:
    expected = {"a": 1, "b": {"x": 1, "y": [{"p": 1, "q": 2}]}}
    actual = {"b": {"y": [{"q": 2, "p": 1}], "x": 1}, "a": 1}
    assert match_args(expected, actual) is None


@pytest.mark.parametrize(("expected", "actual"), [(5, 5.0), (5.0, 5), (0, 0.0), (-3, -3.0), (2.5, 2.5)])
def test_numbers_compare_by_value(expected: Any, actual: Any) -> None:
    assert match_value(expected, actual) is None
    assert match_args({"n": expected}, {"n": actual}) is None


def test_different_number_names_both_values() -> None:
    assert (
        match_args({"amount_cents": 7500}, {"amount_cents": 75000})
        == "amount_cents: expected 7500, got 75000"
    )


@pytest.mark.parametrize(
    ("expected", "actual", "reason"),
    [(True, 1, "expected true, got 1"), (1, True, "expected 1, got true"), (False, 0, "expected false, got 0"),
     ("5", 5, "expected '5', got 5"), (5, "5", "expected 5, got '5'"), (None, 0, "expected null, got 0"),
     (None, "", "expected null, got ''")],
)
def test_types_are_not_coerced(expected: Any, actual: Any, reason: str) -> None:
    assert match_value(expected, actual) == reason


def test_missing_argument_is_named() -> None:
    assert match_args({"ticket_id": 1, "reason": "dup"}, {"ticket_id": 1}) == "missing argument 'reason'"


def test_extra_argument_is_named() -> None:
    assert match_args({"ticket_id": 1}, {"ticket_id": 1, "note": "x"}) == "unexpected argument 'note'"


def test_nested_missing_and_extra_keys_carry_their_path() -> None:
    reason = match_args(
        {"address": {"city": "SF", "zip": "94103"}}, {"address": {"city": "SF", "street": "Main"}}
    )
    assert reason == "missing argument 'address.zip'; unexpected argument 'address.street'"


def test_lists_keep_their_order_and_length() -> None:
    assert match_value([1, 2, 3], [1, 2, 3]) is None
    assert match_value([1, 2, 3], [3, 2, 1]) == "[0]: expected 1, got 3; [2]: expected 3, got 1"
    assert match_args({"ids": [1, 2]}, {"ids": [1, 2, 3]}) == "ids: expected 2 items, got 3"


def test_nested_list_difference_has_a_path() -> None:
    reason = match_args({"items": [{"sku": "A", "qty": 1}]}, {"items": [{"sku": "A", "qty": 2}]})
    assert reason == "items[0].qty: expected 1, got 2"


def test_many_differences_are_summarised() -> None:
    reason = match_args({"a": 1, "b": 2, "c": 3, "d": 4, "e": 5}, {"a": 0, "b": 0, "c": 0, "d": 0, "e": 0})
    assert reason == "a: expected 1, got 0; b: expected 2, got 0; c: expected 3, got 0 (and 2 more)"


def test_none_expected_args_accept_anything_and_unparsed_args_do_not_match() -> None:
    assert match_args(None, {"anything": [1, 2]}) is None
    assert match_args(None, None) is None
    assert match_args({"a": 1}, None) == "arguments are not a JSON object"


# --- each matcher ----------------------------------------------------------------------


def test_any_accepts_any_value_but_the_key_must_be_there() -> None:
    for value in ("x", 0, None, [1], {"k": 1}, False):
        assert match_args({"note": {"$any": True}}, {"note": value}) is None
    assert match_args({"note": {"$any": True}}, {}) == "missing argument 'note'"


def test_regex_uses_search_semantics() -> None:
    assert match_value({"$regex": "^pay"}, "payment_42") is None
    assert match_value({"$regex": "ment"}, "payment_42") is None  # found anywhere: re.search
    assert match_value({"$regex": "^pay"}, "prepay") == "'prepay' does not match '^pay'"
    assert match_value({"$regex": "^pay$"}, "payment") == "'payment' does not match '^pay$'"
    assert match_value({"$regex": "^5"}, 5) == "expected a string matching '^5', got 5"  # only strings


def test_regex_is_case_sensitive_unless_the_pattern_says_otherwise() -> None:
    assert match_value({"$regex": "^pay"}, "Payment") == "'Payment' does not match '^pay'"
    assert match_value({"$regex": "(?i)^pay"}, "Payment") is None


def test_in_accepts_one_of_the_alternatives() -> None:
    assert match_args({"priority": {"$in": ["high", "urgent"]}}, {"priority": "urgent"}) is None
    assert match_args({"priority": {"$in": ["high", "urgent"]}}, {"priority": "low"}) == (
        "priority: 'low' not in ['high', 'urgent']"
    )
    assert match_value({"$in": [1, 2]}, 2.0) is None


def test_in_alternatives_may_be_matchers_and_objects() -> None:
    expected = {"$in": [{"$regex": "^ch_"}, {"id": {"$approx": [10, 0.5]}}]}
    assert match_value(expected, "ch_9") is None
    assert match_value(expected, {"id": 10.3}) is None
    assert match_value(expected, {"id": 11}) == "{id: 11} not in [$regex('^ch_'), {id: $approx([10, 0.5]…"
    assert match_value(expected, "py_9") == "'py_9' not in [$regex('^ch_'), {id: $approx([10, 0.5]…"


def test_approx_uses_an_absolute_tolerance() -> None:
    assert match_value({"$approx": [75.0, 0.01]}, 75.01) is None
    assert match_value({"$approx": [75.0, 0.01]}, 74.995) is None
    assert match_value({"$approx": [75.0, 0.01]}, 75) is None
    assert match_value({"$approx": [75.0, 0.01]}, 75.02) == "expected 75 ± 0.01, got 75.02"
    assert match_value({"$approx": [75.0, 0.01]}, "75") == "expected 75 ± 0.01, got '75'"
    assert match_value({"$approx": [1, 0.5]}, True) == "expected 1 ± 0.5, got true"  # a bool is not a number


def test_contains_is_a_substring_for_strings_and_an_element_for_lists() -> None:
    assert match_value({"$contains": "refund"}, "full refund issued") is None
    assert (
        match_value({"$contains": "refund"}, "credit issued") == "'credit issued' does not contain 'refund'"
    )
    assert match_value({"$contains": "b"}, ["a", "b"]) is None
    assert match_value({"$contains": 2}, [1, 2.0, 3]) is None
    assert match_value({"$contains": "c"}, ["a", "b"]) == "['a', 'b'] has no element 'c'"
    assert match_value({"$contains": "a"}, 5) == "expected a string or list containing 'a', got 5"


def test_contains_element_may_be_a_matcher_or_an_object() -> None:
    assert match_value({"$contains": {"$regex": "^urgent"}}, ["low", "urgent-billing"]) is None
    assert match_value({"$contains": {"id": 2}}, [{"id": 1}, {"id": 2.0}]) is None
    assert match_value({"$contains": {"id": 3}}, [{"id": 1}, {"id": 2}]) == "[{id: 1}, {id: 2}] has no element {id: 3}"


def test_text_ignores_case_white_space_and_punctuation() -> None:
    assert match_value({"$text": "San Francisco, CA"}, "san francisco ca") is None
    assert match_value({"$text": "San Francisco, CA"}, "SAN-FRANCISCO,  CA.") is None
    assert match_value({"$text": "San Francisco, CA"}, "San Jose, CA") == (
        "expected text 'San Francisco, CA', got 'San Jose, CA'"
    )
    assert match_value({"$text": "5"}, 5) == "expected text '5', got 5"


def test_optional_may_be_absent_but_must_match_when_present() -> None:
    expected = {"ticket_id": 1, "notify": {"$optional": True}}
    assert match_args(expected, {"ticket_id": 1}) is None
    assert match_args(expected, {"ticket_id": 1, "notify": True}) is None
    assert match_args(expected, {"ticket_id": 1, "notify": False}) == "notify: expected true, got false"


def test_optional_wraps_a_matcher() -> None:
    expected = {"priority": {"$optional": {"$in": ["high", "urgent"]}}}
    assert match_args(expected, {}) is None
    assert match_args(expected, {"priority": "high"}) is None
    assert match_args(expected, {"priority": "low"}) == "priority: 'low' not in ['high', 'urgent']"


def test_optional_nested_inside_objects_and_list_items() -> None:
    expected = {"lines": [{"sku": "A", "discount": {"$optional": {"$approx": [0.1, 0.01]}}}]}
    assert match_args(expected, {"lines": [{"sku": "A"}]}) is None
    assert match_args(expected, {"lines": [{"sku": "A", "discount": 0.105}]}) is None
    assert match_args(expected, {"lines": [{"sku": "A", "discount": 0.5}]}) == (
        "lines[0].discount: expected 0.1 ± 0.01, got 0.5"
    )
    assert match_args(expected, {"lines": [{"sku": "B"}]}) == "lines[0].sku: expected 'A', got 'B'"


def test_matchers_apply_inside_nested_objects_and_lists() -> None:
    expected = {
        "customer": {"name": {"$text": "Ada Lovelace"}, "email": {"$regex": "@example\\.com$"}},
        "tags": ["billing", {"$in": ["refund", "credit"]}],
        "amount": {"$approx": [19.99, 0.005]},
    }
    actual = {
        "tags": ["billing", "credit"],
        "amount": 19.99,
        "customer": {"email": "ada@example.com", "name": "ada lovelace"},
    }
    assert match_args(expected, actual) is None
    actual["tags"] = ["billing", "other"]
    assert match_args(expected, actual) == "tags[1]: 'other' not in ['refund', 'credit']"
    actual["tags"] = ["billing", "credit"]
    actual["customer"] = {"email": "ada@evil.com", "name": "ada lovelace"}
    assert match_args(expected, actual) == "customer.email: 'ada@evil.com' does not match '@example\\\\.com$'"


def test_unknown_matcher_never_matches() -> None:
    assert match_value({"$gt": 3}, 5) == "unknown matcher '$gt'"


# --- subsets for forbidden calls -------------------------------------------------------


def test_subset_compares_only_the_given_keys() -> None:
    assert match_subset({"ticket_id": 7}, {"ticket_id": 7, "reason": "spam"}) is None
    assert (
        match_subset({"ticket_id": 7}, {"ticket_id": 8, "reason": "spam"}) == "ticket_id: expected 7, got 8"
    )
    assert match_subset({"ticket_id": 7}, {"reason": "spam"}) == "missing argument 'ticket_id'"
    assert match_subset(None, {"x": 1}) is None


def test_subset_values_may_be_matchers() -> None:
    assert match_subset({"ticket_ids": {"$contains": 5}}, {"ticket_ids": [4, 5], "force": True}) is None
    assert match_subset({"ticket_ids": {"$contains": 5}}, {"ticket_ids": [4, 6]}) == "ticket_ids: [4, 6] has no element 5"


# --- validation and rendering ----------------------------------------------------------


def test_dataset_validation_names_each_malformed_matcher_with_its_path(tmp_path: Path) -> None:
    args = {"a": {"$regex": "("}, "b": [{"$approx": [1]}], "c": {"$in": [{"$foo": 1}]},
            "d": {"$optional": {"$text": 5}}, "e": {"$any": True}}
    (tmp_path / "tools.yaml").write_text("- name: issue_refund\n  effect: write\n")
    case = {"id": "c1", "input": "x", "expected": {"actions": [{"tool": "issue_refund", "args": args}]}}
    (tmp_path / "cases.jsonl").write_text(json.dumps(case) + "\n")
    at = "expected.actions[0].args."
    assert [(p.line, p.key, p.message) for p in validate_dataset_dir(tmp_path)] == [
        (1, at + "a.$regex", "'$regex' is not a valid regular expression: missing ), unterminated subpattern at position 0"),
        (1, at + "b[0].$approx", "'$approx' needs [value, tolerance] (two numbers, tolerance >= 0), got a list of 1"),
        (1, at + "c.$in[0].$foo",
         "unknown matcher '$foo' (matchers: $any, $regex, $in, $approx, $contains, $text, $optional)"),
        (1, at + "d.$optional.$text", "'$text' needs a string, got 5"),
    ]


def test_render_keeps_calls_short() -> None:
    assert render_call("issue_refund", {"charge_id": "ch_123", "amount_cents": 7500}) == (
        "issue_refund(charge_id='ch_123', amount_cents=7500)"
    )
    long = render_call("update_ticket", {"body": "x" * 500})
    assert len(long) < 80 and "…" in long
    assert render_value({"$regex": "^pay"}) == "$regex('^pay')"
    assert render_value(None) == "null" and render_value(True) == "true"
