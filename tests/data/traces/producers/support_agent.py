"""The support agent, written three ways: by hand on the ``openai`` client, on the OpenAI Agents SDK,
and as a LangGraph ``create_react_agent``. Each runs one scenario against the scripted server."""

from __future__ import annotations

import asyncio
import json
from contextlib import nullcontext
from typing import Any

from scenarios import MODEL, SYSTEM, TOOLS, Scenario, tool_schemas


def _execute(name: str, args: dict[str, Any]) -> str:
    try:
        return json.dumps(TOOLS[name](**args))
    except Exception as exc:  # the agent reports tool failures to the model, as real agents do
        return f"Error: {exc}"


def run_client_agent(client: Any, scenario: Scenario, *, stream: bool = False, tracer: Any = None,
                     session: str | None = None, log: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """A hand-written tool loop. ``tracer``: wrap it in OpenInference AGENT and TOOL spans, as apps do."""
    messages: list[dict[str, Any]] = [{"role": "system", "content": SYSTEM}, *scenario.input_messages()]
    agent_span = nullcontext()
    if tracer is not None:
        agent_span = tracer.start_as_current_span("support-agent", attributes={
            "openinference.span.kind": "AGENT", "input.value": scenario.user, "agent.name": "Ada",
            **({"session.id": session} if session else {})})
    with agent_span as span:
        while True:
            request = {"model": MODEL, "messages": list(messages), "tools": tool_schemas()}
            if stream:
                message = _streamed(client.chat.completions.create(**request, stream=True,
                                                                   stream_options={"include_usage": True}))
                response = None
            else:
                response = client.chat.completions.create(**request)
                message = response.choices[0].message.model_dump()
            if log is not None and response is not None:
                log.append({"request": request, "response": response.model_dump()})
            messages.append(message)
            if not message.get("tool_calls"):
                break
            for call in message["tool_calls"]:
                name, args = call["function"]["name"], json.loads(call["function"]["arguments"] or "{}")
                tool_span = nullcontext()
                if tracer is not None:
                    tool_span = tracer.start_as_current_span(name, attributes={
                        "openinference.span.kind": "TOOL", "tool.name": name,
                        "input.value": call["function"]["arguments"], "input.mime_type": "application/json"})
                with tool_span as ts:
                    output = _execute(name, args)
                    if ts is not None:
                        ts.set_attribute("output.value", output)
                messages.append({"role": "tool", "tool_call_id": call["id"], "content": output})
        if span is not None:
            span.set_attribute("output.value", message.get("content") or "")
    return messages


def _streamed(chunks: Any) -> dict[str, Any]:
    content: list[str] = []
    calls: dict[int, dict[str, Any]] = {}
    for chunk in chunks:
        for choice in chunk.choices:
            if choice.delta.content:
                content.append(choice.delta.content)
            for tc in choice.delta.tool_calls or []:
                c = calls.setdefault(tc.index, {"id": tc.id, "type": "function",
                                                "function": {"name": "", "arguments": ""}})
                if tc.function and tc.function.name:
                    c["function"]["name"] += tc.function.name
                if tc.function and tc.function.arguments:
                    c["function"]["arguments"] += tc.function.arguments
    message: dict[str, Any] = {"role": "assistant", "content": "".join(content) or None}
    if calls:
        message["tool_calls"] = [calls[i] for i in sorted(calls)]
    return message


def run_sdk_agent(base_url: str, scenario: Scenario, *, responses: bool) -> None:
    """The OpenAI Agents SDK: one ``Runner.run`` per conversation, the earlier exchange as input."""
    from agents import (
        Agent,
        OpenAIChatCompletionsModel,
        OpenAIResponsesModel,
        RunConfig,
        Runner,
        function_tool,
    )
    from openai import AsyncOpenAI

    async def go() -> None:
        client = AsyncOpenAI(base_url=base_url, api_key="sk-test", max_retries=0)
        model = (OpenAIResponsesModel(model=MODEL, openai_client=client) if responses
                 else OpenAIChatCompletionsModel(model=MODEL, openai_client=client))
        agent = Agent(name="Ada", instructions=SYSTEM, model=model,
                      tools=[function_tool(f) for f in TOOLS.values()])
        await Runner.run(agent, input=scenario.input_messages(),  # type: ignore[arg-type]
                         run_config=RunConfig(workflow_name="support", group_id=scenario.name))
        await client.close()

    asyncio.run(go())


def run_langgraph_agent(base_url: str, scenario: Scenario) -> None:
    """LangGraph's prebuilt ReAct agent on ``langchain-openai``."""
    from langchain_core.tools import StructuredTool
    from langchain_openai import ChatOpenAI
    from langgraph.prebuilt import ToolNode, create_react_agent

    llm = ChatOpenAI(model=MODEL, base_url=base_url, api_key="sk-test", max_retries=0)  # type: ignore[arg-type]
    tools = ToolNode([StructuredTool.from_function(f) for f in TOOLS.values()], handle_tool_errors=True)
    agent = create_react_agent(llm, tools, prompt=SYSTEM)
    agent.invoke({"messages": scenario.input_messages()},
                 config={"configurable": {"thread_id": scenario.name}, "metadata": {"session_id": scenario.name}})
