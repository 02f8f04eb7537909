"""Python SDK side of bench/run.sh: lifecycle, memory and cold start against the emulator.

Usage: python python_bench.py lifecycle N CONCURRENCY | memory N | cold
Reads EMU_BASE, EMU_APP_ID, EMU_APP_CERTIFICATE; optionally EMU_CA (a CA PEM file the
httpx client trusts, for an https:// base) and EMU_AUTH=basic (with EMU_CUSTOMER_ID and
EMU_CUSTOMER_SECRET). Prints one JSON object.
"""
import asyncio
import json
import os
import ssl
import sys
import time

import httpx
from shengwang_agent import Agent, AsyncAgentClient, Area
from shengwang_agent.agentkit.vendors import AliyunLLM, FengmingSTT, MiniMaxTTS


def rss_kib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4


def client():
    extra = {}
    if os.environ.get("EMU_CA"):
        # The SDK's own default client (timeout 60 s, redirects followed), trusting the CA.
        ctx = ssl.create_default_context(cafile=os.environ["EMU_CA"])
        extra["httpx_client"] = httpx.AsyncClient(timeout=60, follow_redirects=True, verify=ctx)
    if os.environ.get("EMU_AUTH") == "basic":
        extra["customer_id"] = os.environ["EMU_CUSTOMER_ID"]
        extra["customer_secret"] = os.environ["EMU_CUSTOMER_SECRET"]
    c = AsyncAgentClient(area=Area.CN, app_id=os.environ["EMU_APP_ID"],
                         app_certificate=os.environ["EMU_APP_CERTIFICATE"], **extra)
    c._client_wrapper._base_url = os.environ["EMU_BASE"]
    return c


AGENT = (
    Agent(instructions="You are helpful.")
    .with_llm(AliyunLLM(url="https://llm.example/v1/chat/completions", api_key="sk", model="qwen-max"))
    .with_tts(MiniMaxTTS(key="mm-key", model="speech-02-turbo", voice_setting={"voice_id": "female-shaonv"}))
    .with_stt(FengmingSTT())
)


async def lifecycle(n, concurrency):
    c = client()
    sem = asyncio.Semaphore(concurrency)
    lat, errors = [], 0

    async def one(i):
        nonlocal errors
        async with sem:
            t = time.perf_counter()
            s = AGENT.create_async_session(c, channel=f"py-{i}", agent_uid="1001", remote_uids=["2002"],
                                           name=f"py-{i}-{os.getpid()}")
            try:
                await s.start()
                await s.say("hello")
                await s.get_history()
                await s.stop()
            except Exception:
                errors += 1
            lat.append((time.perf_counter() - t) * 1000)

    start = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    elapsed = time.perf_counter() - start
    lat.sort()
    pct = lambda p: lat[round((len(lat) - 1) * p)]
    return {"mode": "python", "sessions": n, "concurrency": concurrency, "errors": errors,
            "sessions_per_s": n / elapsed, "p50_ms": pct(0.5), "p99_ms": pct(0.99)}


async def memory(n):
    c = client()
    warm = AGENT.create_async_session(c, channel="warm", agent_uid="1", remote_uids=["2"], name=f"warm-{os.getpid()}")
    await warm.start()
    await warm.stop()
    rss0 = rss_kib()
    sessions = [AGENT.create_async_session(c, channel=f"pymem-{i}", agent_uid="1001", remote_uids=["2002"],
                                           name=f"pymem-{i}-{os.getpid()}") for i in range(n)]
    sem = asyncio.Semaphore(64)

    async def start(s):
        async with sem:
            try:
                await s.start()
                return True
            except Exception:
                return False

    ok = await asyncio.gather(*(start(s) for s in sessions))
    rss1 = rss_kib()
    return {"sessions": n, "started": sum(ok), "rss_kib_before": rss0, "rss_kib_after": rss1,
            "rss_bytes_per_session": (rss1 - rss0) * 1024 / n}


async def cold():
    s = AGENT.create_async_session(client(), channel="cold", agent_uid="1001", remote_uids=["2002"],
                                   name=f"cold-{os.getpid()}")
    agent_id = await s.start()
    await s.stop()
    return {"agent_id": agent_id}


def main():
    mode = sys.argv[1]
    arg = lambda i, d: int(sys.argv[i]) if len(sys.argv) > i else d
    if mode == "lifecycle":
        out = asyncio.run(lifecycle(arg(2, 500), arg(3, 64)))
    elif mode == "memory":
        out = asyncio.run(memory(arg(2, 10000)))
    else:
        out = asyncio.run(cold())
    print(json.dumps(out))


main()
