#!/usr/bin/env bash
# Runs the unmodified Python SDK (agent-server-sdk==1.0.3, from PyPI, in a throwaway venv)
# against the emulator binary: whole sync and async AgentSessions in app-credentials and Basic
# modes, plus low-level list/get and stop_agent. Exits non-zero on any failure.
# Not part of `cargo test`; run it by hand: bash tests/python_sdk.sh
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="tests/.venv"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import shengwang_agent' 2>/dev/null; then
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check 'agent-server-sdk==1.0.3'
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
export EMU_BASE="$url/cn/api/conversational-ai-agent"
echo "emulator at $url"

"$VENV/bin/python" - <<'PY'
import asyncio
import os

from shengwang_agent import Agent, AgentClient, Area, AsyncAgentClient
from shengwang_agent.agentkit.vendors import AliyunLLM, FengmingSTT, MiniMaxTTS

BASE = os.environ["EMU_BASE"]
APP_ID = os.environ["SHENGWANG_APP_ID"]
CERT = os.environ["SHENGWANG_APP_CERTIFICATE"]
CID = os.environ["SHENGWANG_CUSTOMER_ID"]
SECRET = os.environ["SHENGWANG_CUSTOMER_SECRET"]

agent = (
    Agent(instructions="You are helpful.", greeting="Hi!", max_history=10)
    .with_llm(AliyunLLM(url="https://llm.example/v1/chat/completions", api_key="sk-x", model="qwen-max"))
    .with_tts(MiniMaxTTS(key="mm-key", model="speech-02-turbo", voice_setting={"voice_id": "female-shaonv"}))
    .with_stt(FengmingSTT())
)


def client_kwargs(mode):
    kw = dict(area=Area.CN, app_id=APP_ID, app_certificate=CERT)
    if mode == "basic":
        kw.update(customer_id=CID, customer_secret=SECRET)
    return kw


def repoint(client):
    # The SDK's own way of changing the base URL (what next_region() does).
    client._client_wrapper._base_url = BASE
    return client


def check_history(history, text):
    contents = [(c.role, c.content) for c in history.contents]
    assert ("assistant", text) in contents, contents
    assert ("system", "be brief") in contents, contents


def run_sync(mode):
    client = repoint(AgentClient(**client_kwargs(mode)))
    session = agent.create_session(client, channel=f"py-sync-{mode}", agent_uid="1001",
                                   remote_uids=["2002"], name=f"py-sync-{mode}")
    events = []
    session.on("started", lambda d: events.append("started"))
    session.on("stopped", lambda d: events.append("stopped"))
    agent_id = session.start()
    assert session.status == "running" and agent_id, session.status
    session.say("Hello from sync Python", priority="APPEND", interruptable=False)
    session.interrupt()
    session.update({"llm": {"system_messages": [{"role": "system", "content": "be brief"}]}})
    check_history(session.get_history(), "Hello from sync Python")
    assert session.get_info().status == "RUNNING"
    session.stop()
    assert session.status == "stopped"
    assert session.get_info().status == "STOPPED"
    assert events == ["started", "stopped"], events
    print(f"sync session ({mode}): ok, agent {agent_id}")
    return agent_id


async def run_async(mode):
    client = repoint(AsyncAgentClient(**client_kwargs(mode)))
    session = agent.create_async_session(client, channel=f"py-async-{mode}", agent_uid="1002",
                                         remote_uids=["2002"], name=f"py-async-{mode}")
    agent_id = await session.start()
    assert session.status == "running"
    await session.say("Hello from async Python")
    await session.interrupt()
    await session.update({"llm": {"system_messages": [{"role": "system", "content": "be brief"}]}})
    check_history(await session.get_history(), "Hello from async Python")
    assert (await session.get_info()).status == "RUNNING"
    await session.stop()
    assert session.status == "stopped"
    print(f"async session ({mode}): ok, agent {agent_id}")


def low_level(known_id):
    client = repoint(AgentClient(**client_kwargs("basic")))
    items = list(client.agents.list(APP_ID, from_time=0.0, limit=1))
    ids = [i.agent_id for i in items]
    assert known_id in ids, ids
    info = client.agents.get(APP_ID, known_id)
    assert info.status == "STOPPED", info.status
    # Stateless stop in app-credentials mode (header token for channel "stop").
    creds = repoint(AgentClient(**client_kwargs("app-credentials")))
    session = agent.create_session(creds, channel="py-stateless", agent_uid="1003", remote_uids=["2002"],
                                   name="py-stateless")
    fresh = session.start()
    creds.stop_agent(fresh)
    assert client.agents.get(APP_ID, fresh).status == "STOPPED"
    creds.stop_agent(fresh)  # already stopped: 404 is treated as done
    print(f"low-level list/get/stop_agent: ok ({len(ids)} agents listed page by page)")


first = None
for mode in ("app-credentials", "basic"):
    agent_id = run_sync(mode)
    first = first or agent_id
    asyncio.run(run_async(mode))
low_level(first)
print("python sdk against the emulator: all passed")
PY
