"""ragas metrics as scorers: deterministic ones on runs whose right score is known (and against
the library called directly), judged ones end to end through litellm and local servers, and
a check, in a fresh process, that no connection is opened except to the judge."""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import json
import math
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from agentctl.config.models import ScorerSpec
from agentctl.config.scorer_registry import ScorerRegistry
from agentctl.core.errors import MissingExtra
from agentctl.scorers.judge import JSON_INSTRUCTION
from support.fake_openai import FakeOpenAI, text
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


def _direct(
    metric_name: str, called: list[tuple[str, dict[str, Any]]], expected: list[tuple[str, dict[str, Any]]]
) -> float:
    from ragas.messages import AIMessage, HumanMessage, ToolCall
    from ragas.metrics.collections import ToolCallAccuracy, ToolCallF1

    metric = ToolCallAccuracy(strict_order=False) if metric_name == "accuracy" else ToolCallF1()
    messages = [
        HumanMessage(content="x"),
        AIMessage(content="", tool_calls=[ToolCall(name=n, args=a) for n, a in called]),
    ]
    return float(
        asyncio.run(
            metric.ascore(
                user_input=messages, reference_tool_calls=[ToolCall(name=n, args=a) for n, a in expected]
            )
        ).value
    )


# --- deterministic metrics -------------------------------------------------------------------


def test_tool_call_metrics_known_scores_and_the_library_agree() -> None:
    right = make_ctx(refund_run({"amount_cents": 7500.0, "charge_id": "ch_1"}))
    assert score("ragas.tool_call_accuracy", right).score == 1.0
    assert score("ragas.tool_call_f1", right).score == 1.0

    wrong_args = {"charge_id": "ch_1", "amount_cents": 750}
    wrong = make_ctx(refund_run(wrong_args))
    accuracy = score("ragas.tool_call_accuracy", wrong, {"threshold": 0.9})
    f1 = score("ragas.tool_call_f1", wrong)
    assert accuracy.score == pytest.approx(
        _direct("accuracy", [("issue_refund", wrong_args)], [("issue_refund", REFUND)])
    )
    assert accuracy.score == pytest.approx(0.5) and accuracy.passed is False  # one of two arguments right
    assert f1.score == _direct("f1", [("issue_refund", wrong_args)], [("issue_refund", REFUND)]) == 0.0
    assert (
        "called: issue_refund(amount_cents=750, charge_id='ch_1')" in f1.reason
    )  # what was called, for people


def test_reads_are_left_out_unless_calls_all() -> None:
    ctx = make_ctx(refund_run(REFUND))
    assert score("ragas.tool_call_f1", ctx).score == 1.0
    both = score("ragas.tool_call_f1", ctx, {"calls": "all"})  # the read is an extra call: precision 1/2
    assert both.score == pytest.approx(round(2 * 0.5 * 1 / 1.5, 4))


def test_tool_call_accuracy_respects_order_and_matchers() -> None:
    actions = [
        {"tool": "update_ticket", "args": {"status": {"$in": ["solved", "closed"]}}},
        {
            "tool": "issue_refund",
            "args": {"charge_id": {"$regex": "^ch_"}, "amount_cents": {"$approx": [7500, 1]}},
        },
    ]
    steps = [
        model_turn(),
        tool("issue_refund", {"charge_id": "ch_1", "amount_cents": 7500.4}),
        tool("update_ticket", {"status": "closed"}),
        model_turn("done"),
    ]
    assert score("ragas.tool_call_accuracy", make_ctx(steps, actions=actions)).score == 1.0
    assert score("ragas.tool_call_f1", make_ctx(steps, actions=actions)).score == 1.0
    assert score("ragas.tool_call_accuracy", make_ctx(steps, actions=actions, ordered=True)).score == 0.0
    missing = [
        model_turn(),
        tool("issue_refund", {"charge_id": "ch_1", "amount_cents": 7500}),
        model_turn("done"),
    ]
    partial = make_ctx(missing, actions=actions)
    assert score("ragas.tool_call_accuracy", partial).score == 0.0  # ragas: call sequences differ, so 0
    assert score("ragas.tool_call_f1", partial).score == pytest.approx(round(2 / 3, 4))  # 1 TP, 1 FN


