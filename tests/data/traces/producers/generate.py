"""Run the support agent under every trace producer and write what each one exports.

    python tests/data/traces/producers/generate.py [OUT] [--only MODE ...] [--all-formats]

OUT defaults to ``tests/data/traces/producers/out`` (committed). Every mode runs in its own
interpreter (instrumentors patch globally and read their switches from the environment) against
its own fake OpenAI server on 127.0.0.1, and writes ``OUT/<mode>/``: the exports, ``truth.json``
(what the model was actually sent and answered, per conversation) and ``producer.json`` (library
versions and the content-capture switches used). A producer upgrade is: bump the pin, run this.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

V2_LATEST = {"OTEL_SEMCONV_STABILITY_OPT_IN": "gen_ai_latest_experimental"}


@dataclass(frozen=True)
class Mode:
    name: str
    producer: str
    """The importer format a user picks: ``openai``, ``otel`` or ``openinference``."""
    packages: tuple[str, ...]
    agent: str
    """``client``, ``client-stream``, ``client-app`` (OpenInference AGENT/TOOL spans), ``sdk-chat``,
    ``sdk-responses`` or ``langgraph``."""
    instrument: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    logs: bool = False
    """The content is in OTLP log records: the logs export is part of the import."""


MODES = [
    Mode("openai-client-logs", "openai", ("openai",), "client"),
    Mode("otel-v2-span-only", "otel", ("opentelemetry-instrumentation-openai-v2", "opentelemetry-util-genai"),
         "client", ("otel-openai",), {**V2_LATEST, "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "span_only"}),
    Mode("otel-v2-event-only", "otel", ("opentelemetry-instrumentation-openai-v2", "opentelemetry-util-genai"),
         "client", ("otel-openai",), {**V2_LATEST, "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "event_only"},
         logs=True),
    Mode("otel-v2-legacy", "otel", ("opentelemetry-instrumentation-openai-v2",), "client", ("otel-openai",),
         {"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "true"}, logs=True),
    Mode("oi-openai", "openinference", ("openinference-instrumentation-openai",), "client", ("oi-openai",)),
    Mode("oi-openai-app-spans", "openinference", ("openinference-instrumentation-openai",), "client-app",
         ("oi-openai",)),
    Mode("oi-openai-stream", "openinference", ("openinference-instrumentation-openai",), "client-stream",
         ("oi-openai",)),
    Mode("agents-oi-chat", "openinference", ("openai-agents", "openinference-instrumentation-openai-agents"),
         "sdk-chat", ("oi-agents",)),
    Mode("agents-oi-chat+client", "openinference", ("openai-agents", "openinference-instrumentation-openai-agents",
                                                   "openinference-instrumentation-openai"),
         "sdk-chat", ("oi-agents", "oi-openai")),
    Mode("agents-oi-responses", "openinference", ("openai-agents", "openinference-instrumentation-openai-agents"),
         "sdk-responses", ("oi-agents",)),
    Mode("agents-oi-responses+client", "openinference", (
        "openai-agents", "openinference-instrumentation-openai-agents", "openinference-instrumentation-openai"),
        "sdk-responses", ("oi-agents", "oi-openai")),
    Mode("agents-otel-chat", "otel", ("openai-agents", "opentelemetry-instrumentation-openai-agents-v2"),
         "sdk-chat", ("otel-agents",), {"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "span_only"}),
    Mode("agents-otel-chat+client", "otel", ("openai-agents", "opentelemetry-instrumentation-openai-agents-v2",
                                            "opentelemetry-instrumentation-openai-v2"),
         "sdk-chat", ("otel-agents", "otel-openai"),
         {**V2_LATEST, "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "span_only"}),
    Mode("agents-otel-responses", "otel", ("openai-agents", "opentelemetry-instrumentation-openai-agents-v2"),
         "sdk-responses", ("otel-agents",), {"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "span_only"}),
    Mode("langgraph-oi", "openinference", ("langgraph", "langchain-openai", "openinference-instrumentation-langchain"),
         "langgraph", ("oi-langchain",)),
]
BY_NAME = {m.name: m for m in MODES}


def _instrument(names: tuple[str, ...], provider: Any, logger_provider: Any) -> None:
    for name in names:
        if name == "otel-openai":
            from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

            OpenAIInstrumentor().instrument(tracer_provider=provider, logger_provider=logger_provider)
        elif name == "oi-openai":
            from openinference.instrumentation.openai import OpenAIInstrumentor as OIOpenAI

            OIOpenAI().instrument(tracer_provider=provider)
        elif name == "oi-agents":
            from agents import set_trace_processors
            from openinference.instrumentation.openai_agents import OpenAIAgentsInstrumentor

            set_trace_processors([])  # no export to the OpenAI platform
            OpenAIAgentsInstrumentor().instrument(tracer_provider=provider)
        elif name == "otel-agents":
            from agents import set_trace_processors
            from opentelemetry.instrumentation.openai_agents import OpenAIAgentsInstrumentor as OtelAgents

            set_trace_processors([])
            OtelAgents().instrument(tracer_provider=provider)
        elif name == "oi-langchain":
            from openinference.instrumentation.langchain import LangChainInstrumentor

            LangChainInstrumentor().instrument(tracer_provider=provider)


def produce(mode: Mode, out: Path, formats: tuple[str, ...]) -> None:
    """In a fresh interpreter: run the ten conversations under ``mode`` and write its exports."""
    from exports import Telemetry
    from scenarios import SCENARIOS, ground_truth
    from server import start
    from support_agent import run_client_agent, run_langgraph_agent, run_sdk_agent

    out.mkdir(parents=True, exist_ok=True)
    fake, model = start()
    telemetry = Telemetry(seed=sum(map(ord, mode.name))) if mode.instrument else None
    if telemetry is not None:
        _instrument(mode.instrument, telemetry.tracer_provider, telemetry.logger_provider)
    calls: list[dict[str, Any]] = []
    conversations: list[dict[str, Any]] = []
    client = None
    if mode.agent.startswith("client"):
        from openai import OpenAI

        client = OpenAI(base_url=fake.base_url, api_key="sk-test", max_retries=0)
    tracer = telemetry.tracer_provider.get_tracer("support-agent") if telemetry and mode.agent == "client-app" \
        else None
    for scenario in SCENARIOS:
        if mode.agent.startswith("client"):
            before = len(model.exchanges)
            messages = run_client_agent(client, scenario, stream=mode.agent == "client-stream", tracer=tracer,
                                        session=f"conv-{scenario.name}", log=calls)
            used = [r["usage"] for _, r in model.exchanges[before:]]
            conversations.append({"conversation_id": f"conv-{scenario.name}", "model": "gpt-4o-mini",
                                  "messages": messages,
                                  "usage": {k: sum(u[k] for u in used) for k in ("prompt_tokens", "completion_tokens")}})
        elif mode.agent.startswith("sdk"):
            run_sdk_agent(fake.base_url, scenario, responses=mode.agent == "sdk-responses")
        else:
            run_langgraph_agent(fake.base_url, scenario)
        if telemetry is not None:
            telemetry.cut()
    files: list[str] = []
    if telemetry is not None:
        telemetry.tracer_provider.force_flush()
        files = telemetry.write(out, formats)
    elif mode.producer == "openai":
        (out / "calls.jsonl").write_text("".join(json.dumps(c) + "\n" for c in calls))
        (out / "conversations.jsonl").write_text("".join(json.dumps(c) + "\n" for c in conversations))
        files = ["calls.jsonl", "conversations.jsonl"]
    fake.close()
    truth = ground_truth(model.exchanges)
    (out / "truth.json").write_text(json.dumps(truth, indent=1, ensure_ascii=False) + "\n")
    (out / "producer.json").write_text(json.dumps({
        "mode": mode.name, "format": mode.producer, "agent": mode.agent, "env": mode.env, "files": files,
        "logs": mode.logs, "versions": {p: version(p) for p in mode.packages}}, indent=1) + "\n")


def generate(out: Path, only: list[str] | None = None, all_formats: bool = False, workers: int = 2) -> list[Path]:
    """Every mode (or ``only``) in its own subprocess; returns the mode folders written."""
    modes = [BY_NAME[n] for n in only] if only else MODES

    def one(mode: Mode) -> Path:
        target = out / mode.name
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "OPENAI_"))}
        env.update(mode.env, OPENAI_AGENTS_DISABLE_TRACING="0", PYTHONHASHSEED="0")
        args = [sys.executable, str(Path(__file__).resolve()), "--child", mode.name, str(target)]
        if all_formats:
            args.append("--all-formats")
        done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise RuntimeError(f"producer {mode.name} failed:\n{done.stdout}\n{done.stderr}")
        return target

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, modes))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", nargs="?", default=str(HERE / "out"))
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--all-formats", action="store_true", help="also to_json and console span files")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        formats = ("otlp", "to_json", "console") if args.all_formats else ("otlp",)
        produce(BY_NAME[args.child], Path(args.out), formats)
        return
    for path in generate(Path(args.out), args.only, args.all_formats):
        print(path)


if __name__ == "__main__":
    main()
