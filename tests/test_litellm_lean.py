"""litellm used lean for agentctl's calls (providers/litellm_setup.py), over real HTTP to the fake server.

For agentctl's own calls litellm must not run its logging payload, success/failure callbacks
or a price agentctl does not read, and must not look a model up in its cost map on every
call; calls anyone else makes through litellm keep litellm's behaviour; tokens and cost stay
what they were.
"""

from __future__ import annotations

import asyncio
import cProfile
import pstats
import time
from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest

from agentctl.config.models import Price
from agentctl.providers.base import ModelRequest
from agentctl.providers.litellm_model import complete
from agentctl.providers.litellm_setup import import_litellm
from support.fake_openai import FakeOpenAI, Reply, error, text

MESSAGES = [{"role": "user", "content": "hi"}]


def request(fake: FakeOpenAI, model: str, price: Price | None = None) -> ModelRequest:
    return ModelRequest(model=model, messages=MESSAGES, tools=None, timeout_s=10, price=price,
                        params={"api_base": fake.base_url, "api_key": "sk-test-lean-0123456789"})


class Recorder:
    """Which events litellm sent a callback registered in ``litellm.callbacks``."""

    def __init__(self) -> None:
        self.events: list[str] = []


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    litellm = import_litellm()
    from litellm.integrations.custom_logger import CustomLogger

    rec = Recorder()

    class Callback(CustomLogger):  # type: ignore[misc]
        def log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
            rec.events.append("success")

        def log_failure_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
            rec.events.append("failure")

        async def async_log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any,
                                          end_time: Any) -> None:
            rec.events.append("async_success")

        async def async_log_failure_event(self, kwargs: Any, response_obj: Any, start_time: Any,
                                          end_time: Any) -> None:
            rec.events.append("async_failure")

    saved = list(litellm.callbacks)
    litellm.callbacks = [Callback()]
    try:
        yield rec
    finally:
        litellm.callbacks = saved


async def _settle(rec: Recorder, want: int) -> None:
    # litellm's logging worker runs callbacks as tasks: give them a bounded chance to run.
    for _ in range(200):
        if len(rec.events) >= want:
            return
        await asyncio.sleep(0.01)


def test_litellm_callbacks_are_not_invoked_for_our_calls(fake_openai: FakeOpenAI, recorder: Recorder) -> None:
    async def scenario() -> tuple[list[str], list[str]]:
        fake_openai.script(lambda body: text("ok"))
        await complete(request(fake_openai, "openai/fake-lean"))
        fake_openai.script(lambda body: error(500))
        with pytest.raises(Exception) as failed:
            await complete(request(fake_openai, "openai/fake-lean"))
        assert getattr(failed.value, "status_code", None) == 500  # litellm's error mapping is untouched
        await _settle(recorder, 1)
        ours = list(recorder.events)
        # The same callback does see a call someone else makes through litellm: the skip is scoped.
        fake_openai.script(lambda body: text("ok"))
        await import_litellm().acompletion(model="openai/fake-lean", messages=MESSAGES, api_base=fake_openai.base_url,
                                  api_key="sk-test-lean-0123456789", max_retries=0)
        await _settle(recorder, 1)
        return ours, list(recorder.events)

    ours, after_direct = asyncio.run(scenario())
    assert ours == []
    assert "async_success" in after_direct


def _lookups(profile: cProfile.Profile) -> int:
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    return sum(v[1] for (_, _, name), v in stats.items() if name in ("get_model_info_helper", "_build_model_info"))


def _profiled_calls(fake: FakeOpenAI, req: ModelRequest, calls: int) -> tuple[int, int, list[Any]]:
    """Cost-map lookups in the first call and in the ``calls - 1`` after it, and the replies."""
    fake.script(lambda body: text("ok", prompt_tokens=1000, completion_tokens=500))

    async def scenario() -> tuple[int, int, list[Any]]:
        first, rest = cProfile.Profile(time.process_time), cProfile.Profile(time.process_time)
        first.enable()
        replies = [await complete(req)]
        first.disable()
        rest.enable()
        for _ in range(calls - 1):
            replies.append(await complete(req))
        rest.disable()
        return _lookups(first), _lookups(rest), replies

    from agentctl.providers.litellm_setup import on_lean_loop

    # on agentctl's loop: litellm's set-up runs in place after the first call, so the profile
    # sees its lookups too (in an executor thread cProfile does not)
    return asyncio.run(on_lean_loop(scenario()))