def test_string_metrics_use_the_reference_answer() -> None:
    ctx = make_ctx(refund_run(REFUND, final="Refund issued."), metadata={"reference": "Refund issued."})
    assert score("ragas.exact_match", ctx).score == 1.0
    assert score("ragas.exact_match", ctx, {"reference": "refund issued."}).score == 0.0
    assert score("ragas.string_presence", ctx, {"reference": "issued"}).score == 1.0
    assert score("ragas.string_presence", ctx, {"reference": "denied"}).passed is False
    no_ref = score("ragas.exact_match", make_ctx(refund_run(REFUND)))
    assert no_ref.score is None and "reference" in (no_ref.error or "")


NEEDS = {
    "ragas.non_llm_string_similarity": "rapidfuzz",
    "ragas.bleu": "sacrebleu",
    "ragas.rouge": "rouge_score",
    "ragas.non_llm_context_precision": "rapidfuzz",
    "ragas.non_llm_context_recall": "rapidfuzz",
}


@pytest.mark.parametrize("name", sorted(NEEDS))
def test_metrics_needing_extra_packages_say_how_to_install_them(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The packages are installed here: hide one, as on a machine without the extra.
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda mod, *a: None if mod == NEEDS[name] else real_find_spec(mod, *a)
    )
    with pytest.raises(MissingExtra) as info:
        ScorerRegistry().create(ScorerSpec(name=name, args={}))
    assert NEEDS[name] in str(info.value) and "agentctl[ragas]" in str(info.value)


def test_string_similarity_metrics_against_the_reference() -> None:
    same = make_ctx(refund_run(REFUND, final="Refund issued today."), metadata={"reference": "Refund issued today."})
    other = make_ctx(refund_run(REFUND, final="We closed your account."),
                     metadata={"reference": "Refund issued today."})
    for name in ("ragas.non_llm_string_similarity", "ragas.bleu", "ragas.rouge"):
        right, wrong = score(name, same), score(name, other)
        assert right.error is None and wrong.error is None, (name, right.error, wrong.error)
        assert right.score == pytest.approx(1.0), name
        assert wrong.score is not None and wrong.score < 0.5, (name, wrong.score)
        assert right.passed is True and wrong.passed is False


def test_non_llm_context_metrics() -> None:
    ctx = make_ctx(
        refund_run(REFUND),
        context_tools=["get_ticket"],
        context=['{"status": "open"}', "Refunds take 5 days."],
    )
    assert score("ragas.non_llm_context_precision", ctx).score == pytest.approx(1.0)
    assert score("ragas.non_llm_context_recall", ctx).score == pytest.approx(0.5)


# --- judged metrics through litellm ----------------------------------------------------------


def test_agent_goal_accuracy_with_and_without_reference(fake_openai: FakeOpenAI) -> None:
    prompts: list[str] = []
    fake_openai.script(
        scripted_judge({"user_goal": "refund", "end_state": "refunded", "verdict": "1"}, prompts)
    )
    ctx = make_ctx(refund_run(REFUND), metadata={"reference": "The duplicate charge is refunded."})
    result = score("ragas.agent_goal_accuracy", ctx, **judge_spec(fake_openai))
    assert (result.score, result.passed, result.error) == (1.0, True, None)
    assert (
        "issue_refund" in prompts[0] and "I've refunded the duplicate charge." in prompts[0]
    )  # the whole run
    assert "The duplicate charge is refunded." in prompts[1]
    fake_openai.script(scripted_judge({"verdict": "0"}))
    assert (
        score("ragas.agent_goal_accuracy", make_ctx(refund_run(REFUND)), **judge_spec(fake_openai)).score
        == 0.0
    )


