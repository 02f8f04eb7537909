#!/usr/bin/env bash
# Runs the unmodified global Python SDK (agora-agents==2.12.0, from PyPI, in a throwaway venv)
# against the emulator binary, in the CN area with CN vendors: a whole session with say,
# think, turns (one page and all pages) and stop, in app-credentials and Basic modes, plus
# the stateless stop_agent. Exits non-zero on any failure.
# Not part of `cargo test`; run it by hand: bash tests/agora_sdk.sh
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="tests/.venv-agora"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import agora_agent' 2>/dev/null; then
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check 'agora-agents==2.12.0'
fi

cargo build --quiet -p convoai-emulator
export SHENGWANG_APP_ID=6d0b0b4b2c6a4e4f9a1f3c2d1e0f9a8b
export SHENGWANG_APP_CERTIFICATE=0f1e2d3c4b5a69788796a5b4c3d2e1f0
export SHENGWANG_CUSTOMER_ID=py-customer
export SHENGWANG_CUSTOMER_SECRET=py-secret
log=$(mktemp)
target/debug/convoai-emulator --port 0 > "$log" 2>&1 &
emu_pid=$!
trap 'kill "$emu_pid" 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 100); do
  grep -q '^listening on ' "$log" && break
  sleep 0.1
done
url=$(sed -n 's/^listening on //p' "$log" | head -n 1)
[ -n "$url" ] || { echo "emulator did not start:"; cat "$log"; exit 1; }
# The SDK's own override: the area's path (/cn/api/conversational-ai-agent) is appended, and
# DNS selection and region cycling are off.
export AGORA_AGENTS_API_BASE_URL="$url"
echo "emulator at $url"

"$VENV/bin/python" - <<'PY'
import asyncio
import os

from agora_agent import Agent, Agora, Area, AsyncAgora
from agora_agent.cn import AliyunLLM, FengmingSTT, MiniMaxTTS

APP_ID = os.environ["SHENGWANG_APP_ID"]
CERT = os.environ["SHENGWANG_APP_CERTIFICATE"]
CID = os.environ["SHENGWANG_CUSTOMER_ID"]
SECRET = os.environ["SHENGWANG_CUSTOMER_SECRET"]


def kwargs(mode):
    kw = dict(area=Area.CN, app_id=APP_ID, app_certificate=CERT)
    if mode == "basic":
        kw.update(customer_id=CID, customer_secret=SECRET)
    return kw


def agent_for(client):
    return (
        Agent(client=client, instructions="You are helpful.", greeting="你好！", max_history=10)
        .with_llm(AliyunLLM(api_key="sk-x", model="qwen-max",
                            base_url="https://llm.example/v1/chat/completions"))
        .with_tts(MiniMaxTTS(key="mm-key", model="speech-02-turbo", voice_id="female-shaonv"))
        .with_stt(FengmingSTT())
    )


def field(obj, name):
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def check_turns(page, all_turns, said):
    turns = field(all_turns, "turns") or []
    kinds = [field(field(t, "start"), "type") for t in turns]
    # The greeting, the speak and the think, in order, each with metrics.
    assert kinds[0] == "greeting", kinds
    assert "api_speak" in kinds, kinds
    assert len(turns) == 3, kinds
    assert field(all_turns, "total_turn_count") == 3, all_turns
    for t in turns:
        metrics = field(t, "metrics")
        # The model names the wire's e2e_latency_ms field e_2_e_latency_ms.
        e2e = field(metrics, "e_2_e_latency_ms")
        segments = field(metrics, "segmented_latency_ms") or []
        assert e2e and e2e > 0, t
        assert abs(sum(field(s, "latency") for s in segments) - e2e) < 1e-6, t
    # Page 1 of 1-per-page holds the first turn only, and says more follow.
    pag = field(page, "pagination")
    assert field(pag, "page_index") == 1 and field(pag, "is_last_page") is False, page
    assert len(field(page, "turns")) == 1, page
    print(f"  turns: {kinds} (total {len(turns)}, said {said!r})")


def run_sync(mode):
    client = Agora(**kwargs(mode))
    session = agent_for(client).create_session(
        channel=f"agora-sync-{mode}", agent_uid="1001", remote_uids=["2002"],
        name=f"agora-sync-{mode}")
    agent_id = session.start()
    assert agent_id, agent_id
    session.say("Hello from agora-agents", priority="APPEND")
    session.think("the user asks about the weather", on_listening_action="inject")
    page = session.get_turns(page_index=1, page_size=1)
    all_turns = session.get_all_turns(page_size=1)
    check_turns(page, all_turns, "Hello from agora-agents")
    session.stop()
    print(f"sync session ({mode}): ok, agent {agent_id}")
    return client


async def run_async(mode):
    client = AsyncAgora(**kwargs(mode))
    session = agent_for(client).create_async_session(
        channel=f"agora-async-{mode}", agent_uid="1002", remote_uids=["2002"],
        name=f"agora-async-{mode}")
    agent_id = await session.start()
    await session.say("Hello from async agora-agents")
    await session.think("and tomorrow?")
    page = await session.get_turns(page_index=1, page_size=1)
    all_turns = await session.get_all_turns(page_size=1)
    check_turns(page, all_turns, "Hello from async agora-agents")
    await session.stop()
    print(f"async session ({mode}): ok, agent {agent_id}")


def stateless_stop():
    client = Agora(**kwargs("app-credentials"))
    session = agent_for(client).create_session(
        channel="agora-stateless", agent_uid="1003", remote_uids=["2002"], name="agora-stateless")
    agent_id = session.start()
    # Header token signed for channel "stop" and uid 0, as 2.12 does.
    client.stop_agent(agent_id)
    basic = Agora(**kwargs("basic"))
    status = basic.agents.get(APP_ID, agent_id).status
    assert status == "STOPPED", status
    turns = basic.agents.get_turns(APP_ID, agent_id)
    kinds = [t.start.type for t in turns.turns]
    assert kinds == ["greeting"], kinds
    print(f"stateless stop_agent and low-level get/get_turns: ok, agent {agent_id}")


for mode in ("app-credentials", "basic"):
    run_sync(mode)
    asyncio.run(run_async(mode))
stateless_stop()
print("agora-agents 2.12 against the emulator: all passed")
PY