def test_a_model_missing_from_the_cost_map_is_looked_up_once_not_per_call(fake_openai: FakeOpenAI) -> None:
    first, rest, replies = _profiled_calls(fake_openai, request(fake_openai, "openai/lean-unknown-1"), 4)
    assert first > 0  # litellm did try to price it, once
    assert rest == 0
    assert [(r.prompt_tokens, r.completion_tokens, r.cost_usd) for r in replies] == [(1000, 500, 0.0)] * 4


def test_a_suite_priced_call_is_not_priced_by_litellm(fake_openai: FakeOpenAI) -> None:
    price = Price(input_usd_per_mtok=1000, output_usd_per_mtok=2000)
    first, rest, replies = _profiled_calls(fake_openai, request(fake_openai, "openai/lean-priced", price), 3)
    assert (first, rest) == (0, 0)
    assert [r.cost_usd for r in replies] == [pytest.approx((1000 * 1000 + 500 * 2000) / 1e6)] * 3


def test_a_cost_map_model_keeps_litellms_price(fake_openai: FakeOpenAI) -> None:
    first, rest, replies = _profiled_calls(fake_openai, request(fake_openai, "openai/gpt-4o-mini"), 3)
    expected = import_litellm().cost_per_token(model="gpt-4o-mini", prompt_tokens=1000, completion_tokens=500)
    assert rest == 0  # litellm caches the model info of a model it knows
    assert [r.cost_usd for r in replies] == [pytest.approx(sum(expected))] * 3
    assert replies[0].cost_usd == pytest.approx((1000 * 0.15 + 500 * 0.60) / 1e6)


def _count(profile: cProfile.Profile, function: str) -> int:
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    return sum(v[1] for (path, _, name), v in stats.items() if name == function and "litellm" in path)


def test_a_cost_map_model_is_priced_once_per_call(fake_openai: FakeOpenAI) -> None:
    """litellm prices the response as it answers; neither litellm's logging nor agentctl prices it again."""
    fake_openai.script(lambda body: text("ok", prompt_tokens=1000, completion_tokens=500))
    req = request(fake_openai, "openai/gpt-4o-mini")

    async def scenario() -> tuple[int, float]:
        await complete(req)  # warm: lazy imports
        profile = cProfile.Profile(time.process_time)
        profile.enable()
        reply = await complete(req)
        await asyncio.sleep(0.05)  # a logging task litellm scheduled would run here
        profile.disable()
        return _count(profile, "completion_cost"), reply.cost_usd

    pricings, cost = asyncio.run(scenario())
    assert pricings == 1
    assert cost == pytest.approx((1000 * 0.15 + 500 * 0.60) / 1e6)


def test_a_judge_calling_litellm_directly_is_lean_and_priced_once(fake_openai: FakeOpenAI, recorder: Recorder) -> None:
    from agentctl.scorers.judge import Judge

    fake_openai.script(lambda body: text('{"score": 1}', prompt_tokens=1000, completion_tokens=500))
    judge = Judge("openai/gpt-4o-mini", {"api_base": fake_openai.base_url, "api_key": "sk-test-lean-0123456789"})

    async def scenario() -> tuple[int, Any]:
        await judge.complete_json("rate it")  # warm
        profile = cProfile.Profile(time.process_time)
        profile.enable()
        reply = await judge.complete_json("rate it")
        await _settle(recorder, 1)
        profile.disable()
        return _count(profile, "completion_cost"), reply

    pricings, reply = asyncio.run(scenario())
    assert (pricings, recorder.events) == (1, [])
    assert (reply.prompt_tokens, reply.completion_tokens) == (1000, 500)
    assert reply.cost_usd == pytest.approx((1000 * 0.15 + 500 * 0.60) / 1e6)


# ---- request bodies: the openai SDK's transform skipped for plain JSON --------------------