def test_faithfulness_on_tool_context_with_cost(fake_openai: FakeOpenAI) -> None:
    import litellm

    def handler(body: dict[str, Any]):
        prompt = body["messages"][-1]["content"]
        schema = json.loads(prompt.split(JSON_INSTRUCTION)[1])
        if "StatementFaithfulnessAnswer" in json.dumps(schema):
            verdicts = [
                {"statement": s, "reason": "r", "verdict": v}
                for s, v in (("a", 1), ("b", 0), ("c", 1), ("d", 1))
            ]
            return text(json.dumps({"statements": verdicts}), prompt_tokens=500, completion_tokens=50)
        return text(
            json.dumps(fill(schema, {"statements": ["a", "b", "c", "d"]})),
            prompt_tokens=500,
            completion_tokens=50,
        )

    fake_openai.script(handler)
    steps = refund_run(REFUND)
    steps[1].output = "Ticket 5521: order charged twice on May 3."
    ctx = make_ctx(steps, context_tools=["get_ticket"])
    result = score(
        "ragas.faithfulness", ctx, {"threshold": 0.8}, **judge_spec(fake_openai, "openai/gpt-4o-mini")
    )
    assert (result.score, result.passed) == (0.75, False)
    assert any("charged twice on May 3" in r["messages"][-1]["content"] for r in fake_openai.requests)
    per_call = sum(litellm.cost_per_token(model="gpt-4o-mini", prompt_tokens=500, completion_tokens=50))
    assert result.cost_usd == pytest.approx(len(fake_openai.requests) * per_call)


def test_topic_adherence(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(
        scripted_judge({"topics": ["refunds"], "refused_to_answer": False, "classifications": [True]})
    )
    ctx = make_ctx(refund_run(REFUND), metadata={"topics": ["billing and refunds"]})
    assert score("ragas.topic_adherence", ctx, **judge_spec(fake_openai)).score == pytest.approx(1.0)
    fake_openai.script(
        scripted_judge({"topics": ["weather"], "refused_to_answer": False, "classifications": [False]})
    )
    assert score("ragas.topic_adherence", ctx, {"mode": "precision"}, **judge_spec(fake_openai)).score == 0.0


class _EmbeddingServer:
    """/v1/embeddings on 127.0.0.1: a bag-of-words vector per text (same words, same vector)."""

    def __init__(self) -> None:
        self.calls = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.calls += 1
                texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
                data = [
                    {"object": "embedding", "index": i, "embedding": _vector(t)} for i, t in enumerate(texts)
                ]
                payload = json.dumps(
                    {
                        "object": "list",
                        "data": data,
                        "model": body["model"],
                        "usage": {"prompt_tokens": 5, "total_tokens": 5},
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"


def _vector(text_: str) -> list[float]:
    v = [0.0] * 16
    for word in text_.lower().split():
        v[int(hashlib.md5(word.encode()).hexdigest(), 16) % 16] += 1.0
    return v


@pytest.fixture
def embedding_server() -> Iterator[_EmbeddingServer]:
    server = _EmbeddingServer()
    yield server
    server.server.shutdown()
    server.server.server_close()


def test_response_relevancy_with_litellm_embeddings(
    fake_openai: FakeOpenAI, embedding_server: _EmbeddingServer
) -> None:
    question = "please refund the duplicate charge"
    fake_openai.script(scripted_judge({"question": question, "noncommittal": 0}))
    spec = {
        "judge": "openai/fake-judge",
        "judge_params": {"api_base": fake_openai.base_url, "api_key": "sk-test"},
    }
    ctx = make_ctx(refund_run(REFUND), input=question)
    scorer = ScorerRegistry().create(
        ScorerSpec(
            name="ragas.response_relevancy",
            args={"embedding_model": "openai/fake-embed", "strictness": 2},
            **spec,
        )
    )
    # the fake judge serves chat only; embeddings have their own local server here
    scorer.judge.embedding_params = {"api_base": embedding_server.base_url, "api_key": "sk-test"}  # type: ignore[attr-defined]
    same = asyncio.run(scorer.score(ctx))
    assert same.error is None and same.score == pytest.approx(1.0)  # generated question == user's question
    assert len(fake_openai.requests) == 2 and embedding_server.calls == 2
    other = asyncio.run(
        scorer.score(make_ctx(refund_run(REFUND), input="what is the weather in paris today"))
    )
    assert other.score is not None and other.score < 0.5
    expected = sum(
        a * b for a, b in zip(_vector(question), _vector("what is the weather in paris today"), strict=True)
    )
    norm = math.dist(_vector(question), [0] * 16) * math.dist(
        _vector("what is the weather in paris today"), [0] * 16
    )
    assert other.score == pytest.approx(expected / norm)
