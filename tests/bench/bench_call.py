"""CPU per model call: litellm (as agentctl calls it) against a bare HTTP request, same local mock.

    .venv/bin/python tests/bench/bench_call.py [CALLS] [--profile OUT.prof]

Prints CPU ms per call for: a bare aiohttp POST; the openai SDK's ``chat.completions.create``
(the client litellm drives for ``openai/`` models); ``litellm.acompletion`` with litellm's
defaults; and agentctl's whole ``complete()`` (litellm used lean, see
``agentctl.providers.litellm_setup``, on an event loop as ``eval run`` runs it), for a model
the suite prices and for one priced by neither the suite nor litellm's cost map. Concurrency
32, 0 ms latency.
"""

from __future__ import annotations

import asyncio
import cProfile
import json
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from bench_perf import Mock  # noqa: E402

MESSAGES = [{"role": "system", "content": "You route support tickets."},
            {"role": "user", "content": "Ticket 1: my order has not arrived, please help."}]
TOOLS = [{"type": "function", "function": {"name": "get_ticket", "description": "Fetch a ticket.",
          "parameters": {"type": "object", "properties": {"ticket_id": {"type": "integer"}}}}}]


async def _many(fn, calls: int, concurrency: int = 32) -> float:  # type: ignore[no-untyped-def]
    sem = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with sem:
            await fn()

    await fn()  # warm: connections, lazy imports
    start = time.process_time()
    await asyncio.gather(*(one() for _ in range(calls)))
    return (time.process_time() - start) / calls * 1000


async def main(calls: int, profile: str | None) -> None:
    import aiohttp

    from agentctl.config.models import Price
    from agentctl.providers.base import ModelRequest
    from agentctl.providers.litellm_model import complete
    from agentctl.providers.litellm_setup import import_litellm

    litellm = import_litellm()
    with tempfile.TemporaryDirectory() as tmp:
        mock = Mock(Path(tmp), 0)
        url = mock.base_url
        body = json.dumps({"model": "bench-1", "messages": MESSAGES, "tools": TOOLS, "temperature": 0})
        async with aiohttp.ClientSession() as session:
            async def bare() -> None:
                async with session.post(url + "/chat/completions", data=body,
                                        headers={"Content-Type": "application/json",
                                                 "Authorization": "Bearer sk-x"}) as resp:
                    json.loads(await resp.read())

            print(f"bare aiohttp POST + json          {await _many(bare, calls):6.2f} ms CPU/call")

        import openai

        sdk = openai.AsyncOpenAI(base_url=url, api_key="sk-bench", max_retries=0, timeout=30)

        async def openai_sdk() -> None:
            await sdk.chat.completions.create(model="bench-1", messages=MESSAGES, tools=TOOLS,  # type: ignore[arg-type]
                                              temperature=0)

        print(f"openai SDK chat.completions       {await _many(openai_sdk, calls):6.2f} ms CPU/call")
        await sdk.close()

        async def lite() -> None:
            await litellm.acompletion(model="openai/bench-1", messages=MESSAGES, tools=TOOLS, api_base=url,
                                      api_key="sk-bench", temperature=0, timeout=30, max_retries=0,
                                      _skip_mcp_handler=True)

        print(f"litellm.acompletion (defaults)    {await _many(lite, calls):6.2f} ms CPU/call")
        unpriced = ModelRequest(model="openai/bench-1", messages=MESSAGES, tools=TOOLS,
                                params={"api_base": url, "api_key": "sk-bench", "temperature": 0},
                                timeout_s=30, max_retries=0)
        priced = replace(unpriced, price=Price(input_usd_per_mtok=0.15, output_usd_per_mtok=0.6))

        async def ours_unpriced() -> None:
            await complete(unpriced)

        async def ours() -> None:
            await complete(priced)

        print(f"agentctl complete(), unpriced     {await _many(ours_unpriced, calls):6.2f} ms CPU/call")
        prof = cProfile.Profile(time.process_time) if profile else None
        if prof:
            prof.enable()
        print(f"agentctl complete(), suite price  {await _many(ours, calls):6.2f} ms CPU/call")
        if prof:
            prof.disable()
            prof.dump_stats(profile)
        mock.stop()


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 300
    from agentctl.providers.litellm_setup import on_lean_loop

    # on the loop eval run gives the calls (its default executor runs litellm's set-up in place)
    asyncio.run(on_lean_loop(main(n, sys.argv[sys.argv.index("--profile") + 1] if "--profile" in sys.argv else None)))