TOOL_MESSAGES: list[dict[str, Any]] = [
    {"role": "system", "content": "You route support tickets."},
    {"role": "user", "content": [{"type": "text", "text": "Ticket 7 ", "cache_control": {"type": "ephemeral"}}]},
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "get_ticket", "arguments": '{"ticket_id": 7}'}}]},
    {"role": "tool", "tool_call_id": "call_1", "content": '{"status": "open", "tags": ["a", 1, 2.5, true, null]}'},
]
TOOLS: list[dict[str, Any]] = [{"type": "function", "function": {
    "name": "get_ticket", "description": "Fetch a ticket.",
    "parameters": {"type": "object", "properties": {"ticket_id": {"type": "integer", "minimum": 1}},
                   "required": ["ticket_id"], "additionalProperties": False}}}]


def _sdk_transform() -> Any:
    import openai._utils

    return openai._utils.async_maybe_transform  # the SDK's own, never replaced


def test_a_plain_body_is_sent_exactly_as_the_sdks_transform_would_send_it() -> None:
    import_litellm()
    from openai import NOT_GIVEN, omit
    from openai.resources.chat.completions import completions
    from openai.types.chat import completion_create_params as params

    from agentctl.providers.litellm_setup import lean_call

    body = {"messages": TOOL_MESSAGES, "model": "m", "tools": TOOLS, "temperature": 0, "stream": False,
            "stop": ["\n\n"], "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}},
            "logit_bias": {"50256": -100}, "seed": 3, "top_p": NOT_GIVEN, "user": omit, "n": None}

    async def both() -> tuple[Any, Any]:
        with lean_call(priced=True):
            ours = await completions.async_maybe_transform(dict(body), params.CompletionCreateParamsNonStreaming)
        return ours, await _sdk_transform()(dict(body), params.CompletionCreateParamsNonStreaming)

    ours, sdks = asyncio.run(both())
    assert ours == sdks
    assert "top_p" not in ours and "user" not in ours and ours["n"] is None
    assert list(ours) == list(sdks)  # and the key order the request is encoded in


def test_a_body_with_more_than_plain_json_goes_through_the_sdks_transform() -> None:
    import datetime

    import_litellm()
    from openai.resources.chat.completions import completions
    from openai.types.chat import completion_create_params as params
    from pydantic import BaseModel

    from agentctl.providers.litellm_setup import is_plain_json, lean_call

    class Part(BaseModel):
        type: str = "text"
        text: str = "hi"

    for odd in (datetime.date(2026, 1, 2), Part(), ("a", "tuple"), {1: "int key"}):
        body = {"messages": [{"role": "user", "content": [odd]}], "model": "m", "metadata": {"when": odd}}
        assert not is_plain_json(body)

        async def both(body: dict[str, Any] = body) -> tuple[Any, Any]:
            with lean_call(priced=True):
                ours = await completions.async_maybe_transform(dict(body), params.CompletionCreateParamsNonStreaming)
            return ours, await _sdk_transform()(dict(body), params.CompletionCreateParamsNonStreaming)

        ours, sdks = asyncio.run(both())
        assert ours == sdks
    assert is_plain_json({"messages": TOOL_MESSAGES, "tools": TOOLS, "x": [1, 2.0, True, None, "s"]})


def _transform_walks(profile: cProfile.Profile) -> int:
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    return sum(v[1] for (path, _, name), v in stats.items() if name == "_async_transform_recursive")


