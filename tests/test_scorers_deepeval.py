"""deepeval metrics as scorers: deterministic ones on runs whose right score is known (and
against the library called directly), judged ones end to end through litellm and the local
OpenAI-compatible server, scripted with the JSON deepeval's prompts ask for."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from agentctl.config.models import ScorerSpec
from agentctl.config.scorer_registry import ScorerRegistry
from agentctl.core.results import ScoreResult
from agentctl.scorers.judge import JSON_INSTRUCTION
from support.fake_openai import FakeOpenAI, error, text
from support.scoring import (
    REFUND,
    fill,
    judge_spec,
    make_ctx,
    model_turn,
    refund_run,
    score,
    scripted_judge,
    tool,
)

# --- deterministic metrics -------------------------------------------------------------------


def _direct_tool_correctness(
    called: list[dict[str, Any]], expected: list[dict[str, Any]], **kw: Any
) -> float:
    from deepeval.metrics import ToolCorrectnessMetric
    from deepeval.test_case import LLMTestCase, ToolCall, ToolCallParams

    metric = ToolCorrectnessMetric(evaluation_params=[ToolCallParams.INPUT_PARAMETERS], **kw)
    case = LLMTestCase(
        input="x",
        actual_output="y",
        tools_called=[ToolCall(name=c["name"], input_parameters=c["args"]) for c in called],
        expected_tools=[ToolCall(name=c["name"], input_parameters=c["args"]) for c in expected],
    )
    metric.measure(case, _show_indicator=False)
    return float(metric.score)


def test_tool_correctness_right_run_scores_1_wrong_argument_less(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")  # the direct call builds deepeval's default model object
    right = score(
        "deepeval.tool_correctness", make_ctx(refund_run({"charge_id": "ch_1", "amount_cents": 7500.0}))
    )
    assert (right.score, right.passed, right.error) == (1.0, True, None)

    wrong_args = {"charge_id": "ch_1", "amount_cents": 750}
    wrong = score("deepeval.tool_correctness", make_ctx(refund_run(wrong_args)), {"threshold": 0.9})
    direct = _direct_tool_correctness(
        [{"name": "issue_refund", "args": wrong_args}], [{"name": "issue_refund", "args": REFUND}]
    )
    assert wrong.score == pytest.approx(direct) == pytest.approx(0.5)  # one of two arguments right
    assert wrong.passed is False
    assert "issue_refund" in wrong.reason

    exact = score("deepeval.tool_correctness", make_ctx(refund_run(wrong_args)), {"exact_match": True})
    assert exact.score == 0.0


def test_tool_correctness_compares_write_effects_only_by_default() -> None:
    steps = refund_run(REFUND)
    steps.insert(3, tool("close_ticket", {"ticket_id": 5521}, policy="forbid: close_ticket"))
    ctx = make_ctx(steps)
    assert score("deepeval.tool_correctness", ctx).score == 1.0  # the read and the refused write are left out
    # every attempted write: the refused close_ticket is a second call next to one expected action
    attempted = score("deepeval.tool_correctness", ctx, {"calls": "writes", "exact_match": True})
    assert attempted.score == 0.0


def test_matchers_resolve_against_the_paired_call() -> None:
    actions = [
        {
            "tool": "issue_refund",
            "args": {
                "charge_id": {"$regex": "^ch_"},
                "amount_cents": 7500,
                "note": {"$optional": {"$any": True}},
            },
        }
    ]
    assert score("deepeval.tool_correctness", make_ctx(refund_run(REFUND), actions=actions)).score == 1.0
    with_note = refund_run({**REFUND, "note": "duplicate"})
    assert score("deepeval.tool_correctness", make_ctx(with_note, actions=actions)).score == 1.0
    bad = refund_run({"charge_id": "pi_9", "amount_cents": 7500})
    assert score("deepeval.tool_correctness", make_ctx(bad, actions=actions)).score == pytest.approx(0.5)


def test_ordering_follows_the_case_unless_overridden() -> None:
    actions = [
        {"tool": "update_ticket", "args": {"status": "solved"}},
        {"tool": "issue_refund", "args": REFUND},
    ]
    steps = [
        model_turn(),
        tool("issue_refund", REFUND),
        tool("update_ticket", {"status": "solved"}),
        model_turn("done"),
    ]
    assert score("deepeval.tool_correctness", make_ctx(steps, actions=actions)).score == 1.0
    ordered = score("deepeval.tool_correctness", make_ctx(steps, actions=actions, ordered=True))
    assert ordered.score == pytest.approx(0.5)  # longest common subsequence: one of two in order


def test_exact_and_pattern_match_on_the_final_answer() -> None:
    ctx = make_ctx(refund_run(REFUND, final="Refund issued."), metadata={"reference": "Refund issued."})
    assert score("deepeval.exact_match", ctx).score == 1.0
    other = score("deepeval.exact_match", ctx, {"reference": "Refund denied."})
    assert (other.score, other.passed) == (0.0, False)
    # deepeval's pattern must match the whole answer (re.fullmatch)
    assert (
        score("deepeval.pattern_match", ctx, {"pattern": r"refund \w+\.", "ignore_case": True}).score == 1.0
    )
    assert score("deepeval.pattern_match", ctx, {"pattern": r"refund \w+\."}).score == 0.0
    assert score("deepeval.pattern_match", ctx, {"pattern": r"Refund", "ignore_case": True}).score == 0.0
    missing = score("deepeval.exact_match", make_ctx(refund_run(REFUND)))
    assert missing.score is None and missing.passed is False and "reference" in (missing.error or "")


def test_no_final_answer_scores_0_not_an_error() -> None:
    steps = refund_run(REFUND)[:-1]
    result = score("deepeval.pattern_match", make_ctx(steps), {"pattern": "."})
    assert (result.score, result.error) == (0.0, None)


def test_json_correctness_checks_the_answer_against_a_json_schema() -> None:
    schema = {
        "type": "object",
        "properties": {"refund_cents": {"type": "integer"}},
        "required": ["refund_cents"],
    }
    good = score(
        "deepeval.json_correctness",
        make_ctx(refund_run(REFUND, final='{"refund_cents": 7500}')),
        {"schema": schema},
    )
    assert (good.score, good.passed) == (1.0, True)
    bad = score(
        "deepeval.json_correctness",
        make_ctx(refund_run(REFUND, final='{"refund_cents": "a lot"}')),
        {"schema": schema},
    )
    assert (bad.score, bad.passed) == (0.0, False)
    assert "refund_cents" in bad.reason and "integer" in bad.reason


def test_deepeval_leaves_no_folder_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    score("deepeval.tool_correctness", make_ctx(refund_run(REFUND)))
    score("deepeval.exact_match", make_ctx(refund_run(REFUND)), {"reference": "x"})
    assert list(tmp_path.iterdir()) == []


# --- judged metrics through litellm ----------------------------------------------------------


def test_g_eval_end_to_end_with_litellm_cost(fake_openai: FakeOpenAI) -> None:
    import litellm

    prompts: list[str] = []
    fake_openai.script(
        scripted_judge(
            {"steps": ["Check politeness."], "score": 7, "reason": "Polite, says what was done."}, prompts
        )
    )
    ctx = make_ctx(refund_run(REFUND))
    result = score(
        "deepeval.g_eval",
        ctx,
        {"criteria": "The reply is polite and states what was done.", "threshold": 0.6},
        **judge_spec(fake_openai, "openai/gpt-4o-mini"),
    )
    assert result.error is None
    assert (result.score, result.passed) == (pytest.approx(0.7), True)
    assert result.reason == "Polite, says what was done."
    assert len(fake_openai.requests) == 2  # evaluation steps, then the score
    assert all(r["model"] == "gpt-4o-mini" for r in fake_openai.requests)
    assert "I've refunded the duplicate charge." in prompts[1] and "Check politeness." in prompts[1]
    per_call = sum(litellm.cost_per_token(model="gpt-4o-mini", prompt_tokens=1000, completion_tokens=100))
    assert per_call > 0
    assert result.cost_usd == pytest.approx(2 * per_call)


def test_g_eval_reuses_its_evaluation_steps_across_runs(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(scripted_judge({"steps": ["Check."], "score": 10}))
    scorer = ScorerRegistry().create(
        ScorerSpec(name="deepeval.g_eval", args={"criteria": "polite"}, **judge_spec(fake_openai))
    )
    for _ in range(2):
        assert asyncio.run(scorer.score(make_ctx(refund_run(REFUND)))).score == 1.0
    assert len(fake_openai.requests) == 3


def test_task_completion_sees_the_tool_calls_and_costs_by_suite_pricing(fake_openai: FakeOpenAI) -> None:
    prompts: list[str] = []
    fake_openai.script(
        scripted_judge(
            {"task": "refund", "outcome": "refunded", "verdict": 0.25, "reason": "partly"}, prompts
        )
    )
    pricing = {"openai/fake-judge": {"input_usd_per_mtok": 1.0, "output_usd_per_mtok": 10.0}}
    result = score(
        "deepeval.task_completion", make_ctx(refund_run(REFUND), pricing=pricing), **judge_spec(fake_openai)
    )
    assert (result.score, result.passed, result.reason) == (0.25, False, "partly")
    assert "issue_refund" in prompts[0] and "ch_1" in prompts[0]
    assert result.cost_usd == pytest.approx(2 * (1000 * 1.0 + 100 * 10.0) / 1e6)


def test_answer_relevancy_and_faithfulness(fake_openai: FakeOpenAI) -> None:
    def handler(body: dict[str, Any]):
        prompt = body["messages"][-1]["content"]
        schema = json.loads(prompt.split(JSON_INSTRUCTION)[1])
        if "verdicts" in schema.get("properties", {}):
            return text(
                json.dumps({"verdicts": [{"verdict": "yes"}, {"verdict": "no", "reason": "off topic"}]})
            )
        return text(
            json.dumps(
                fill(
                    schema,
                    {"statements": ["a", "b"], "claims": ["a", "b"], "truths": ["t"], "reason": "half"},
                )
            )
        )

    fake_openai.script(handler)
    ctx = make_ctx(refund_run(REFUND), context_tools=["get_ticket"])
    relevancy = score("deepeval.answer_relevancy", ctx, **judge_spec(fake_openai))
    assert (relevancy.score, relevancy.reason, relevancy.error) == (0.5, "half", None)
    faithful = score("deepeval.faithfulness", ctx, {"threshold": 0.4}, **judge_spec(fake_openai))
    assert (faithful.score, faithful.passed) == (0.5, True)
    assert any(
        '{"status": "open"}' in r["messages"][-1]["content"] for r in fake_openai.requests
    )  # tool output as context
    no_context = score("deepeval.faithfulness", make_ctx(refund_run(REFUND)), **judge_spec(fake_openai))
    assert no_context.score is None and "context" in (no_context.error or "")


def test_a_failing_judge_gives_an_error_result_not_an_exception(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(lambda body: error(500))
    result = score(
        "deepeval.answer_relevancy",
        make_ctx(refund_run(REFUND)),
        judge="openai/fake-judge",
        judge_params={"api_base": fake_openai.base_url, "api_key": "sk-test", "num_retries": 0},
    )
    assert result.score is None and result.passed is False and result.error


def test_concurrent_runs_each_get_their_own_judge_cost(fake_openai: FakeOpenAI) -> None:
    """The runner scores many runs at once on one scorer: costs must not leak between runs."""

    def handler(body: dict[str, Any]):
        prompt = body["messages"][-1]["content"]
        schema = json.loads(prompt.split(JSON_INSTRUCTION)[1])
        run_a = "order 1111" in prompt  # the task extracted first carries the order into the verdict prompt
        tokens = 1000 if run_a else 10  # run A's prompts cost 100x run B's
        task = "refund order 1111" if run_a else "refund order 2222"
        return text(
            json.dumps(fill(schema, {"task": task, "verdict": 1.0})),
            prompt_tokens=tokens,
            completion_tokens=0,
            delay_s=0.05,
        )

    fake_openai.script(handler)
    pricing = {"openai/fake-judge": {"input_usd_per_mtok": 1.0, "output_usd_per_mtok": 0.0}}
    scorer = ScorerRegistry().create(ScorerSpec(name="deepeval.task_completion", **judge_spec(fake_openai)))
    ctx_a = make_ctx(refund_run(REFUND), input="refund order 1111", pricing=pricing)
    ctx_b = make_ctx(refund_run(REFUND), input="refund order 2222", pricing=pricing)

    async def both() -> list[ScoreResult]:
        return list(await asyncio.gather(scorer.score(ctx_a), scorer.score(ctx_b), scorer.score(ctx_a)))

    a, b, a2 = asyncio.run(both())
    assert a.cost_usd == a2.cost_usd == pytest.approx(2 * 1000 / 1e6)
    assert b.cost_usd == pytest.approx(2 * 10 / 1e6)
    assert fake_openai.peak_concurrency > 1
