"""Issue 11, wrong gate decisions: no vacuous PASS, no impossible numbers, no silent defaults."""

from __future__ import annotations

import math
from pathlib import Path

import duckdb
import pytest
import yaml

from support.fake_openai import FakeOpenAI, text
from support.trust import TOOLS, case, invoke, recording, run, write_dataset, write_suite

# --- 1. a gate with nothing to judge is not a pass ------------------------------------------

def test_replay_label_without_recordings_is_not_a_pass(tmp_path: Path) -> None:
    suite = write_suite(tmp_path)
    code, out = run(suite, tmp_path, "--candidate", "replay:nosuchlabel")
    assert code == 2, out
    assert "PASS" not in out
    assert "success_rate >= 0.5" in out and "nothing to judge" in out
    assert "nosuchlabel" in out


def test_only_the_baseline_ran_is_not_a_pass(tmp_path: Path) -> None:
    suite = write_suite(tmp_path, candidates=[{"name": "base", "model": "replay:prod"}])
    code, out = run(suite, tmp_path)
    assert code == 2, out
    assert "regression(success_rate)" in out and "nothing to judge" in out
    with duckdb.connect(str(tmp_path / "s.duckdb"), read_only=True) as con:
        assert con.execute("SELECT exit_code FROM eval_runs").fetchone() == (2,)


def test_a_suite_without_gates_says_so_and_exits_0(tmp_path: Path) -> None:
    suite = write_suite(tmp_path, gates=[])
    code, out = run(suite, tmp_path)
    assert code == 0, out
    assert "no gates" in out


# --- 2. impossible recorded numbers are rejected at load, with file, line and key -------------

@pytest.mark.parametrize(("changes", "key"), [
    ({"cost_usd": -1.0}, "cost_usd"),
    ({"latency_s": -3}, "latency_s"),
    ({"usage": {"prompt_tokens": -5, "completion_tokens": 1}}, "usage.prompt_tokens"),
    ({"usage": {"prompt_tokens": 1e400, "completion_tokens": 1}}, "Infinity"),
])
def test_negative_or_infinite_recorded_numbers_are_rejected(tmp_path: Path, changes: dict, key: str) -> None:
    runs = [recording(1, "prod"), recording(2, "prod"), recording(1, "cand"), recording(2, "cand", **changes)]
    suite = write_suite(tmp_path, dataset={"runs": runs})
    code, out = invoke("suite", "validate", str(suite))
    assert code == 2, out
    assert "runs.jsonl:4" in out and key in out


def test_nan_in_a_recording_is_rejected_with_its_line(tmp_path: Path) -> None:
    suite = write_suite(tmp_path)
    runs = tmp_path / "data" / "runs.jsonl"
    lines = runs.read_text().splitlines()
    lines[2] = lines[2].replace('"latency_s": 1.0', '"latency_s": NaN')
    runs.write_text("\n".join(lines) + "\n")
    code, out = run(suite, tmp_path)
    assert code == 2, out
    assert "runs.jsonl:3" in out and "NaN" in out
    assert not (tmp_path / "s.duckdb").exists() or _statuses(tmp_path / "s.duckdb") != ["running"]


def test_negative_per_message_latency_is_rejected(tmp_path: Path) -> None:
    bad = recording(2, "cand")
    bad["messages"][1]["latency_s"] = -2.0
    runs = [recording(1, "prod"), recording(2, "prod"), recording(1, "cand"), bad]
    code, out = invoke("suite", "validate", str(write_suite(tmp_path, dataset={"runs": runs})))
    assert code == 2, out
    assert "runs.jsonl:4" in out and "messages[1].latency_s" in out


def _statuses(db: Path) -> list[str]:
    with duckdb.connect(str(db), read_only=True) as con:
        return [r[0] for r in con.execute("SELECT status FROM eval_runs").fetchall()]


# --- 3. command-line numbers out of range are usage errors naming the option ----------------

@pytest.mark.parametrize(("args", "option"), [
    (["--limit", "-5"], "--limit"), (["--limit", "0"], "--limit"), (["--repeats", "0"], "--repeats"),
    (["--repeats", "-1"], "--repeats"), (["--max-cost", "-1"], "--max-cost"), (["--timeout", "0"], "--timeout"),
    (["--max-attempts", "0"], "--max-attempts"), (["--max-cost", "nan"], "--max-cost"),
])
def test_out_of_range_options_exit_2_naming_the_option(tmp_path: Path, args: list[str], option: str) -> None:
    code, out = run(write_suite(tmp_path), tmp_path, *args)
    assert code == 2, out
    assert option in out
    assert "--tag" not in out
    assert not (tmp_path / "s.duckdb").exists()


# --- 4. expected arguments that break the tool's own schema ---------------------------------