def test_our_calls_skip_the_sdk_transform_and_send_the_same_request(fake_openai: FakeOpenAI) -> None:
    """Over HTTP: agentctl's call does not walk the body through the SDK's types, someone
    else's call through litellm still does, and the server receives the same JSON from both."""
    from support.fake_openai import tool_calls

    fake_openai.script(lambda body: tool_calls(("get_ticket", {"ticket_id": 7})))
    litellm = import_litellm()
    params = {"api_base": fake_openai.base_url, "api_key": "sk-test-lean-0123456789", "temperature": 0}
    req = ModelRequest(model="openai/fake-lean", messages=TOOL_MESSAGES, tools=TOOLS, timeout_s=10,
                       max_retries=0, params=params, price=Price(input_usd_per_mtok=1, output_usd_per_mtok=1))

    async def scenario() -> tuple[int, int, Any]:
        await complete(req)  # warm: lazy imports
        fake_openai.requests.clear()
        ours, theirs = cProfile.Profile(time.process_time), cProfile.Profile(time.process_time)
        ours.enable()
        reply = await complete(req)
        ours.disable()
        theirs.enable()
        await litellm.acompletion(model="openai/fake-lean", messages=TOOL_MESSAGES, tools=TOOLS, timeout=10,
                                  max_retries=0, _skip_mcp_handler=True, **params)
        theirs.disable()
        return _transform_walks(ours), _transform_walks(theirs), reply

    ours, theirs, reply = asyncio.run(scenario())
    assert (ours, theirs > 0) == (0, True)
    assert reply.message["tool_calls"][0]["function"] == {"name": "get_ticket", "arguments": '{"ticket_id": 7}'}
    sent_by_us, sent_directly = fake_openai.requests
    assert sent_by_us == sent_directly
    assert sent_by_us["tools"] == TOOLS and sent_by_us["messages"][-1] == TOOL_MESSAGES[-1]


def test_the_chat_parameters_have_no_field_the_sdks_transform_would_rewrite() -> None:
    """The skip returns a plain body as built; that equals the SDK's transform only while no
    chat parameter, however deep, is aliased or formatted. A newer SDK that adds one fails here."""
    import typing_extensions as typing  # the SDK's TypedDicts are typing_extensions'

    import_litellm()
    from openai._utils._transform import PropertyInfo
    from openai.types.chat import completion_create_params as params

    seen: set[int] = set()
    rewritten: list[str] = []
    typeddicts = 0

    def walk(tp: Any, where: str) -> None:
        nonlocal typeddicts
        if id(tp) in seen:
            return
        seen.add(id(tp))
        for meta in getattr(tp, "__metadata__", ()):
            if isinstance(meta, PropertyInfo) and (meta.alias or meta.format):
                rewritten.append(where)
        if typing.is_typeddict(tp):
            typeddicts += 1
            for key, hint in typing.get_type_hints(tp, include_extras=True).items():
                walk(hint, f"{where}.{key}")
            return
        for arg in typing.get_args(tp):
            walk(arg, where)

    for root in (params.CompletionCreateParamsNonStreaming, params.CompletionCreateParamsStreaming):
        walk(root, root.__name__)
    assert typeddicts > 20  # the walk did reach the message, content-part and tool types
    assert rewritten == []


# ---- litellm's set-up run in place on agentctl's loops ------------------------------------


def _probe() -> Any:
    """A :class:`LeanExecutor` counting the litellm set-ups it hands to its threads."""
    from concurrent.futures import ThreadPoolExecutor

    import litellm.main

    from agentctl.providers.litellm_setup import LeanExecutor

    class Threads(ThreadPoolExecutor):
        handed = 0

        def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
            inner = fn.args[0] if isinstance(fn, partial) and fn.args else None
            if getattr(inner, "func", None) is litellm.main.completion:  # not the SDK's get_platform
                type(self).handed += 1
            return super().submit(fn, *args, **kwargs)

    class Probe(LeanExecutor, Threads):  # LeanExecutor's super() is Threads
        pass

    return Probe()


def test_on_agentctls_loop_our_calls_set_up_in_place_after_the_first(fake_openai: FakeOpenAI) -> None:
    """litellm's acompletion runs its synchronous set-up in the default executor. On a loop
    agentctl runs, the first call of a model does (to learn that the set-up only returns the
    coroutine), the calls after it set up in place; a call that is not agentctl's still goes
    to a thread."""
    from agentctl.providers.litellm_setup import LeanExecutor, on_lean_loop

    litellm = import_litellm()
    req = request(fake_openai, "openai/lean-in-place", Price(input_usd_per_mtok=1, output_usd_per_mtok=1))
    probe = _probe()

    async def scenario() -> tuple[int, int, list[str]]:
        assert isinstance(asyncio.get_running_loop()._default_executor, LeanExecutor)  # type: ignore[attr-defined]
        asyncio.get_running_loop().set_default_executor(probe)
        await complete(req)  # the first: in a thread
        replies = await asyncio.gather(*(complete(req) for _ in range(20)))
        ours = probe.handed
        await asyncio.gather(*(litellm.acompletion(model="openai/lean-in-place", messages=MESSAGES, max_retries=0,
                                                   api_base=fake_openai.base_url, api_key="sk-test-lean-0123456789")
                               for _ in range(5)))
        return ours, probe.handed - ours, [r.message["content"] for r in replies]

    ours, theirs, contents = asyncio.run(on_lean_loop(scenario()))
    assert (ours, theirs) == (1, 5)
    assert contents == ["ok"] * 20
    assert len(fake_openai.requests) == 26