def test_expected_args_outside_the_tools_enum_are_an_error(tmp_path: Path) -> None:
    cases = [case(1), case(2, expected={"actions": [{"tool": "refund", "args": {"order_id": 2, "delivery": "SMS"}}]})]
    suite = write_suite(tmp_path, dataset={"cases": cases})
    code, out = invoke("suite", "validate", str(suite))
    assert code == 2, out
    assert "cases.jsonl:2" in out and "delivery" in out and "'SMS'" in out
    code, out = invoke("dataset", "validate", str(tmp_path / "data"))
    assert code == 2, out
    assert "cases.jsonl:2" in out and "delivery" in out


def test_expected_args_with_a_key_the_schema_forbids_are_an_error(tmp_path: Path) -> None:
    cases = [case(1, expected={"actions": [{"tool": "refund", "args": {"order_id": 1, "channel": "x"}}]})]
    code, out = invoke("dataset", "validate", str(write_dataset(tmp_path / "d", cases=cases)))
    assert code == 2, out
    assert "cases.jsonl:1" in out and "channel" in out


def test_matchers_and_omitted_keys_are_not_checked_against_the_schema(tmp_path: Path) -> None:
    cases = [case(1, expected={"actions": [{"tool": "refund", "args": {
        "order_id": {"$any": True}, "delivery": {"$in": ["email", "sms"]}}}]}),
        case(2, expected={"actions": [{"tool": "refund", "args": {"delivery": {"$optional": "sms"}}}]})]
    code, out = invoke("dataset", "validate", str(write_dataset(tmp_path / "d", cases=cases)))
    assert code == 0, out


# --- 5. the agentctl tool form needs `effect` ----------------------------------------------

def test_agentctl_form_without_effect_is_an_error(tmp_path: Path) -> None:
    tools = [dict(TOOLS[0]), dict(TOOLS[1]), dict(TOOLS[2])]
    del tools[0]["effect"]
    code, out = invoke("dataset", "validate", str(write_dataset(tmp_path / "d", tools=tools)))
    assert code == 2, out
    assert "tools.yaml" in out and "effect" in out and "read or write" in out


def test_openai_form_without_effect_defaults_to_write_and_validate_says_so(tmp_path: Path) -> None:
    tools = [{"type": "function", "function": {"name": t["name"], "description": t["description"],
                                               "parameters": t.get("parameters", {"type": "object"})}}
             for t in TOOLS]
    tools[0]["effect"] = "read"
    code, out = invoke("dataset", "validate", str(write_dataset(tmp_path / "d", tools=tools)))
    assert code == 0, out
    note = next(line for line in out.splitlines() if "counted as write" in line)
    assert "refund, escalate" in note and "get_order" not in note
    code, out = invoke("suite", "validate", str(write_suite(tmp_path / "s", dataset={"tools": tools})))
    assert code == 0 and "refund, escalate: plain OpenAI form without effect: counted as write" in out, out


def test_demo_catalogs_all_say_their_effect() -> None:
    root = Path(__file__).resolve().parents[1] / "datasets"
    for catalog in root.glob("*/tools.yaml"):
        for tool in yaml.safe_load(catalog.read_text()):
            assert tool.get("effect") in ("read", "write"), (catalog, tool.get("name"))


# --- 6. a live model without a price ------------------------------------------------------

def _live_suite(tmp: Path, base_url: str, *, pricing: dict | None = None) -> Path:
    params = {"api_base": base_url, "api_key": "sk-dummy-000000"}
    return write_suite(tmp, candidates=[{"name": "base", "model": "replay:prod"},
                                        {"name": "live", "model": "openai/no-such-priced-model", "params": params}],
                       gates=[{"metric": "cost_per_success_usd", "max": 1.0}],
                       **({"pricing": pricing} if pricing else {}))


def test_live_candidate_without_price_is_warned_in_validate_and_run(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(lambda body: text("Refunded."))
    suite = _live_suite(tmp_path, fake_openai.base_url)
    code, out = invoke("suite", "validate", str(suite))
    assert code == 0, out
    assert "openai/no-such-priced-model has no price" in out and "pricing" in out
    code, out = run(suite, tmp_path)
    assert "openai/no-such-priced-model has no price" in out


def test_dry_run_estimates_live_candidates_from_prompt_and_catalog(tmp_path: Path) -> None:
    price = {"input_usd_per_mtok": 1_000_000, "output_usd_per_mtok": 0}  # $1 per prompt token
    suite = write_suite(tmp_path, candidates=[{"name": "live", "model": "openai/priced-model"}], baseline=None,
                        pricing={"openai/priced-model": price})
    (tmp_path / "data" / "runs.jsonl").unlink()  # no recording to estimate from: prompt and catalog it is
    code, out = invoke("eval", "run", str(suite), "--dry-run", "--db", str(tmp_path / "x.duckdb"))
    assert code == 0, out
    row = next(line for line in out.splitlines() if "│ live" in line)
    cost = float(row.split("$")[1].split()[0].replace(",", ""))
    assert cost > 100, out  # two runs of ~ (prompt + input + catalog) / 4 tokens at $1 each
    assert "tool catalog" in out


# --- 7. replay cost from recorded tokens ---------------------------------------------------

def test_replay_without_cost_is_priced_from_tokens_and_says_which_source(tmp_path: Path) -> None:
    runs = [recording(i, label, cost_usd=None) for label in ("prod", "cand") for i in (1, 2)]
    for r in runs:
        del r["cost_usd"]
    price = {"input_usd_per_mtok": 10_000, "output_usd_per_mtok": 50_000}  # 100 * 0.01 + 20 * 0.05 = $2
    suite = write_suite(tmp_path, dataset={"runs": runs}, pricing={"gpt-4o-mini": price})
    code, out = run(suite, tmp_path)
    assert code == 0, out
    assert "suite pricing" in out
    with duckdb.connect(str(tmp_path / "s.duckdb"), read_only=True) as con:
        costs = {r[0] for r in con.execute("SELECT cost_usd FROM results").fetchall()}
        options = con.execute("SELECT CAST(options AS VARCHAR) FROM eval_runs").fetchone()[0]
    assert costs and all(c == pytest.approx(2.0) for c in costs), costs
    assert "suite pricing" in options


def test_replay_without_cost_uses_litellms_local_price_map(tmp_path: Path) -> None:
    runs = [recording(i, label) for label in ("prod", "cand") for i in (1, 2)]
    for r in runs:
        del r["cost_usd"]
    suite = write_suite(tmp_path, dataset={"runs": runs})
    code, out = run(suite, tmp_path)
    assert code == 0, out
    assert "litellm" in out and "price" in out
    with duckdb.connect(str(tmp_path / "s.duckdb"), read_only=True) as con:
        costs = [r[0] for r in con.execute("SELECT cost_usd FROM results").fetchall()]
    assert all(c > 0 and math.isfinite(c) for c in costs)


# --- 8. the cache key includes the endpoint -------------------------------------------------

def test_two_endpoints_with_one_model_name_do_not_share_answers(tmp_path: Path) -> None:
    from agentctl.providers.base import ModelRequest
    from agentctl.providers.cache import cache_key

    def key(**params: object) -> str:
        return cache_key(ModelRequest(model="openai/m", messages=[{"role": "user", "content": "hi"}],
                                      tools=[], params=dict(params), timeout_s=5, repeat=1))

    assert key(api_base="http://a:1/v1") != key(api_base="http://b:1/v1")
    assert key(api_base="http://a:1/v1", extra_headers={"X-Route": "east"}) != \
        key(api_base="http://a:1/v1", extra_headers={"X-Route": "west"})
    # the credential itself never decides the key
    assert key(api_base="http://a:1/v1", api_key="sk-one-111111") == key(api_base="http://a:1/v1", api_key="sk-2")
    assert key(api_base="http://u:pw1@a:1/v1") == key(api_base="http://u:pw2@a:1/v1")
    assert key(api_base="http://a:1/v1", timeout=5) == key(api_base="http://a:1/v1", timeout=50)


# --- 9. duplicate keys in a JSON line -------------------------------------------------------

def test_duplicate_keys_in_a_case_line_are_an_error(tmp_path: Path) -> None:
    root = write_dataset(tmp_path / "d")
    lines = (root / "cases.jsonl").read_text().splitlines()
    lines[1] = lines[1][:-1] + ', "id": "c9"}'
    (root / "cases.jsonl").write_text("\n".join(lines) + "\n")
    code, out = invoke("dataset", "validate", str(root))
    assert code == 2, out
    assert "cases.jsonl:2" in out and "duplicate key 'id'" in out


def test_duplicate_keys_in_a_recording_are_an_error(tmp_path: Path) -> None:
    root = write_dataset(tmp_path / "d")
    text_ = (root / "runs.jsonl").read_text().replace('"label": "prod"', '"label": "prod", "label": "cand"', 1)
    (root / "runs.jsonl").write_text(text_)
    code, out = invoke("dataset", "validate", str(root))
    assert code == 2, out
    assert "runs.jsonl:1" in out and "duplicate key 'label'" in out


def test_the_tiny_suite_passes_as_written(tmp_path: Path) -> None:
    """The fixture the tests above change: as written, every gate passes."""
    code, out = run(write_suite(tmp_path), tmp_path)
    assert code == 0, out
    assert "PASS" in out