def test_a_set_up_that_does_not_return_a_coroutine_keeps_its_thread() -> None:
    """A provider whose synchronous set-up makes the request itself must not block the loop:
    once seen, that model's set-up keeps going to a thread. (litellm's own mock_response makes
    ``completion`` answer synchronously, as such a provider does; no network.)"""
    import contextvars

    import litellm.main

    from agentctl.providers.litellm_setup import lean_call

    import_litellm()
    probe = _probe()

    def submitted(model: str) -> Any:
        ctx = contextvars.copy_context()
        setup = partial(ctx.run, partial(litellm.main.completion, model=model, messages=MESSAGES, mock_response="hi"))
        with lean_call(priced=True):
            return probe.submit(setup).result(timeout=30)

    try:
        replies = [submitted("openai/lean-sync-setup") for _ in range(3)]
    finally:
        probe.shutdown()
    assert [r.choices[0].message.content for r in replies] == ["hi"] * 3
    assert probe.handed == 3  # every one in a thread


_FIRST_CALL = """
import asyncio, json, sys
from support.fake_openai import FakeOpenAI
from agentctl.config.models import Price
from agentctl.providers.base import ModelRequest
from agentctl.providers.litellm_model import complete
from agentctl.providers.litellm_setup import import_litellm, warm_up

import_litellm()
with FakeOpenAI() as fake:
    if sys.argv[1] == "warm":
        warm_up()
    warmed_requests = len(fake.requests)
    import threading
    threads = [t.name for t in threading.enumerate() if not t.daemon and t is not threading.main_thread()]
    req = ModelRequest(model="openai/first-call", messages=[{"role": "user", "content": "hi"}], tools=None,
                       timeout_s=10, max_retries=0, price=Price(input_usd_per_mtok=1, output_usd_per_mtok=1),
                       params={"api_base": fake.base_url, "api_key": "sk-test-lean-0123456789"})
    before = set(sys.modules)
    reply = asyncio.run(complete(req))
    print(json.dumps({"imported": sorted(set(sys.modules) - before), "warm_requests": warmed_requests,
                      "threads": threads,
                      "content": reply.message["content"]}))
"""


def test_the_warm_up_builds_litellms_first_call_set_up_without_a_request() -> None:
    """In a fresh interpreter: after ``warm_up`` (one call answered by litellm's mock, no
    request made, no thread started) the first real call imports a fraction of the modules it imports cold;
    the workers' forking process and each provider do it before the first timed call."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    tests = Path(__file__).resolve().parent

    def first_call(mode: str) -> dict[str, Any]:
        done = subprocess.run([sys.executable, "-c", _FIRST_CALL, mode], capture_output=True, text=True,
                              timeout=300, check=False, cwd=tests)
        assert done.returncode == 0, done.stderr
        out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        return out

    cold, warm = first_call("cold"), first_call("warm")
    assert warm["warm_requests"] == 0 and cold["content"] == warm["content"] == "ok"
    assert warm["threads"] == []  # no thread left behind (the forking process must have none)
    assert len(cold["imported"]) >= 10
    assert len(warm["imported"]) * 3 <= len(cold["imported"]), (cold["imported"], warm["imported"])


def test_model_info_is_looked_up_once_per_model_for_our_calls() -> None:
    import litellm.main

    from agentctl.providers.litellm_setup import lean_call

    import_litellm()
    lookup = litellm.main.get_model_info_helper
    with lean_call(priced=True):
        first = lookup(model="gpt-4o-mini", custom_llm_provider="openai")
        first["mode"] = "changed by a caller"
        second = lookup(model="gpt-4o-mini", custom_llm_provider="openai")
        for _ in range(2):
            with pytest.raises(Exception, match="not-a-mapped-model"):
                lookup(model="not-a-mapped-model", custom_llm_provider="openai")
    assert second["mode"] == "chat" and second["input_cost_per_token"] > 0
    with pytest.raises(Exception) as theirs:  # not ours: litellm's own lookup and error
        lookup(model="not-a-mapped-model", custom_llm_provider="openai")
    assert type(theirs.value).__name__ != "_NotInCostMap"


_FILE_IDS = """
import json, sys
from agentctl.providers.litellm_setup import import_litellm, lean_call, warm_up

litellm = import_litellm()
warm_up()
plain = [{"role": "system", "content": "s"}, {"role": "user", "content": [{"type": "text", "text": "hi"}]},
         {"role": "assistant", "content": None, "tool_calls": []}, {"role": "tool", "content": "{}"}]
with lean_call(priced=True):
    same = litellm.main.update_messages_with_model_file_ids(messages=plain, model_id=None, model_file_id_mapping={})
after_plain = "litellm.proxy._types" in sys.modules
# a file part whose id litellm maps: our calls with one still get litellm's rewrite
mapped = [{"role": "user", "content": [{"type": "file", "file": {"file_id": "litellm_proxy/f1"}}]}]
with lean_call(priced=True):
    litellm.main.update_messages_with_model_file_ids(messages=mapped, model_id="m1",
                                                     model_file_id_mapping={"litellm_proxy/f1": {"m1": "file-abc"}})
print(json.dumps({"same": same is plain, "proxy_types_after_plain": after_plain,
                  "mapped": mapped[0]["content"][0]["file"]["file_id"]}))
"""


def test_our_calls_without_file_parts_skip_litellms_file_id_rewrite() -> None:
    """litellm passes every call's messages through its file-id rewrite, whose first call
    imports its proxy types (66 ms of a process's start-up): for agentctl's calls with no
    file part the messages are returned as that rewrite returns them, and it is not loaded;
    a call with a file part is rewritten by litellm as before."""
    import json
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _FILE_IDS], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out == {"same": True, "proxy_types_after_plain": False, "mapped": "file-abc"}


@pytest.mark.parametrize(("messages", "expected"), [
    ([{"role": "user", "content": "hi"}], False),
    ([{"role": "user", "content": [{"type": "text", "text": "x"}, "raw"]}], False),
    ([{"role": "assistant", "content": [{"type": "file"}]}], False),  # only user messages' files are rewritten
    ([{"role": "user", "content": [{"type": "file", "file": {}}]}], True),
    ([{"role": "user", "content": ({"type": "text"},)}], None),  # not a list: nothing assumed
    ((), None),
    ([object()], None),
])
def test_which_messages_have_a_file_part(messages: Any, expected: bool | None) -> None:
    from agentctl.providers.litellm_setup import _has_file_part

    assert _has_file_part(messages) is expected


def _calls_to(profile: cProfile.Profile, filename: str, function: str) -> int:
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    return sum(s[1] for (file, _, name), s in stats.items() if file.endswith(filename) and name == function)


def test_litellms_provider_list_is_read_without_the_enums_python_iterator() -> None:
    """litellm lists every ``LlmProviders`` value twice per call: after agentctl's set-up the
    same members come, in the same order with the same values, from a tuple."""
    import enum

    import_litellm()
    from litellm.types.utils import LlmProviders

    members = [LlmProviders[name] for name in LlmProviders._member_names_]
    profile = cProfile.Profile()
    profile.enable()
    values = [provider.value for provider in LlmProviders]
    profile.disable()
    assert _calls_to(profile, "enum.py", "__iter__") == 0 and _calls_to(profile, "enum.py", "__get__") == 0
    assert list(LlmProviders) == members and len(LlmProviders) == len(members)
    assert values == [m._value_ for m in members] and "openai" in values
    assert LlmProviders("openai") is LlmProviders.OPENAI and LlmProviders.OPENAI.value == "openai"
    assert isinstance(LlmProviders.OPENAI, LlmProviders) and isinstance(LlmProviders, enum.EnumType)
    assert LlmProviders.OPENAI in LlmProviders and LlmProviders.OPENAI.name == "OPENAI"


def test_a_response_without_cookies_skips_the_cookie_jar_and_one_with_them_is_stored(
        fake_openai: FakeOpenAI) -> None:
    """Over HTTP, with litellm's set-up applied: httpx stores a provider's ``Set-Cookie`` and
    sends it back as before; a response that sets none never reaches urllib's cookie code."""
    import httpx

    import_litellm()
    replies = iter([text("a"), Reply(body=text("b").body, headers={"Set-Cookie": "affinity=node-2; Path=/"}),
                    text("c")])
    fake_openai.script(lambda body: next(replies))
    seen: list[str | None] = []

    async def scenario() -> tuple[int, int]:
        async with httpx.AsyncClient(base_url=fake_openai.base_url) as client:
            counts = []
            for _ in range(3):
                profile = cProfile.Profile()
                profile.enable()
                await client.post("/chat/completions", json={"model": "m", "messages": MESSAGES})
                profile.disable()
                counts.append(_calls_to(profile, "cookiejar.py", "extract_cookies"))
                seen.append(client.cookies.get("affinity"))
            return counts[0], counts[1]

    without, with_cookie = asyncio.run(scenario())
    assert (without, with_cookie) == (0, 1)
    assert seen == [None, "node-2", "node-2"]
    assert [r.get("cookie") for r in fake_openai.request_headers][-1] == "affinity=node-2"


_RESOURCES = """
import asyncio, json, sys
from support.fake_openai import FakeOpenAI
from agentctl.providers.base import ModelRequest
from agentctl.providers.litellm_model import complete
from agentctl.providers.litellm_setup import import_litellm

import_litellm()
with FakeOpenAI() as fake:
    req = ModelRequest(model="openai/resources", messages=[{"role": "user", "content": "hi"}], tools=None,
                       timeout_s=10, max_retries=0, params={"api_base": fake.base_url, "api_key": "sk-test-lean-0123"})
    content = asyncio.run(complete(req)).message["content"]
loaded = sorted(m for m in sys.modules if m.startswith("openai.resources."))
from openai.resources import AsyncBatches, Files
import openai.resources as via_proxy
from openai import resources
module = sys.modules["openai.resources"]
print(json.dumps({"content": content, "loaded_after_call": loaded, "all": sorted(module.__all__),
                  "files": Files.__module__, "batches": AsyncBatches.__name__,
                  "proxy": via_proxy.Chat is module.Chat and resources.AsyncAdmin is module.AsyncAdmin,
                  "admin_after_names": "openai.resources.admin" in sys.modules}))
"""

_REAL_RESOURCES = "import json, openai.resources as r; print(json.dumps(sorted(r.__all__)))"


def test_a_chat_call_imports_only_the_chat_resources_of_the_sdk_and_the_rest_on_demand() -> None:
    """In a fresh interpreter: our chat call over HTTP loads ``openai.resources.chat`` and
    not the other APIs' resources (0.17 s of every worker's start-up); any name of the
    package then still comes, as it would have, from the SDK's own ``__init__``."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    tests = Path(__file__).resolve().parent
    done = subprocess.run([sys.executable, "-c", _RESOURCES], capture_output=True, text=True, timeout=300,
                          check=False, cwd=tests)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    real = subprocess.run([sys.executable, "-c", _REAL_RESOURCES], capture_output=True, text=True, timeout=300,
                          check=True)
    assert out["content"] == "ok"
    loaded = out["loaded_after_call"]
    assert "openai.resources.chat.completions.completions" in loaded
    assert not [m for m in loaded if not m.startswith("openai.resources.chat")], loaded
    assert out["all"] == json.loads(real.stdout) and len(out["all"]) > 50
    assert out["files"] == "openai.resources.files" and out["batches"] == "AsyncBatches"
    assert out["proxy"] is True and out["admin_after_names"] is True


_TYPES = """
import asyncio, importlib, json, os, sys
from support.fake_openai import FakeOpenAI
from agentctl.providers.base import ModelRequest
from agentctl.providers.litellm_model import complete
from agentctl.providers.litellm_setup import import_litellm

import_litellm()
with FakeOpenAI() as fake:
    req = ModelRequest(model="openai/types", messages=[{"role": "user", "content": "hi"}], tools=None,
                       timeout_s=10, max_retries=0, params={"api_base": fake.base_url, "api_key": "sk-test-lean-0123"})
    content = asyncio.run(complete(req)).message["content"]
loaded = sorted(m for m in sys.modules if m.startswith("openai.types"))
import openai.types as types
hooked = type(types.__spec__.loader).__name__
in_dir = "VideoCreateParams" in dir(types) and "Batch" in dir(types)
"""

_NAMES = """
def names():
    root = os.path.dirname(importlib.import_module("openai.types").__file__)
    out = {}
    for dirpath, _, files in sorted(os.walk(root)):
        if "__init__.py" not in files:
            continue
        package = "openai." + os.path.relpath(dirpath, os.path.dirname(root)).replace(os.sep, ".")
        module = importlib.import_module(package)
        star = {}
        exec(f"from {package} import *", star)
        for name in sorted(n for n in star if not n.startswith("_")):
            value = getattr(module, name)
            if type(value) is type(os):  # a submodule: bound once anything has imported it
                continue
            out[f"{package}:{name}"] = (f"{value.__module__}.{value.__qualname__}" if isinstance(value, type)
                                        else repr(value))
    return out
"""


def test_the_sdks_types_packages_import_a_type_only_when_it_is_asked_for_and_bind_the_same_names() -> None:
    """In a fresh interpreter: litellm's import and our chat call over HTTP load a part of
    ``openai.types`` (not the video, skills or evals types: 0.2 s of every worker's
    start-up), and every name each ``openai.types`` package binds (``from ... import *``,
    with or without the hook) is then the same class or value as in an interpreter without it."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    tests = Path(__file__).resolve().parent
    hooked = _TYPES + _NAMES + ('print(json.dumps({"content": content, "loaded": loaded, "hooked": hooked, '
                                '"in_dir": in_dir, "names": names()}))')
    done = subprocess.run([sys.executable, "-c", hooked], capture_output=True, text=True, timeout=300, check=False,
                          cwd=tests)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    plain = "import importlib, json, os\n" + _NAMES + "print(json.dumps(names()))"
    real = subprocess.run([sys.executable, "-c", plain], capture_output=True, text=True, timeout=300, check=True)
    assert out["content"] == "ok" and out["hooked"] == "_ReexportsOnDemand" and out["in_dir"] is True
    loaded = out["loaded"]
    assert "openai.types.chat.chat_completion" in loaded
    assert not [m for m in loaded if m.startswith(("openai.types.video", "openai.types.skill", "openai.types.eval"))]
    everything = json.loads(real.stdout)
    assert len(everything) > 1000 and out["names"] == everything


def test_the_sdk_prepares_each_request_url_once_per_client_and_base_url() -> None:
    """The openai client remembers the URLs it prepared: equal to what the SDK's own
    ``_prepare_url`` returns (relative and absolute), not parsed again for the same path, and
    prepared afresh once ``base_url`` is assigned."""
    import openai
    from openai._base_client import BaseClient

    import_litellm()
    own = BaseClient._prepare_url.__closure__[0].cell_contents  # type: ignore[attr-defined]
    assert own.__qualname__ == "BaseClient._prepare_url" and own is not BaseClient._prepare_url
    client = openai.AsyncOpenAI(api_key="sk-test-url-0123", base_url="http://127.0.0.1:9/v1")
    for url in ("/chat/completions", "chat/completions", "https://other.example/v2/x?y=1"):
        assert client._prepare_url(url) == own(client, url)
    profile = cProfile.Profile()
    profile.enable()
    first, again = client._prepare_url("/chat/completions"), client._prepare_url("/chat/completions")
    profile.disable()
    assert first is again and _calls_to(profile, "_urlparse.py", "urlparse") == 0
    client.base_url = "http://127.0.0.1:10/api/"  # type: ignore[assignment]
    moved = client._prepare_url("/chat/completions")
    assert str(moved) == "http://127.0.0.1:10/api/chat/completions" == str(own(client, "/chat/completions"))
    other = openai.AsyncOpenAI(api_key="sk-test-url-0123", base_url="http://127.0.0.1:11/v1")
    assert str(other._prepare_url("/chat/completions")) == "http://127.0.0.1:11/v1/chat/completions"
